"""Backend-free inference: the whole device path in ``keras.ops``.

Preprocessing, the forward passes, peak finding with non-maximum suppression,
sub-pixel refinement, instance crops and PAF scoring run as one compiled
function per batch on the active Keras backend (``KERAS_BACKEND`` =
``tensorflow``, ``jax`` or ``torch``); the host only splits slots into poses
and groups bottom-up candidates. Nothing here imports TensorFlow unless it is
the backend. See docs/backends.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PortablePipeline", "load_portable"]


def load_portable(model_dirs: Any, **options: Any) -> Any:
    """Load model folders as a :class:`PortablePipeline` (pipeline.load_portable)."""
    from napari_sleap.infer.portable.pipeline import load_portable as load

    return load(model_dirs, **options)


def __getattr__(name: str) -> Any:
    if name == "PortablePipeline":
        from napari_sleap.infer.portable.pipeline import PortablePipeline

        return PortablePipeline
    raise AttributeError(name)
