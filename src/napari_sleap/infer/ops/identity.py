"""Identity assignment, globally optimal per frame (Hungarian).

Each instance gets at most one class and each class at most one instance,
maximising the frame's total class probability.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def assign_classes(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Globally optimal instance -> class assignment for one frame.

    Args:
        probs: ``(instances, classes)`` class probabilities (NaN = unknown).

    Returns:
        ``(class_inds (instances,), scores (instances,))``; -1 and 0 where an
        instance got no class (more instances than classes).
    """
    n = probs.shape[0]
    inds = np.full(n, -1)
    scores = np.zeros(n)
    if n == 0 or probs.shape[1] == 0:
        return inds, scores
    p = np.nan_to_num(probs, nan=0.0)
    rows, cols = linear_sum_assignment(-p)
    inds[rows] = cols
    scores[rows] = p[rows, cols]
    return inds, scores


def sample_maps(maps: np.ndarray, points: np.ndarray, stride: float) -> np.ndarray:
    """Values of ``(H, W, C)`` maps at ``(n, 2)`` points (nearest grid pixel)."""
    if len(points) == 0:
        return np.zeros((0, maps.shape[-1]))
    g = np.rint(points / stride).astype(int)
    cols = np.clip(g[:, 0], 0, maps.shape[1] - 1)
    rows = np.clip(g[:, 1], 0, maps.shape[0] - 1)
    return maps[rows, cols]


def group_by_class_maps(
    peaks: list[np.ndarray],
    peak_vals: list[np.ndarray],
    class_maps: np.ndarray,
    stride: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One instance per class: per node, match peaks to classes optimally.

    Returns:
        ``(points (K, nodes, 2), point_scores (K, nodes), instance_scores (K,),
        class_scores (K,))`` for the K classes, in class order; an instance
        score is the mean class probability of its assigned nodes.
    """
    n_nodes, n_cls = len(peaks), class_maps.shape[-1]
    pts = np.full((n_cls, n_nodes, 2), np.nan)
    pv = np.zeros((n_cls, n_nodes))
    probs = np.full((n_cls, n_nodes), np.nan)
    for k in range(n_nodes):
        if len(peaks[k]) == 0:
            continue
        p = sample_maps(class_maps, peaks[k], stride)  # (n_k, classes)
        cls, sc = assign_classes(p)
        for i, c in enumerate(cls):
            if c >= 0:
                pts[c, k] = peaks[k][i]
                pv[c, k] = peak_vals[k][i]
                probs[c, k] = sc[i]
    with np.errstate(all="ignore"):
        cscore = np.nan_to_num(np.nanmean(probs, axis=1), nan=0.0)
    return pts, pv, cscore, cscore
