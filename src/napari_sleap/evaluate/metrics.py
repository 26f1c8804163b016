"""Summary statistics over matched pairs: VOC-style mAP/mAR, errors, PCK.

Pure numpy on arrays, so each metric is testable on hand-made numbers.
"""

from __future__ import annotations

import numpy as np

#: COCO / SLEAP OKS thresholds 0.50:0.05:0.95.
OKS_THRESHOLDS = np.round(np.linspace(0.5, 0.95, 10), 2)
#: Recall points at which precision is sampled, 0.00:0.01:1.00.
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
#: PCK distance thresholds in pixels.
PCK_THRESHOLDS = np.arange(1, 11, dtype=np.float64)
#: Error percentiles reported per node and overall.
PERCENTILES = (50, 90, 95)


def voc_metrics(
    detection_scores: np.ndarray,
    match_scores: np.ndarray,
    n_gt: int,
    thresholds: np.ndarray = OKS_THRESHOLDS,
    recall_points: np.ndarray = RECALL_POINTS,
) -> dict[str, np.ndarray | float]:
    """Average precision and recall over match-score thresholds (COCO/SLEAP).

    Detections are ranked by their score; at each threshold a detection whose
    match score (e.g. OKS) reaches it is a true positive, otherwise a false
    positive (use ``-inf`` for a detection that matched nothing). Precision is
    made non-increasing in recall, sampled at ``recall_points`` and averaged
    into AP; AR is the final recall.

    Args:
        detection_scores: ``(n_det,)`` confidence per detection.
        match_scores: ``(n_det,)`` similarity of each detection to its match.
        n_gt: Number of ground-truth instances (the recall denominator).
        thresholds: Match-score thresholds.
        recall_points: Recall values where precision is read.

    Returns:
        ``AP`` and ``AR`` per threshold, their means ``mAP`` and ``mAR``, and
        the ``precisions`` table ``(n_thresholds, n_recall_points)``.
    """
    order = np.argsort(-np.asarray(detection_scores, dtype=float), kind="mergesort")
    ranked = np.asarray(match_scores, dtype=float)[order]
    precisions = np.zeros((len(thresholds), len(recall_points)))
    recalls = np.zeros(len(thresholds))
    if n_gt > 0 and len(ranked):
        for k, thr in enumerate(thresholds):
            hit = ranked >= thr
            tp = np.cumsum(hit)
            fp = np.cumsum(~hit)
            recall = tp / n_gt
            precision = tp / (tp + fp + np.spacing(1))
            # Best precision achievable at this recall or beyond.
            precision = np.maximum.accumulate(precision[::-1])[::-1]
            idx = np.searchsorted(recall, recall_points, side="left")
            ok = idx < len(precision)
            precisions[k, ok] = precision[idx[ok]]
            recalls[k] = recall[-1]
    ap = precisions.mean(axis=1)
    return {
        "thresholds": np.asarray(thresholds),
        "precisions": precisions,
        "AP": ap,
        "AR": recalls,
        "mAP": float(ap.mean()) if n_gt else float("nan"),
        "mAR": float(recalls.mean()) if n_gt else float("nan"),
    }


def error_stats(dists: np.ndarray) -> dict[str, float]:
    """Mean and percentiles of localization errors, ignoring NaN entries."""
    d = np.asarray(dists, dtype=float).ravel()
    d = d[~np.isnan(d)]
    out: dict[str, float] = {"n": int(d.size)}
    if d.size == 0:
        out["mean"] = float("nan")
        out.update({f"p{p}": float("nan") for p in PERCENTILES})
        return out
    out["mean"] = float(d.mean())
    out.update({f"p{p}": float(np.percentile(d, p)) for p in PERCENTILES})
    return out


def pck(
    dists: np.ndarray,
    visible_gt: np.ndarray,
    thresholds: np.ndarray = PCK_THRESHOLDS,
) -> np.ndarray:
    """Fraction of ground-truth-visible nodes predicted within each threshold.

    A node the prediction misses (NaN distance) counts as wrong; nodes absent
    from the ground truth are left out (SLEAP 1.x counts those as wrong too).

    Args:
        dists: ``(n_pairs, n_nodes)`` errors, NaN where either side is missing.
        visible_gt: ``(n_pairs, n_nodes)`` True where the ground truth has the node.
        thresholds: Distances in pixels.

    Returns:
        ``(n_thresholds,)`` fractions in [0, 1] (NaN with nothing visible).
    """
    d = np.where(np.isnan(dists), np.inf, dists)[np.asarray(visible_gt, bool)]
    if d.size == 0:
        return np.full(len(thresholds), np.nan)
    return (d[:, None] < np.asarray(thresholds)[None, :]).mean(axis=0)


def visibility_counts(visible_gt: np.ndarray, visible_pr: np.ndarray) -> dict:
    """Node-visibility confusion counts and precision/recall over matched pairs."""
    g = np.asarray(visible_gt, bool)
    p = np.asarray(visible_pr, bool)
    tp, fp = int((g & p).sum()), int((~g & p).sum())
    fn, tn = int((g & ~p).sum()), int((~g & ~p).sum())
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / (tp + fn) if tp + fn else float("nan"),
    }
