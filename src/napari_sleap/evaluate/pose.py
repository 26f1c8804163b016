"""Evaluate predicted poses against ground truth: the one-call entry point.

``evaluate_poses`` pairs frames, matches instances by OKS and reduces the matches
to the numbers users compare models by (OKS mAP/mAR, PCK, localization error per
node, detection precision/recall).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sleap_io as sio

from napari_sleap.evaluate.matching import find_frame_pairs, match_frame
from napari_sleap.evaluate.metrics import (
    OKS_THRESHOLDS,
    PCK_THRESHOLDS,
    error_stats,
    pck,
    visibility_counts,
    voc_metrics,
)
from napari_sleap.evaluate.oks import DEFAULT_STDDEV
from napari_sleap.progress import ProgressFn, StopFlag, check_stop, no_progress


@dataclass
class PoseEvaluation:
    """Everything ``evaluate_poses`` measured.

    Attributes:
        node_names: Ground-truth skeleton nodes, the order of per-node arrays.
        settings: How it was computed (matching, OKS constants, strictness).
        counts: Frames and instances seen, matched and missed.
        oks_map: OKS mAP over thresholds 0.50:0.05:0.95.
        oks_mar: OKS mAR over the same thresholds.
        ap: AP per OKS threshold; ``ar`` likewise for recall.
        moks: Mean OKS of matched pairs.
        detection: Instance precision/recall at ``settings['detection_oks']``.
        pck: Fraction of visible nodes within 1..10 px (``pck_thresholds``).
        mpck_sleap: SLEAP 1.x's ``pck.mPCK``, which also counts nodes absent
            from the ground truth as misses (kept for comparison with SLEAP).
        error: Localization error stats (px) over all nodes.
        error_per_node: The same per node name.
        visibility: Node-visibility confusion over matched pairs.
        dists: ``(n_pairs, n_nodes)`` errors, NaN where a side is missing.
        pair_oks: ``(n_pairs,)`` OKS of each matched pair.
    """

    node_names: list[str]
    settings: dict[str, Any]
    counts: dict[str, int]
    oks_map: float
    oks_mar: float
    ap: np.ndarray
    ar: np.ndarray
    moks: float
    detection: dict[str, float]
    pck: np.ndarray
    mpck_sleap: float
    error: dict[str, float]
    error_per_node: dict[str, dict[str, float]]
    visibility: dict[str, float]
    dists: np.ndarray = field(repr=False)
    pair_oks: np.ndarray = field(repr=False)
    oks_thresholds: np.ndarray = field(default_factory=lambda: OKS_THRESHOLDS)
    pck_thresholds: np.ndarray = field(default_factory=lambda: PCK_THRESHOLDS)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready summary (NaN becomes None; no per-pair arrays)."""
        return _jsonable(
            {
                "settings": self.settings,
                "counts": self.counts,
                "oks": {
                    "mAP": self.oks_map,
                    "mAR": self.oks_mar,
                    "mOKS": self.moks,
                    "thresholds": self.oks_thresholds,
                    "AP": self.ap,
                    "AR": self.ar,
                },
                "detection": self.detection,
                "pck": {
                    "thresholds_px": self.pck_thresholds,
                    "pck": self.pck,
                    "mPCK": float(np.nanmean(self.pck))
                    if np.isfinite(self.pck).any()
                    else float("nan"),
                    "mPCK_sleap": self.mpck_sleap,
                },
                "error_px": {"all": self.error, "per_node": self.error_per_node},
                "visibility": self.visibility,
            }
        )


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in (obj.tolist() if hasattr(obj, "tolist") else obj)]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if math.isnan(float(obj)) else float(obj)
    return obj


