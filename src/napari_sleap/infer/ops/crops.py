"""Instance-centred crop geometry (numpy); the pixel sampling lives in the layers.

A crop of ``size`` pixels centred on ``(cx, cy)`` has its pixel ``k`` at image
coordinate ``c - (size - 1) / 2 + k``: pixel centres sit on integer coordinates,
so the crop's middle falls exactly on the centre (as SLEAP 1.x trains them).
"""

from __future__ import annotations

import numpy as np


def crop_offsets(centers: np.ndarray, size: int) -> np.ndarray:
    """Top-left ``(x, y)`` image coordinate of each crop ``(n, 2)``."""
    return np.asarray(centers, dtype=np.float64) - (size - 1) / 2


def crop_boxes(centers: np.ndarray, size: int, height: int, width: int) -> np.ndarray:
    """Normalised ``(y1, x1, y2, x2)`` boxes for ``tf.image.crop_and_resize``.

    With ``crop_size=(size, size)`` the sampled pixels are exactly the integer
    steps from the top-left offset (bilinear between pixels for sub-pixel
    centres, zeros outside the frame).
    """
    off = crop_offsets(centers, size)
    x1, y1 = off[:, 0], off[:, 1]
    boxes = np.stack([y1, x1, y1 + size - 1, x1 + size - 1], axis=-1)
    scale = np.array([height - 1, width - 1, height - 1, width - 1], np.float64)
    return (boxes / np.maximum(scale, 1)).astype(np.float32)


def bbox_centers(points: np.ndarray) -> np.ndarray:
    """Centre of the bounding box of each instance's visible nodes ``(n, 2)``."""
    with np.errstate(all="ignore"):
        lo = np.nanmin(points, axis=1)
        hi = np.nanmax(points, axis=1)
    return (lo + hi) / 2
