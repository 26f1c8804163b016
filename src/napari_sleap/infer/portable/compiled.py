"""One compiled function per batch, with the backend's own compiler.

A *graph* is a function ``graph(run, frames) -> dict`` written with
``keras.ops`` only; ``run(name, x)`` calls one of the pipeline's Keras models
(outputs cast to float32). :class:`Compiled` turns it into a numpy-in,
numpy-out call:

* TensorFlow: ``tf.function`` (``jit_compile`` = XLA, off by default: it was
  slower on the 2-core CPU);
* JAX: ``jax.jit`` over ``model.stateless_call`` with the weights passed as
  arguments (not baked into the program as constants);
* PyTorch: eager under ``torch.no_grad()`` (``torch.compile`` is not used: it
  was not measured faster here).

Only the active backend's library is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Graph = Callable[[Callable[[str, Any], dict], Any], dict]


def backend_name() -> str:
    """The Keras backend in use: ``tensorflow``, ``jax`` or ``torch``."""
    import keras

    return keras.backend.backend()


def _cast_outputs(out: Any) -> dict:
    from keras import ops

    if not isinstance(out, dict):
        raise ValueError("the model's outputs must be a dict keyed by head kind")
    return {k: ops.cast(v, "float32") for k, v in out.items()}


class Compiled:
    """A graph compiled for the active backend; call it with numpy frames.

    Args:
        models: the Keras models by the names the graph's ``run`` uses.
        graph: the batch function.
        jit_compile: XLA for the TensorFlow backend (JAX always compiles).
    """

    def __init__(
        self, models: dict[str, Any], graph: Graph, jit_compile: bool = False
    ) -> None:
        self.models = models
        self.graph = graph
        self.backend = backend_name()
        if self.backend == "tensorflow":
            import tensorflow as tf

            self._fn = tf.function(
                lambda frames: graph(self._run_stateful, frames),
                jit_compile=jit_compile,
            )
        elif self.backend == "jax":
            import jax

            self._state = {
                name: (
                    [v.value for v in m.trainable_variables],
                    [v.value for v in m.non_trainable_variables],
                )
                for name, m in models.items()
            }
            self._fn = jax.jit(
                lambda state, frames: graph(self._stateless_runner(state), frames)
            )
        elif self.backend == "torch":
            self._fn = None
        else:
            raise ValueError(
                f"KERAS_BACKEND={self.backend!r} is not supported for inference; "
                "use tensorflow, jax or torch"
            )

    def _run_stateful(self, name: str, x: Any) -> dict:
        return _cast_outputs(self.models[name](x, training=False))

    def _stateless_runner(self, state: dict) -> Callable[[str, Any], dict]:
        def run(name: str, x: Any) -> dict:
            tv, ntv = state[name]
            out, _ = self.models[name].stateless_call(tv, ntv, x, training=False)
            return _cast_outputs(out)

        return run

    def __call__(self, frames: np.ndarray) -> dict[str, np.ndarray]:
        """Run the graph on a batch; every output comes back as numpy."""
        from keras import ops

        if self.backend == "tensorflow":
            out = self._fn(frames)
        elif self.backend == "jax":
            out = self._fn(self._state, frames)
        else:
            import torch

            with torch.no_grad():
                out = self.graph(self._run_stateful, ops.convert_to_tensor(frames))
        return {k: np.asarray(ops.convert_to_numpy(v)) for k, v in out.items()}
