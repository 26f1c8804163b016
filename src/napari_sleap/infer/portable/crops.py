"""Instance crops on the device by gathering pixels (no crop_and_resize in keras.ops).

Crops start at a top-left offset per instance (see :mod:`napari_sleap.infer.ops.crops`
for the two conventions). Whole-pixel offsets (``"pixel"``, our training) gather
the frame's own pixels; fractional ones (``"center"``, SLEAP 1.x) gather one
extra row and column and blend the four integer-offset crops bilinearly, which is
what ``tf.image.crop_and_resize`` samples at unit steps. Outside the frame is zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def crop_offsets(centers: Any, size: int, convention: str) -> Any:
    """Top-left ``(x, y)`` of each crop from centres ``(..., 2)`` (device version)."""
    from keras import ops

    if convention == "pixel":
        return ops.floor(centers - size / 2 + 0.5)
    return centers - (size - 1) / 2


def gather_crops(images: Any, offsets: Any, size: int, bilinear: bool) -> Any:
    """Crops ``(B * K, size, size, C)`` of ``(B, H, W, C)`` images, one per offset.

    Offsets are clamped a crop beyond the frame (such crops are all zero anyway),
    so every gathered index is in range.
    """
    from keras import ops

    b, h, w, c = (int(d) for d in images.shape)
    side = size + 1 if bilinear else size
    pad = side
    hp, wp = h + 2 * pad, w + 2 * pad
    x = ops.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    flat = ops.reshape(x, (-1, c))
    safe = ops.where(ops.isnan(offsets), 0.0, offsets)
    x0 = ops.floor(safe[..., 0])
    y0 = ops.floor(safe[..., 1])
    x0c = ops.cast(ops.clip(x0, -pad, w), "int32") + pad
    y0c = ops.cast(ops.clip(y0, -pad, h), "int32") + pad
    frame = ops.reshape(ops.arange(b, dtype="int32"), (-1, 1))
    base = frame * (hp * wp) + y0c * wp + x0c  # (B, K)
    grid = (np.arange(side)[:, None] * wp + np.arange(side)[None, :]).astype(np.int32)
    idx = ops.reshape(base, (-1, 1, 1)) + ops.convert_to_tensor(grid)
    crops = ops.take(flat, ops.reshape(idx, (-1,)), axis=0)
    crops = ops.reshape(crops, (-1, side, side, c))
    if not bilinear:
        return crops
    fx = ops.reshape(safe[..., 0] - x0, (-1, 1, 1, 1))
    fy = ops.reshape(safe[..., 1] - y0, (-1, 1, 1, 1))
    top = crops[:, :size, :size] * (1 - fx) + crops[:, :size, 1:] * fx
    bottom = crops[:, 1:, :size] * (1 - fx) + crops[:, 1:, 1:] * fx
    return top * (1 - fy) + bottom * fy


def gather_crops_uint8(frames: Any, offsets: Any, size: int) -> Any:
    """Whole-pixel crops ``(B * K, size, size, C)`` in [0, 1] of uint8 frames.

    Equals ``gather_crops(to_float(frames), offsets, size, False)`` without the
    float copy and the padded copy of whole frames: indices are clamped to the
    frame and pixels outside it zeroed by a mask.
    """
    from keras import ops

    b, h, w, c = (int(d) for d in frames.shape)
    flat = ops.reshape(frames, (-1, c))
    safe = ops.where(ops.isnan(offsets), 0.0, offsets)
    span = ops.convert_to_tensor(np.arange(size, dtype=np.int32))
    x0 = ops.cast(ops.clip(ops.floor(safe[..., 0]), -size, w), "int32")
    y0 = ops.cast(ops.clip(ops.floor(safe[..., 1]), -size, h), "int32")
    rows = ops.expand_dims(y0, -1) + span  # (B, K, size)
    cols = ops.expand_dims(x0, -1) + span
    inside = ops.logical_and(
        ops.expand_dims(ops.logical_and(rows >= 0, rows < h), -1),
        ops.expand_dims(ops.logical_and(cols >= 0, cols < w), -2),
    )  # (B, K, size, size)
    frame = ops.reshape(ops.arange(b, dtype="int32"), (-1, 1, 1, 1))
    idx = (
        frame * (h * w)
        + ops.expand_dims(ops.clip(rows, 0, h - 1), -1) * w
        + ops.expand_dims(ops.clip(cols, 0, w - 1), -2)
    )
    crops = ops.take(flat, ops.reshape(idx, (-1,)), axis=0)
    crops = ops.reshape(ops.cast(crops, "float32") / 255.0, (-1, size, size, c))
    mask = ops.reshape(ops.cast(inside, "float32"), (-1, size, size, 1))
    return crops * mask
