"""Identity targets from track names: class maps (bottom-up) and class vectors.

A class is a track name (``male``, ``female``); instances without a track
give no identity target (their class vector is all zeros and the sample
weight of that head is zero).
"""

from __future__ import annotations

import numpy as np


def make_class_maps(
    points: np.ndarray,
    class_ids: np.ndarray,
    n_classes: int,
    height: int,
    width: int,
    stride: int,
    sigma: float,
) -> np.ndarray:
    """One map per class: Gaussians on every visible node of that class's instance.

    Args:
        points: ``(n_instances, n_nodes, 2)`` in model-input pixels.
        class_ids: ``(n_instances,)`` class index, -1 for none.
        n_classes: number of classes.
        height: model input height.
        width: model input width.
        stride: output stride.
        sigma: Gaussian sigma in model-input pixels.

    Returns:
        float32 ``(ceil(height/stride), ceil(width/stride), n_classes)``.
    """
    rows, cols = -(-height // stride), -(-width // stride)
    out = np.zeros((rows, cols, n_classes), dtype=np.float32)
    xs = np.arange(cols, dtype=np.float32) * stride
    ys = np.arange(rows, dtype=np.float32) * stride
    inv = 1.0 / (2.0 * sigma * sigma)
    for inst, cls in zip(np.asarray(points, np.float32), class_ids, strict=True):
        if cls < 0:
            continue
        for x, y in inst:
            if not (np.isfinite(x) and np.isfinite(y)):
                continue
            g = np.outer(np.exp(-((ys - y) ** 2) * inv), np.exp(-((xs - x) ** 2) * inv))
            np.maximum(out[:, :, cls], g, out=out[:, :, cls])
    return out


def make_class_vector(class_id: int, n_classes: int) -> np.ndarray:
    """One-hot vector for ``class_id`` (all zeros for -1)."""
    vec = np.zeros(n_classes, dtype=np.float32)
    if class_id >= 0:
        vec[class_id] = 1.0
    return vec
