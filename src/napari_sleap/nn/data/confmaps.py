"""Gaussian confidence maps on the output grid (SLEAP 1.x convention).

Output pixel (row i, col j) at stride ``s`` sits at model-input coordinate
``(x=j*s, y=i*s)``; sigma is in model-input pixels. Missing points (NaN) give
empty maps, so an invisible node teaches "nothing here".
"""

from __future__ import annotations

import numpy as np


def grid_shape(height: int, width: int, stride: int) -> tuple[int, int]:
    """Output grid size for a model input of ``height`` x ``width`` at ``stride``."""
    return -(-height // stride), -(-width // stride)


def make_confmaps(
    points: np.ndarray,
    height: int,
    width: int,
    stride: int,
    sigma: float,
) -> np.ndarray:
    """Confidence maps for instances, one channel per node, max over instances.

    Args:
        points: ``(n_instances, n_channels, 2)`` (x, y) in model-input pixels;
            NaN rows are skipped.
        height: model input height.
        width: model input width.
        stride: output stride of the head.
        sigma: Gaussian sigma in model-input pixels.

    Returns:
        float32 array ``(ceil(height/stride), ceil(width/stride), n_channels)``.
    """
    points = np.asarray(points, dtype=np.float32)
    if points.ndim == 2:
        points = points[None]
    rows, cols = grid_shape(height, width, stride)
    n_ch = points.shape[1]
    out = np.zeros((rows, cols, n_ch), dtype=np.float32)
    xs = np.arange(cols, dtype=np.float32) * stride
    ys = np.arange(rows, dtype=np.float32) * stride
    inv = 1.0 / (2.0 * sigma * sigma)
    for inst in points:
        for c in range(n_ch):
            x, y = inst[c]
            if not (np.isfinite(x) and np.isfinite(y)):
                continue
            # Separable Gaussian: an outer product of two 1-D profiles.
            gx = np.exp(-((xs - x) ** 2) * inv)
            gy = np.exp(-((ys - y) ** 2) * inv)
            np.maximum(out[:, :, c], np.outer(gy, gx), out=out[:, :, c])
    return out


def instance_centers(points: np.ndarray, anchor: int | None) -> np.ndarray:
    """Anchor point of each instance: node ``anchor`` or its visible-nodes bbox centre.

    Where the anchor node is missing the bounding-box centre is used instead,
    so an instance is never dropped for one hidden node.

    Args:
        points: ``(n_instances, n_nodes, 2)``.
        anchor: node index, or None for the bounding-box centre.

    Returns:
        ``(n_instances, 2)``; NaN for instances with no visible node.
    """
    points = np.asarray(points, dtype=np.float64)
    centers = np.full((len(points), 2), np.nan)
    for k, inst in enumerate(points):
        if anchor is not None and np.all(np.isfinite(inst[anchor])):
            centers[k] = inst[anchor]
            continue
        vis = inst[np.all(np.isfinite(inst), axis=1)]
        if len(vis):
            centers[k] = (vis.min(axis=0) + vis.max(axis=0)) / 2
    return centers


def make_offsets(
    points: np.ndarray,
    height: int,
    width: int,
    stride: int,
    sigma: float,
    threshold: float = 0.2,
) -> np.ndarray:
    """Sub-pixel offset targets: (dx, dy) from each grid point to its nearest point.

    Set only where that point's Gaussian exceeds ``threshold`` (around the
    peaks, where inference reads them); zero elsewhere. Offsets are in
    model-input pixels; channels are interleaved ``x0, y0, x1, y1, ...``.

    Args:
        points: ``(n_instances, n_channels, 2)`` in model-input pixels.
        height: model input height.
        width: model input width.
        stride: confmap output stride.
        sigma: confmap sigma.
        threshold: Gaussian level bounding the region with offsets.
    """
    points = np.asarray(points, dtype=np.float32)
    rows, cols = grid_shape(height, width, stride)
    n_ch = points.shape[1]
    out = np.zeros((rows, cols, 2 * n_ch), dtype=np.float32)
    best = np.full((rows, cols, n_ch), threshold, dtype=np.float32)
    xs = np.arange(cols, dtype=np.float32) * stride
    ys = np.arange(rows, dtype=np.float32) * stride
    gx, gy = np.meshgrid(xs, ys)
    inv = 1.0 / (2.0 * sigma * sigma)
    for inst in points:
        for c in range(n_ch):
            x, y = inst[c]
            if not (np.isfinite(x) and np.isfinite(y)):
                continue
            dx, dy = x - gx, y - gy
            g = np.exp(-(dx * dx + dy * dy) * inv)
            closer = g > best[:, :, c]
            best[:, :, c][closer] = g[closer]
            out[:, :, 2 * c][closer] = dx[closer]
            out[:, :, 2 * c + 1][closer] = dy[closer]
    return out
