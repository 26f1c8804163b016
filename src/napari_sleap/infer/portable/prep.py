"""Frame preprocessing with ``keras.ops`` only: channels, input scaling, stride padding.

Matches :class:`napari_sleap.infer.engine.Runner`'s ``prepare`` (TensorFlow's
``rgb_to_grayscale`` weights and half-pixel bilinear ``resize`` without
antialiasing), written as gathers with indices fixed at trace time so every
backend computes the same numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from napari_sleap.nn.model_info import ModelInfo

#: ITU-R 601 luma weights, as TensorFlow's ``rgb_to_grayscale`` uses them.
GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)


def scaled_size(size: int, scale: float) -> int:
    """Side after input scaling (rounded, at least 1), as the TF runner has it."""
    return max(int(np.round(np.float32(size) * np.float32(scale))), 1)


def resize_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half-pixel bilinear sampling of ``n_out`` from ``n_in``: indices and weight."""
    pos = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    lo = np.floor(pos)
    frac = (pos - lo).astype(np.float32)
    lo_i = np.clip(lo, 0, n_in - 1).astype(np.int32)
    hi_i = np.clip(lo + 1, 0, n_in - 1).astype(np.int32)
    return lo_i, hi_i, frac


def resize_axis(x: Any, axis: int, n_out: int) -> Any:
    """Bilinear (half-pixel, no antialias) resize of one axis of ``x``."""
    from keras import ops

    n_in = int(x.shape[axis])
    if n_in == n_out:
        return x
    lo, hi, frac = resize_weights(n_in, n_out)
    a = ops.take(x, lo, axis=axis)
    b = ops.take(x, hi, axis=axis)
    if "int" in str(x.dtype):  # gathered as bytes, blended in float
        a, b = ops.cast(a, "float32"), ops.cast(b, "float32")
    shape = [1] * len(x.shape)
    shape[axis] = n_out
    w = ops.reshape(ops.convert_to_tensor(frac), shape)
    return a + (b - a) * w


def to_channels(x: Any, want: int) -> Any:
    """Convert ``(..., C)`` float images to ``want`` channels (1 = gray, 3 = RGB)."""
    from keras import ops

    have = int(x.shape[-1])
    if have == want:
        return x
    if want == 1:
        w = ops.convert_to_tensor(np.asarray(GRAY_WEIGHTS, np.float32))
        return ops.expand_dims(ops.sum(x * w, axis=-1), -1)
    return ops.tile(x, [1] * (len(x.shape) - 1) + [3])


def pad_to_stride(x: Any, stride: int) -> Any:
    """Zero-pad ``(B, H, W, C)`` at the bottom/right to multiples of ``stride``."""
    from keras import ops

    h, w = int(x.shape[1]), int(x.shape[2])
    ph = (stride - h % stride) % stride
    pw = (stride - w % stride) % stride
    if ph or pw:
        x = ops.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]])
    return x


def prepare(x: Any, info: ModelInfo) -> Any:
    """Float ``(B, H, W, C)`` in [0, 1] -> the model's input (channels, scale, pad)."""
    x = to_channels(x, int(info.input_channels))
    scale = float(info.input_scale)
    if scale != 1.0:
        x = resize_axis(x, 1, scaled_size(int(x.shape[1]), scale))
        x = resize_axis(x, 2, scaled_size(int(x.shape[2]), scale))
    return pad_to_stride(x, int(info.max_stride))


def prepare_frames(frames: Any, info: ModelInfo) -> Any:
    """uint8 ``(B, H, W, C)`` frames -> the model's input, scaling before the cast.

    Equals ``prepare(to_float(frames), info)`` up to float rounding, but a
    scaled-down input never makes a float copy of the whole frame: the rows
    and columns the resize needs are gathered as bytes first (measured in
    bench/bench_portable_profile.py).
    """
    from keras import ops

    if "int" not in str(frames.dtype) or float(info.input_scale) == 1.0:
        return prepare(to_float(frames), info)
    scale = float(info.input_scale)
    x = resize_axis(frames, 1, scaled_size(int(frames.shape[1]), scale))
    x = resize_axis(x, 2, scaled_size(int(frames.shape[2]), scale))
    x = to_channels(ops.cast(x, "float32") / 255.0, int(info.input_channels))
    return pad_to_stride(x, int(info.max_stride))


def to_float(frames: Any) -> Any:
    """uint8 frames -> float32 in [0, 1] (float input is taken as already scaled)."""
    from keras import ops

    if "int" in str(frames.dtype):
        return ops.cast(frames, "float32") / 255.0
    return ops.cast(frames, "float32")


def model_input_size(h: int, w: int, info: ModelInfo) -> tuple[int, int]:
    """``(height, width)`` of the scaled (unpadded) model input."""
    s = float(info.input_scale)
    if s == 1.0:
        return h, w
    return scaled_size(h, s), scaled_size(w, s)


def padded(n: int, stride: int) -> int:
    """``n`` rounded up to a multiple of ``stride``."""
    return int(math.ceil(n / stride) * stride)
