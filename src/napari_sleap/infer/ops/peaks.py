"""Peak finding on confidence maps, in output-grid units.

Maps are ``(samples, height, width, channels)`` arrays. Points are ``(x, y)`` in
grid pixels (column, row); :func:`grid_to_image` maps them to image pixels.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

REFINEMENTS = ("none", "integral", "local", "quadratic")


def global_peaks(
    cms: np.ndarray, threshold: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """Arg-max of every channel of every sample.

    Returns:
        points ``(samples, channels, 2)`` as integer grid ``(x, y)`` (NaN where the
        peak value is below ``threshold``) and values ``(samples, channels)``.
    """
    n, h, w, c = cms.shape
    flat = cms.transpose(0, 3, 1, 2).reshape(n, c, h * w)
    idx = flat.argmax(axis=-1)
    vals = np.take_along_axis(flat, idx[..., None], axis=-1)[..., 0]
    points = np.stack([idx % w, idx // w], axis=-1).astype(np.float64)
    points[vals < threshold] = np.nan
    return points, vals


def local_peaks(
    cms: np.ndarray, threshold: float = 0.2
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Local maxima strictly above their 8 neighbours and above ``threshold``.

    Returns:
        ``(points (P, 2), values (P,), sample_inds (P,), channel_inds (P,))``.
    """
    footprint = np.ones((1, 3, 3, 1), bool)
    footprint[0, 1, 1, 0] = False
    neigh = ndimage.maximum_filter(
        cms, footprint=footprint, mode="constant", cval=-np.inf
    )
    s, r, col, ch = np.nonzero((cms > neigh) & (cms > threshold))
    points = np.stack([col, r], axis=-1).astype(np.float64)
    return points, cms[s, r, col, ch], s, ch


def _patches(
    maps: np.ndarray, s: np.ndarray, ch: np.ndarray, points: np.ndarray, size: int
) -> np.ndarray:
    """Zero-padded ``size`` x ``size`` patches of ``maps`` centred on grid points."""
    half = size // 2
    padded = np.pad(maps, ((0, 0), (half, half), (half, half), (0, 0)))
    offs = np.arange(size)
    rows = points[:, 1].astype(int)[:, None, None] + offs[None, :, None]
    cols = points[:, 0].astype(int)[:, None, None] + offs[None, None, :]
    return padded[s[:, None, None], rows, cols, ch[:, None, None]]


def refine(
    cms: np.ndarray,
    points: np.ndarray,
    sample_inds: np.ndarray,
    channel_inds: np.ndarray,
    method: str = "integral",
    patch_size: int = 5,
) -> np.ndarray:
    """Sub-pixel offsets for grid-aligned peaks ``(P, 2)``; returns refined points.

    ``integral``: confidence-weighted mean over a ``patch_size`` patch;
    ``quadratic``: vertex of a parabola through the log of the peak and its
    neighbours, per axis (exact for Gaussian maps); ``local``: a quarter pixel
    toward the larger neighbour (SLEAP 1.x).
    """
    if method not in REFINEMENTS:
        raise ValueError(f"refinement {method!r}; allowed: {', '.join(REFINEMENTS)}")
    if method == "none" or len(points) == 0:
        return points
    size = patch_size if method == "integral" else 3
    p = _patches(cms, sample_inds, channel_inds, points, size)
    if method == "integral":
        # Confidences below zero carry no weight (and must not flip the sign).
        p = np.maximum(p, 0.0)
        gv = np.arange(size) - (size - 1) / 2
        z = p.sum(axis=(1, 2))
        z = np.where(z <= 0, 1.0, z)
        dx = (p.sum(axis=1) * gv).sum(axis=1) / z
        dy = (p.sum(axis=2) * gv).sum(axis=1) / z
    elif method == "local":
        dx = np.sign(p[:, 1, 2] - p[:, 1, 0]) * 0.25
        dy = np.sign(p[:, 2, 1] - p[:, 0, 1]) * 0.25
    else:
        # A Gaussian is a parabola in log space: fit there for exact vertices.
        q = np.log(np.maximum(p, 1e-6))
        dx = _parabola(q[:, 1, 0], q[:, 1, 1], q[:, 1, 2])
        dy = _parabola(q[:, 0, 1], q[:, 1, 1], q[:, 2, 1])
    return points + np.stack([dx, dy], axis=-1)


def _parabola(left: np.ndarray, mid: np.ndarray, right: np.ndarray) -> np.ndarray:
    denom = left - 2 * mid + right
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(denom < 0, 0.5 * (left - right) / denom, 0.0)
    return np.clip(d, -0.5, 0.5)


def offsets_at(
    offsets: np.ndarray,
    points: np.ndarray,
    sample_inds: np.ndarray,
    channel_inds: np.ndarray,
    stride: float = 1.0,
) -> np.ndarray:
    """Refine grid peaks with an offset head.

    Offsets are model-input pixels, channels ``x0, y0, x1, y1, ...``; ``stride``
    converts them to grid units.
    """
    if len(points) == 0:
        return points
    rows = points[:, 1].astype(int)
    cols = points[:, 0].astype(int)
    dx = offsets[sample_inds, rows, cols, 2 * channel_inds]
    dy = offsets[sample_inds, rows, cols, 2 * channel_inds + 1]
    return points + np.stack([dx, dy], axis=-1) / stride


def refine_global(
    cms: np.ndarray,
    points: np.ndarray,
    offsets: np.ndarray | None = None,
    method: str = "integral",
    patch_size: int = 5,
    stride: float = 1.0,
) -> np.ndarray:
    """Refine the ``(samples, channels, 2)`` output of :func:`global_peaks`.

    ``offsets`` (model-input pixels) replace ``method`` when given; ``stride``
    is their grid's output stride.
    """
    n, c = points.shape[:2]
    flat = points.reshape(-1, 2)
    ok = ~np.isnan(flat[:, 0])
    s = np.repeat(np.arange(n), c)[ok]
    ch = np.tile(np.arange(c), n)[ok]
    out = flat.copy()
    if offsets is not None:
        out[ok] = offsets_at(offsets, flat[ok], s, ch, stride)
    else:
        out[ok] = refine(cms, flat[ok], s, ch, method, patch_size)
    return out.reshape(n, c, 2)


def grid_to_image(
    points: np.ndarray, stride: float, input_scale: float = 1.0
) -> np.ndarray:
    """Grid ``(x, y)`` -> pixels of the image the model was given (before scaling).

    Output pixel ``(i, j)`` is model-input coordinate ``(j * stride, i * stride)``
    and model input is the image resized by ``input_scale``.
    """
    return points * (stride / input_scale)
