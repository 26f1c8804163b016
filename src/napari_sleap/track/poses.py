"""Instance poses as plain arrays, the common currency of the tracking modules."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sleap_io as sio


def pose_array(instances: Sequence[sio.Instance]) -> np.ndarray:
    """Stack instance points into an ``(n, nodes, 2)`` float array (NaN = missing).

    Args:
        instances: Instances of one skeleton.

    Returns:
        The points in x, y order; invisible nodes are NaN.
    """
    if not instances:
        return np.zeros((0, 0, 2), dtype=float)
    return np.stack([inst.numpy() for inst in instances]).astype(float)


def instance_scores(instances: Sequence[sio.Instance]) -> np.ndarray:
    """Detection score per instance; user-labeled instances count as certain (1.0)."""
    return np.array(
        [
            float(inst.score) if isinstance(inst, sio.PredictedInstance) else 1.0
            for inst in instances
        ],
        dtype=float,
    )


def centroids(poses: np.ndarray) -> np.ndarray:
    """Mean of the visible nodes of each pose, ``(n, 2)``; NaN for empty poses."""
    out = np.full((poses.shape[0], 2), np.nan)
    valid = ~np.isnan(poses[..., 0])
    counts = valid.sum(axis=1)
    ok = counts > 0
    sums = np.where(valid[..., None], poses, 0.0).sum(axis=1)
    out[ok] = sums[ok] / counts[ok, None]
    return out


def bboxes(poses: np.ndarray) -> np.ndarray:
    """Bounding boxes ``(n, 4)`` as x0, y0, x1, y1 of the visible nodes."""
    out = np.full((poses.shape[0], 4), np.nan)
    ok = ~np.isnan(poses[..., 0]).all(axis=1)
    if ok.any():
        p = poses[ok]
        out[ok, :2] = np.nanmin(p, axis=1)
        out[ok, 2:] = np.nanmax(p, axis=1)
    return out


def fill_missing(pose: np.ndarray, fallback: np.ndarray | None) -> np.ndarray:
    """Replace a pose's missing nodes with those of ``fallback`` where it has them."""
    if fallback is None or fallback.shape != pose.shape:
        return pose.copy()
    return np.where(np.isnan(pose), fallback, pose)
