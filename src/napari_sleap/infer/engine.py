"""Compiled model calls: preprocessing + forward pass in one ``tf.function``.

Frames arrive as uint8 ``(batch, H, W, C)``; the runner converts channels to
what the model wants, scales to [0, 1], resizes by ``input_scale``, zero-pads
bottom/right to ``max_stride`` and returns the head outputs as numpy arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from napari_sleap.infer.model_io import LoadedModel


def _tf():
    import tensorflow as tf

    return tf


def use_mixed_precision(model: Any) -> None:
    """Compute in float16 (keeping float32 weights) where the layers allow it."""
    for layer in model._flatten_layers(include_self=False):
        if layer.__class__.__name__ != "InputLayer":
            layer.dtype_policy = "mixed_float16"


class Runner:
    """One model, compiled once, called on batches of frames or crops.

    Args:
        loaded: the model to run.
        jit_compile: compile with XLA (measure first: slower on small CPUs).
        mixed_precision: float16 compute (a GPU option).
    """

    def __init__(
        self,
        loaded: LoadedModel,
        jit_compile: bool = False,
        mixed_precision: bool = False,
    ) -> None:
        tf = _tf()
        self.loaded = loaded
        self.info = loaded.info
        model = loaded.keras_model
        if mixed_precision:
            use_mixed_precision(model)
        info = self.info
        scale = float(info.input_scale)
        stride = int(info.max_stride)
        want_c = int(info.input_channels)

        def prepare(x):
            if x.dtype == tf.uint8:
                x = tf.cast(x, tf.float32) / 255.0
            channels = x.shape[-1]
            if channels != want_c:
                if want_c == 1:
                    x = tf.image.rgb_to_grayscale(x)
                else:
                    x = tf.tile(x, [1, 1, 1, 3])
            if scale != 1.0:
                shape = tf.round(tf.cast(tf.shape(x)[1:3], tf.float32) * scale)
                shape = tf.maximum(tf.cast(shape, tf.int32), 1)
                x = tf.image.resize(x, shape, method="bilinear")
            if stride > 1:
                h, w = tf.shape(x)[1], tf.shape(x)[2]
                ph = (stride - h % stride) % stride
                pw = (stride - w % stride) % stride
                x = tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]])
            return x

        def forward(x):
            out = model(prepare(x), training=False)
            return {k: tf.cast(v, tf.float32) for k, v in out.items()}

        # One trace per concrete input shape (batches are padded to a few
        # sizes); relaxed shapes would make H and W unknown, which Keras'
        # UpSampling2D cannot trace.
        self._forward = tf.function(forward, jit_compile=jit_compile)

    def __call__(self, x: Any, pad_to: int | None = None) -> dict[str, np.ndarray]:
        """Run on a batch; ``pad_to`` pads the batch (with zeros) to limit retraces.

        A single frame is never padded: the low-latency path gets its own
        batch-1 trace instead of paying for a full batch.
        """
        n = int(x.shape[0])
        if pad_to and 1 < n < pad_to:
            tf = _tf()
            x = tf.pad(x, [[0, pad_to - n], [0, 0], [0, 0], [0, 0]])
        out = self._forward(x)
        return {k: v.numpy()[:n] for k, v in out.items()}


def bucket(n: int, minimum: int = 1) -> int:
    """Next power of two >= n (>= ``minimum``): few distinct batch shapes."""
    return max(minimum, 1 << math.ceil(math.log2(max(n, 1))))


def extract_crops(frames: Any, offsets: np.ndarray, sample_inds: np.ndarray, size: int):
    """Crops of ``size`` pixels from top-left ``offsets`` (float32 in [0, 1]).

    Fractional offsets are sampled bilinearly; outside the frame is zero.
    """
    from napari_sleap.infer.ops.crops import crop_boxes

    tf = _tf()
    h, w = int(frames.shape[1]), int(frames.shape[2])
    images = tf.cast(frames, tf.float32) / 255.0 if frames.dtype == np.uint8 else frames
    boxes = crop_boxes(offsets, size, h, w)
    return tf.image.crop_and_resize(
        images,
        boxes,
        tf.constant(sample_inds, tf.int32),
        (size, size),
        method="bilinear",
        extrapolation_value=0.0,
    )
