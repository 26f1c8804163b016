"""Confidence-map peaks on the device, with ``keras.ops`` only and static shapes.

Mirrors :mod:`napari_sleap.infer.ops.peaks` (the host version): global peaks are
the arg-max of each channel (kept at ``>= threshold``); local peaks are strictly
above their 8 neighbours (non-maximum suppression by comparing with the
neighbourhood maximum) and ``> threshold``, the ``k`` strongest per channel
kept, in row-major order like ``np.nonzero``. Refinement works on 5x5 patches
gathered around each peak (zero outside the map).
"""

from __future__ import annotations

from typing import Any

import numpy as np

PATCH = 5  # patch side of the integral refinement (PeakParams.patch_size)


def _neighbour_max(cms: Any) -> Any:
    """Max over the 8 neighbours of each pixel (``-inf`` beyond the border)."""
    from keras import ops

    h, w = int(cms.shape[1]), int(cms.shape[2])
    p = ops.pad(cms, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=-np.inf)
    out = None
    for dy in range(3):
        for dx in range(3):
            if dy == 1 and dx == 1:
                continue
            s = p[:, dy : dy + h, dx : dx + w, :]
            out = s if out is None else ops.maximum(out, s)
    return out


def _channels_first_flat(cms: Any) -> Any:
    """``(B, H, W, C)`` -> ``(B, C, H * W)``."""
    from keras import ops

    _, h, w, c = (int(d) for d in cms.shape)
    return ops.reshape(ops.transpose(cms, (0, 3, 1, 2)), (-1, c, h * w))


def patches(cms: Any, flat_idx: Any) -> Any:
    """``PATCH`` x ``PATCH`` patches around flat grid indices ``(B, C, K)``.

    Returns ``(B, C, K, PATCH, PATCH)``; pixels outside the map are zero.
    """
    from keras import ops

    w = int(cms.shape[2])
    half = PATCH // 2
    p = ops.pad(cms, [[0, 0], [half, half], [half, half], [0, 0]])
    wp = w + 2 * half
    flat = _channels_first_flat(p)  # (B, C, Hp * Wp)
    row = flat_idx // w
    col = flat_idx % w
    base = row * wp + col  # top-left of the patch in the padded map
    offs = (np.arange(PATCH)[:, None] * wp + np.arange(PATCH)[None, :]).reshape(-1)
    offs_t = ops.convert_to_tensor(offs.astype(np.int32))
    k = int(flat_idx.shape[-1])
    idx = ops.expand_dims(base, -1) + offs_t  # (B, C, K, P * P)
    c = int(cms.shape[-1])
    got = ops.take_along_axis(flat, ops.reshape(idx, (-1, c, k * PATCH * PATCH)), -1)
    return ops.reshape(got, (-1, c, k, PATCH, PATCH))


def _parabola(left: Any, mid: Any, right: Any) -> Any:
    from keras import ops

    denom = left - 2 * mid + right
    safe = ops.where(denom < 0, denom, -1.0)
    d = ops.where(denom < 0, 0.5 * (left - right) / safe, 0.0)
    return ops.clip(d, -0.5, 0.5)


def refine_offsets(p: Any, method: str) -> tuple[Any, Any]:
    """Sub-pixel ``(dx, dy)`` from ``(..., PATCH, PATCH)`` patches (as ops.peaks)."""
    from keras import ops

    if method == "integral":
        q = ops.maximum(p, 0.0)
        gv = ops.convert_to_tensor((np.arange(PATCH) - (PATCH - 1) / 2).astype("f4"))
        z = ops.sum(q, axis=(-2, -1))
        z = ops.where(z <= 0, 1.0, z)
        dx = ops.sum(ops.sum(q, axis=-2) * gv, axis=-1) / z
        dy = ops.sum(ops.sum(q, axis=-1) * gv, axis=-1) / z
        return dx, dy
    c = PATCH // 2
    if method == "local":
        dx = ops.sign(p[..., c, c + 1] - p[..., c, c - 1]) * 0.25
        dy = ops.sign(p[..., c + 1, c] - p[..., c - 1, c]) * 0.25
        return dx, dy
    if method == "quadratic":
        q = ops.log(ops.maximum(p, 1e-6))
        dx = _parabola(q[..., c, c - 1], q[..., c, c], q[..., c, c + 1])
        dy = _parabola(q[..., c - 1, c], q[..., c, c], q[..., c + 1, c])
        return dx, dy
    zero = ops.zeros_like(p[..., 0, 0])
    return zero, zero


