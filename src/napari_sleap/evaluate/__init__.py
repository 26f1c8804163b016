"""Accuracy metrics for poses and tracks (numpy/scipy; no TensorFlow)."""
