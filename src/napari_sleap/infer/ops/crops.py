"""Instance-centred crop geometry (numpy); the pixel sampling lives in the layers.

Two conventions, matching how each kind of model was trained:

* ``"center"`` (SLEAP 1.x): pixel ``k`` of the crop is image coordinate
  ``c - (size - 1) / 2 + k``, so the crop's middle falls exactly on the centre
  (sub-pixel centres are sampled bilinearly);
* ``"pixel"`` (napari-sleap training, ``nn/data/crops.py``): whole-pixel offsets
  ``round(c - size / 2)``, so the crop is the frame's own pixels.

Points found in a crop map back by adding its offset.
"""

from __future__ import annotations

import numpy as np

CONVENTIONS = ("center", "pixel")


def crop_offsets(
    centers: np.ndarray, size: int, convention: str = "center"
) -> np.ndarray:
    """Top-left ``(x, y)`` image coordinate of each crop ``(n, 2)``."""
    centers = np.asarray(centers, dtype=np.float64)
    if convention == "pixel":
        return np.floor(centers - size / 2 + 0.5)
    if convention != "center":
        raise ValueError(f"crop convention {convention!r}; allowed: {CONVENTIONS}")
    return centers - (size - 1) / 2


def crop_boxes(offsets: np.ndarray, size: int, height: int, width: int) -> np.ndarray:
    """Normalised ``(y1, x1, y2, x2)`` boxes for ``tf.image.crop_and_resize``.

    With ``crop_size=(size, size)`` the sampled pixels are exactly the integer
    steps from each top-left offset (bilinear between pixels for fractional
    offsets, zeros outside the frame).
    """
    off = np.asarray(offsets, dtype=np.float64)
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
