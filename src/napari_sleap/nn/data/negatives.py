"""Per-pixel loss weights that mark the other animals' nodes in a crop.

A centered-instance target holds only the centred animal, so the other
animal's leg tips in the same crop are "nothing here" pixels among thousands:
plain MSE barely charges a map that fires on them. :func:`negative_weights`
raises the weight there; :class:`~napari_sleap.train.losses.NegativeWeightedMSE`
reads it as one extra target channel (:func:`pack`).
"""

from __future__ import annotations

import numpy as np

from napari_sleap.nn.data.confmaps import grid_shape


def negative_weights(
    others: np.ndarray,
    height: int,
    width: int,
    stride: int,
    sigma: float,
    weight: float,
) -> np.ndarray:
    """``1 + weight * max_k G_k`` on the output grid, one channel.

    Args:
        others: ``(n_instances, n_nodes, 2)`` the other instances' nodes (x, y)
            in model-input pixels; NaN nodes are skipped.
        height: model input height.
        width: model input width.
        stride: output stride of the confidence maps.
        sigma: Gaussian sigma of each bump, model-input pixels.
        weight: extra weight at a bump's centre.

    Returns:
        float32 ``(rows, cols, 1)``, 1 away from the other instances.
    """
    rows, cols = grid_shape(height, width, stride)
    bump = np.zeros((rows, cols), dtype=np.float32)
    pts = np.asarray(others, dtype=np.float32).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    reach = 3.0 * sigma  # beyond 3 sigma a bump is < 1.2% of its peak
    inside = (
        (pts[:, 0] > -reach)
        & (pts[:, 0] < width + reach)
        & (pts[:, 1] > -reach)
        & (pts[:, 1] < height + reach)
    )
    xs = np.arange(cols, dtype=np.float32) * stride
    ys = np.arange(rows, dtype=np.float32) * stride
    inv = 1.0 / (2.0 * sigma * sigma)
    for x, y in pts[inside]:
        np.maximum(
            bump,
            np.outer(np.exp(-((ys - y) ** 2) * inv), np.exp(-((xs - x) ** 2) * inv)),
            out=bump,
        )
    return (1.0 + weight * bump)[:, :, None]


def pack(confmaps: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The confmaps target with the weight map appended as its last channel."""
    return np.concatenate([confmaps, weights.astype(np.float32)], axis=-1)
