"""Accuracy metrics for poses and tracks (numpy/scipy; no TensorFlow).

Poses: ``oks`` (SLEAP's OKS), ``matching`` (frame pairing, Hungarian or greedy
instance matching), ``metrics`` (VOC mAP/mAR, PCK, error percentiles), ``pose``
(``evaluate_poses``, the one call), ``report`` (terminal table) and ``plot``
(per-node error PNG). Tracks: ``tracking``.
"""