def offsets_head_at(offsets: Any, flat_idx: Any, stride: float) -> tuple[Any, Any]:
    """Offset-head ``(dx, dy)`` in grid units at flat indices ``(B, C, K)``."""
    from keras import ops

    flat = _channels_first_flat(offsets)  # (B, 2C, H * W)
    dx = ops.take_along_axis(flat[:, 0::2], flat_idx, -1)
    dy = ops.take_along_axis(flat[:, 1::2], flat_idx, -1)
    return dx / stride, dy / stride


def refined_points(
    cms: Any, flat_idx: Any, method: str, offsets: Any = None, stride: float = 1.0
) -> Any:
    """Refined grid ``(x, y)`` ``(B, C, K, 2)`` of flat peak indices ``(B, C, K)``."""
    from keras import ops

    w = int(cms.shape[2])
    x = ops.cast(flat_idx % w, "float32")
    y = ops.cast(flat_idx // w, "float32")
    if offsets is not None:
        dx, dy = offsets_head_at(offsets, flat_idx, stride)
    elif method == "none":
        dx = dy = 0.0
    else:
        dx, dy = refine_offsets(patches(cms, flat_idx), method)
    return ops.stack([x + dx, y + dy], axis=-1)


def global_peaks(cms: Any, threshold: float) -> tuple[Any, Any, Any]:
    """Arg-max per channel: flat indices ``(B, C, 1)``, values ``(B, C)``, valid."""
    from keras import ops

    flat = _channels_first_flat(cms)
    idx = ops.expand_dims(ops.argmax(flat, axis=-1), -1)
    idx = ops.cast(idx, "int32")
    vals = ops.take_along_axis(flat, idx, -1)[..., 0]
    return idx, vals, vals >= threshold


def local_peaks(cms: Any, threshold: float, k: int) -> tuple[Any, Any, Any, Any]:
    """The ``k`` strongest local maxima per channel, in row-major order.

    Returns:
        flat indices ``(B, C, k)``, values ``(B, C, k)``, valid ``(B, C, k)``
        (empty slots come last) and the count of peaks found ``(B, C)`` (may
        exceed ``k``: the caller widens ``k`` and runs again).
    """
    from keras import ops

    mask = ops.logical_and(cms > _neighbour_max(cms), cms > threshold)
    score = ops.where(mask, cms, -np.inf)
    flat = _channels_first_flat(score)
    n = int(flat.shape[-1])
    count = ops.sum(ops.cast(_channels_first_flat(mask), "int32"), axis=-1)
    kk = min(k, n)
    vals, idx = ops.top_k(flat, kk, sorted=True)
    idx = ops.cast(idx, "int32")
    valid = vals > -np.inf
    key = ops.where(valid, idx, n + ops.arange(kk, dtype="int32"))
    order = ops.cast(ops.argsort(key, axis=-1), "int32")
    idx = ops.take_along_axis(idx, order, -1)
    vals = ops.take_along_axis(vals, order, -1)
    valid = ops.take_along_axis(valid, order, -1)
    if kk < k:  # maps smaller than k pixels: pad the slots
        pad = [[0, 0], [0, 0], [0, k - kk]]
        idx = ops.pad(idx, pad)
        vals = ops.pad(vals, pad, constant_values=-np.inf)
        valid = ops.pad(valid, pad)
    return idx, vals, valid, count
