"""Inference: predictors per pipeline, from model folders to sleap-io Labels.

Layers of the package, innermost first:

* ``ops/``: numpy peak finding, refinement, crop geometry, PAF grouping and
  identity assignment;
* ``engine``: one compiled ``tf.function`` per model (preprocessing + forward);
* ``layers/``: one inference layer per pipeline (single, top-down[-id],
  bottom-up[-id]);
* ``predictor``: :class:`Predictor` (prefetching reader thread, overlapped
  post-processing, ``predict_frame`` for low latency);
* ``predict``: :func:`predict`, one call from model folders and a video or
  ``.slp`` to Labels, streaming to disk with resume;
* ``parts``: naming, fingerprinting and packing of the on-disk result parts
  (shared with ``distributed``);
* ``frame_damage``: finds frames a damaged packet spoils, so they are
  reported and skipped instead of given poses;
* ``sleap1``: SLEAP 1.x model folders, loaded without executing their code;
* ``portable/``: the backend-free engine (``keras.ops`` only, one compiled
  function per batch on TensorFlow, JAX or PyTorch; docs/backends.md);
* ``engine_choice``: which engine and precision ``auto`` runs on this machine
  (portable bfloat16 for top-down on CPUs with native bfloat16, else the
  predictor) and :func:`~.engine_choice.load_chosen`.

Importing this package does not import TensorFlow; loading a model does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Predictor", "PredictorOptions", "load_predictor", "predict"]


def __getattr__(name: str) -> Any:
    if name in ("Predictor", "PredictorOptions"):
        from napari_sleap.infer import predictor

        return getattr(predictor, name)
    if name == "predict":
        from napari_sleap.infer.predict import predict

        return predict
    raise AttributeError(name)


def load_predictor(model_dirs: Any, **options: Any) -> Any:
    """A :class:`Predictor` for model folders; ``options`` are PredictorOptions."""
    from napari_sleap.infer.predictor import Predictor, PredictorOptions

    if isinstance(model_dirs, (str, bytes)) or hasattr(model_dirs, "__fspath__"):
        model_dirs = [model_dirs]
    return Predictor.from_model_dirs(list(model_dirs), PredictorOptions(**options))
