"""Part affinity fields: unit vectors along each skeleton edge (SLEAP 1.x style).

Two channels per edge in skeleton edge order (channel ``2k`` is x of edge
``k``). Each pixel near an edge segment holds the edge's unit direction,
weighted by a Gaussian of its distance to the segment (sigma in model-input
pixels); instances add up, as in SLEAP 1.x.
"""

from __future__ import annotations

import numpy as np


def make_pafs(
    points: np.ndarray,
    edges: list[tuple[int, int]],
    height: int,
    width: int,
    stride: int,
    sigma: float,
) -> np.ndarray:
    """PAFs for all instances on the output grid.

    Args:
        points: ``(n_instances, n_nodes, 2)`` (x, y) in model-input pixels.
        edges: ``(source, destination)`` node index pairs.
        height: model input height.
        width: model input width.
        stride: output stride of the head.
        sigma: spread of the field around the segment, model-input pixels.

    Returns:
        float32 ``(ceil(height/stride), ceil(width/stride), 2 * len(edges))``.
    """
    points = np.asarray(points, dtype=np.float32)
    rows, cols = -(-height // stride), -(-width // stride)
    out = np.zeros((rows, cols, 2 * len(edges)), dtype=np.float32)
    xs = np.arange(cols, dtype=np.float32) * stride
    ys = np.arange(rows, dtype=np.float32) * stride
    gx, gy = np.meshgrid(xs, ys)
    inv = 1.0 / (2.0 * sigma * sigma)
    for inst in points:
        for k, (src, dst) in enumerate(edges):
            p0, p1 = inst[src], inst[dst]
            if not (np.all(np.isfinite(p0)) and np.all(np.isfinite(p1))):
                continue
            vec = p1 - p0
            length = float(np.hypot(*vec))
            if length < 1e-6:
                continue
            unit = vec / length
            # Distance from each grid point to the segment (clamped projection).
            t = ((gx - p0[0]) * unit[0] + (gy - p0[1]) * unit[1]).clip(0, length)
            dx = gx - (p0[0] + t * unit[0])
            dy = gy - (p0[1] + t * unit[1])
            weight = np.exp(-(dx * dx + dy * dy) * inv)
            out[:, :, 2 * k] += weight * unit[0]
            out[:, :, 2 * k + 1] += weight * unit[1]
    return out
