"""The model-only path of the device check: the networks a frame needs, on any backend.

One compiled function per batch shape runs preprocessing (uint8 -> [0, 1],
input scale, stride padding) and the forward passes with ``keras.ops`` under
the backend Keras was imported with (``KERAS_BACKEND``): JAX (``jax.jit`` over
``stateless_call``), PyTorch (eager, ``inference_mode``) or TensorFlow
(``tf.function``). Top-down runs the centroid model on the frames and the
centered-instance model on two fixed crops per frame (the two flies; where the
crops sit does not change the work). No peak finding: that is the end-to-end
path's job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

#: Instances per frame cropped for the centered-instance model (two flies).
CROPS_PER_FRAME = 2


#: ``mixed_precision`` values -> Keras dtype policies (as the portable path).
POLICIES = {
    True: "mixed_float16",
    "float16": "mixed_float16",
    "bfloat16": "mixed_bfloat16",
}


def use_mixed_precision(model: Any, policy: str = "mixed_float16") -> None:
    """Compute in float16/bfloat16 with float32 weights, as the engines do."""
    for layer in model._flatten_layers(include_self=False):
        if layer.__class__.__name__ != "InputLayer":
            layer.dtype_policy = policy


def prepare(x: Any, info: Any) -> Any:
    """uint8 ``(B, H, W, C)`` -> the model's float input (scale, channels, pad)."""
    from keras import ops

    x = ops.cast(x, "float32") / 255.0
    want = int(info.input_channels)
    if int(x.shape[-1]) != want:
        x = (
            ops.mean(x, axis=-1, keepdims=True)
            if want == 1
            else ops.tile(x, (1, 1, 1, 3))
        )
    h, w = int(x.shape[1]), int(x.shape[2])
    scale = float(info.input_scale)
    if scale != 1.0:
        h, w = max(1, round(h * scale)), max(1, round(w * scale))
        x = ops.image.resize(x, (h, w), interpolation="bilinear")
    stride = int(info.max_stride)
    ph, pw = (-h) % stride, (-w) % stride
    if ph or pw:
        x = ops.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]])
    return x


def crop_positions(height: int, width: int, size: int) -> list[tuple[int, int]]:
    """Top-left corners of the fixed crops (side by side around the centre)."""
    y = max(0, min(height - size, height // 2 - size // 2))
    xs = [max(0, min(width - size, width // 2 - size + i * size)) for i in range(2)]
    return [(y, x) for x in xs[:CROPS_PER_FRAME]]


def _graph(models: list[Any], pipeline: str, call: Callable, x: Any) -> dict:
    """The whole model-only computation, written once for every backend."""
    from keras import ops

    first = call(0, prepare(x, models[0].info))
    out = {f"{models[0].role}/{k}": ops.cast(v, "float32") for k, v in first.items()}
    if pipeline == "top-down":
        info = models[1].info
        size = int(info.crop_size)
        h, w = int(x.shape[1]), int(x.shape[2])
        crops = [
            x[:, y : y + size, c : c + size, :] for y, c in crop_positions(h, w, size)
        ]
        second = call(1, prepare(ops.concatenate(crops, axis=0), info))
        out.update(
            {f"{models[1].role}/{k}": ops.cast(v, "float32") for k, v in second.items()}
        )
    return out


class ModelForward:
    """Model-only forward pass of a pipeline's models on the current backend.

    Args:
        models: loaded models (``napari_sleap.infer.model_io.LoadedModel``),
            centroid first for top-down.
        pipeline: ``top-down`` or ``bottom-up``.
        mixed_precision: False, True or ``"float16"`` (float16 compute), or
            ``"bfloat16"``.
    """

    def __init__(self, models: list[Any], pipeline: str, mixed_precision: bool | str):
        import keras

        self.backend = keras.backend.backend()
        self.models = models
        self.pipeline = pipeline
        if mixed_precision:
            for m in models:
                use_mixed_precision(m.keras_model, POLICIES[mixed_precision])
        nets = [m.keras_model for m in models]
        if self.backend == "jax":
            self._call = self._jax(nets)
        elif self.backend == "torch":
            self._call = self._torch(nets)
        elif self.backend == "tensorflow":
            self._call = self._tensorflow(nets)
        else:
            raise ValueError(f"backend {self.backend!r} is not measured here")

    def _jax(self, nets: list[Any]) -> Callable:
        import jax

        states = [
            (
                [v.value for v in n.trainable_variables],
                [v.value for v in n.non_trainable_variables],
            )
            for n in nets
        ]

        def pure(states, x):
            def call(i, inp):
                return nets[i].stateless_call(
                    states[i][0], states[i][1], inp, training=False
                )[0]

            return _graph(self.models, self.pipeline, call, x)

        jitted = jax.jit(pure)

        def run(frames: np.ndarray) -> dict:
            return jax.block_until_ready(jitted(states, jax.device_put(frames)))

        return run

    def _torch(self, nets: list[Any]) -> Callable:
        import torch
        from keras import ops

        cuda = torch.cuda.is_available()

        def run(frames: np.ndarray) -> dict:
            with torch.inference_mode():
                x = ops.convert_to_tensor(frames)
                out = _graph(
                    self.models,
                    self.pipeline,
                    lambda i, inp: nets[i](inp, training=False),
                    x,
                )
            if cuda:
                torch.cuda.synchronize()
            return out

        return run

    def _tensorflow(self, nets: list[Any]) -> Callable:
        import tensorflow as tf

        fn = tf.function(
            lambda x: _graph(
                self.models,
                self.pipeline,
                lambda i, inp: nets[i](inp, training=False),
                x,
            )
        )

        def run(frames: np.ndarray) -> dict:
            out = fn(tf.constant(frames))
            for v in out.values():
                v.numpy()  # waits for the result
            return out

        return run

    def __call__(self, frames: np.ndarray) -> dict:
        """Outputs (on the device, computed) for a uint8 ``(B, H, W, C)`` batch."""
        return self._call(frames)

    @staticmethod
    def to_host(out: dict) -> dict[str, np.ndarray]:
        """The outputs as numpy arrays (the copy back a host consumer pays)."""
        from keras import ops

        return {k: ops.convert_to_numpy(v) for k, v in out.items()}
