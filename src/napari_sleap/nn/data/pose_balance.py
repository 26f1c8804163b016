"""Sampling weights that draw rare poses more often (pose-balanced sampling).

Each training instance's pose is put in its own frame (centred on its anchor,
turned onto a common heading by a Procrustes fit to the mean pose, divided by
one scale for the whole set); its rarity is the mean distance to its nearest
neighbours among those poses (a k-nearest-neighbour density estimate reads
density ~ 1 / distance). Weights are ``rarity ** strength``, clipped around the
median, as draw probabilities. Missing nodes take the mean pose's position, so
they neither add nor hide distance.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from napari_sleap.nn.data.confmaps import instance_centers

_ALIGN_ROUNDS = 3


def pose_descriptors(points: np.ndarray, anchor: int | None) -> np.ndarray:
    """Anchor-centred, heading-aligned, scaled poses, flattened to ``(n, 2 * nodes)``.

    Args:
        points: ``(n_instances, n_nodes, 2)`` frame coordinates, NaN = missing.
        anchor: anchor node index (None: the visible nodes' bounding-box centre,
            as the crops use).

    Returns:
        One row per instance; missing nodes filled from the mean aligned pose.
    """
    pts = np.asarray(points, dtype=np.float64)
    rel = pts - instance_centers(pts, anchor)[:, None, :]
    seen = np.isfinite(rel).all(axis=2)
    if not seen.any():
        return np.zeros((len(pts), pts.shape[1] * 2))
    radius = np.sqrt(
        np.nanmean(np.where(seen[..., None], rel, np.nan) ** 2, axis=(1, 2))
    )
    scale = float(np.nanmedian(radius)) or 1.0
    rel = np.where(seen[..., None], rel / scale, 0.0)
    reference = rel[int(np.argmax(seen.sum(axis=1)))].copy()
    ref_seen = seen[int(np.argmax(seen.sum(axis=1)))].copy()
    aligned = rel
    for _ in range(_ALIGN_ROUNDS):
        aligned = _rotate_onto(rel, seen, reference, ref_seen)
        counts = seen.sum(axis=0)
        mean = np.where(seen[..., None], aligned, 0.0).sum(axis=0)
        reference = mean / np.maximum(counts, 1)[:, None]
        ref_seen = counts > 0
    filled = np.where(seen[..., None], aligned, reference[None])
    return filled.reshape(len(pts), -1)


def _rotate_onto(
    rel: np.ndarray, seen: np.ndarray, reference: np.ndarray, ref_seen: np.ndarray
) -> np.ndarray:
    """Turn each pose about the origin to best match ``reference`` (2D Procrustes)."""
    both = (seen & ref_seen[None])[..., None]
    a = np.where(both, rel, 0.0)
    b = np.where(both, reference[None], 0.0)
    dot = (a * b).sum(axis=(1, 2))
    cross = (a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]).sum(axis=1)
    angle = np.arctan2(cross, dot)
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, y = rel[..., 0], rel[..., 1]
    return np.stack([c * x - s * y, s * x + c * y], axis=-1)


def pose_rarity(descriptors: np.ndarray, neighbors: int) -> np.ndarray:
    """Mean distance of each descriptor to its ``neighbors`` nearest others."""
    n = len(descriptors)
    k = min(int(neighbors), n - 1)
    if k < 1:
        return np.ones(n)
    dist, _ = cKDTree(descriptors).query(descriptors, k=k + 1)
    return dist[:, 1:].mean(axis=1)


def pose_sampling_weights(
    points: np.ndarray,
    anchor: int | None,
    *,
    strength: float = 1.0,
    neighbors: int = 5,
    max_ratio: float = 5.0,
) -> np.ndarray:
    """Draw probability of each instance (sums to 1); rare poses get more.

    Args:
        points: ``(n_instances, n_nodes, 2)`` training poses, NaN = missing.
        anchor: anchor node index or None.
        strength: exponent on the rarity (0 = uniform).
        neighbors: nearest neighbours averaged for the rarity.
        max_ratio: weights are clipped to ``[median / max_ratio, median * max_ratio]``.
    """
    n = len(points)
    if n == 0:
        return np.zeros(0)
    rarity = pose_rarity(pose_descriptors(points, anchor), neighbors)
    median = float(np.median(rarity))
    if not median > 0:  # most poses duplicated: nothing to balance against
        return np.full(n, 1.0 / n)
    weight = (rarity / median) ** float(strength)
    weight = np.clip(weight, 1.0 / max_ratio, max_ratio)
    return weight / weight.sum()