def evaluate_poses(
    labels_gt: sio.Labels,
    labels_pr: sio.Labels,
    *,
    frames: list[int] | None = None,
    matching: str = "hungarian",
    strict: bool = False,
    oks_stddev: float = DEFAULT_STDDEV,
    oks_scale: float | None = None,
    match_threshold: float = 0.0,
    detection_oks: float = 0.5,
    progress: ProgressFn = no_progress,
    stop: StopFlag | None = None,
) -> PoseEvaluation:
    """Compare predicted poses with ground truth, SLEAP-compatible by default.

    With the defaults the numbers follow SLEAP 1.x's ``sleap.nn.evals``
    (``matching="greedy"`` reproduces its pairing exactly): ground-truth frames
    without a predicted frame are skipped, and predictions that match no ground
    truth do not lower mAP. ``strict=True`` scores like COCO instead: those
    frames' instances count as missed and unmatched predictions as false
    positives. Detection precision/recall always counts every prediction.

    Args:
        labels_gt: Ground truth (its user instances are the reference).
        labels_pr: Predictions (or a second labeler's user instances).
        frames: Only these frame indices; ``None`` for every labeled frame.
        matching: ``"hungarian"`` (optimal per frame) or ``"greedy"`` (SLEAP).
        strict: Penalize missing frames and unmatched predictions (COCO-style).
        oks_stddev: OKS keypoint spread (SLEAP: 0.025).
        oks_scale: OKS object area; ``None`` uses the ground truth's box area.
        match_threshold: Minimum OKS (exclusive) for two instances to match.
        detection_oks: OKS a match needs to count as a detection.
        progress: Called as ``progress(done, total)`` over frames.
        stop: Set it to cancel; raises ``progress.Cancelled``.

    Returns:
        A :class:`PoseEvaluation`.
    """
    node_names = list(labels_gt.skeletons[0].node_names) if labels_gt.skeletons else []
    pairs = find_frame_pairs(labels_gt, labels_pr, frames=frames)
    n_nodes = len(node_names)
    dists, vis_gt, vis_pr, pair_oks, pair_scores = [], [], [], [], []
    extra_scores: list[float] = []  # unmatched predictions (strict mode)
    n_gt = n_gt_scored = n_pr = 0
    n_unpredicted_frames = 0
    for k, fp in enumerate(pairs):
        if k % 50 == 0:
            check_stop(stop)
            progress(k, len(pairs))
        n_gt += len(fp.gt)
        n_pr += len(fp.pr)
        if not fp.predicted:
            n_unpredicted_frames += 1
            if strict:
                n_gt_scored += len(fp.gt)
            continue
        n_gt_scored += len(fp.gt)
        m = match_frame(
            fp.gt,
            fp.pr,
            fp.pr_scores,
            method=matching,
            threshold=match_threshold,
            stddev=oks_stddev,
            scale=oks_scale,
        )
        for i, j, oks in m.pairs:
            g, p = fp.gt[i], fp.pr[j]
            dists.append(np.linalg.norm(p - g, axis=-1))
            vis_gt.append(~np.isnan(g).any(axis=-1))
            vis_pr.append(~np.isnan(p).any(axis=-1))
            pair_oks.append(oks)
            pair_scores.append(fp.pr_scores[j])
        if strict:
            extra_scores.extend(fp.pr_scores[j] for j in m.unmatched_pr)
    progress(len(pairs), len(pairs))

    d = np.array(dists).reshape(-1, n_nodes)
    vg = np.array(vis_gt, dtype=bool).reshape(-1, n_nodes)
    vp = np.array(vis_pr, dtype=bool).reshape(-1, n_nodes)
    oks_arr = np.array(pair_oks, dtype=float)
    det_scores = np.concatenate([pair_scores, extra_scores]).astype(float)
    match_scores = np.concatenate([oks_arr, np.full(len(extra_scores), -np.inf)])
    voc = voc_metrics(det_scores, match_scores, n_gt_scored)

    n_det = int((oks_arr >= detection_oks).sum())
    detection = {
        "oks_threshold": detection_oks,
        "true_positives": n_det,
        "precision": n_det / n_pr if n_pr else float("nan"),
        "recall": n_det / n_gt if n_gt else float("nan"),
    }
    counts = {
        "frames": len(pairs),
        "frames_without_predictions": n_unpredicted_frames,
        "gt_instances": n_gt,
        "pred_instances": n_pr,
        "matched": len(pair_oks),
        "unmatched_gt": n_gt - len(pair_oks),
        "unmatched_pred": n_pr - len(pair_oks),
    }
    user_gt = any(lf.has_user_instances for lf in labels_gt)
    settings = {
        "reference": "user instances" if user_gt else "predicted instances",
        "matching": matching,
        "strict": strict,
        "oks_stddev": oks_stddev,
        "oks_scale": "gt bounding-box area" if oks_scale is None else oks_scale,
        "match_threshold": match_threshold,
        "detection_oks": detection_oks,
        "frames": "all labeled" if frames is None else len(frames),
    }
    return PoseEvaluation(
        node_names=node_names,
        settings=settings,
        counts=counts,
        oks_map=voc["mAP"],
        oks_mar=voc["mAR"],
        ap=voc["AP"],
        ar=voc["AR"],
        moks=float(oks_arr.mean()) if len(oks_arr) else float("nan"),
        detection=detection,
        pck=pck(d, vg),
        mpck_sleap=float(pck(d, np.ones_like(vg)).mean()) if len(d) else float("nan"),
        error=error_stats(d),
        error_per_node={n: error_stats(d[:, i]) for i, n in enumerate(node_names)},
        visibility=visibility_counts(vg, vp),
        dists=d,
        pair_oks=oks_arr,
    )
