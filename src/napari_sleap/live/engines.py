"""Single-frame pose models for the live loop, one small adapter per engine.

``auto`` (the default): what :mod:`napari_sleap.infer.engine_choice` picks for
this machine (the portable engine in bfloat16 for top-down on CPUs with native
bfloat16, else the predictor), as ``napari-sleap predict`` does.
``predictor``: the package's :class:`~napari_sleap.infer.predictor.Predictor` at
batch 1, called through ``predict_frame`` (its cheapest single-frame path: one
compiled call per model, no reader thread, no batching).
``portable``: the backend-free path ``napari_sleap.infer.portable`` (Keras 3 on
TensorFlow, JAX or PyTorch), when the install has it.

TensorFlow and Keras are imported when a model is loaded, never on import.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from napari_sleap.infer.results import FramePoses

#: Engines :func:`load_live_model` knows.
ENGINES = ("auto", "predictor", "portable")


class LiveModel:
    """Poses of one frame at a time.

    Attributes:
        node_names: the skeleton's node names, in the order of the points.
        engine: which engine runs it.
        skeleton: the sleap-io Skeleton the poses belong to.
    """

    node_names: list[str]
    engine: str
    skeleton: Any

    def predict(self, image: np.ndarray) -> FramePoses:
        """Poses in one ``(H, W, C)`` uint8 frame."""
        raise NotImplementedError

    def warmup(self, image: np.ndarray, repeats: int = 3) -> None:
        """Compile for this frame size and instance counts before timing anything."""
        for _ in range(repeats):
            self.predict(image)


class PredictorModel(LiveModel):
    """The package's Predictor at batch 1."""

    engine = "predictor"

    def __init__(self, predictor: Any, max_instances: int | None) -> None:
        self.predictor = predictor
        self.node_names = list(predictor.info.node_names)
        self.skeleton = predictor.skeleton
        self.max_instances = max_instances

    def predict(self, image: np.ndarray) -> FramePoses:
        """Poses in one frame through ``Predictor.predict_frame``."""
        return self.predictor.predict_frame(image)

    def warmup(self, image: np.ndarray, repeats: int = 3) -> None:
        """Trace the frame size, then every crop count a frame may bring.

        A top-down model runs its crop model on as many crops as it found
        centroids (padded to a power of two); each count traces once, so the
        counts up to ``max_instances`` (or 2 to 8) are traced here instead of
        on the first live frame that brings them.
        """
        super().warmup(image, repeats)
        runner = getattr(self.predictor.layer, "instance_runner", None)
        crop = getattr(self.predictor.info, "crop_size", None)
        if runner is None or not crop:
            return
        from napari_sleap.infer.engine import bucket

        most = bucket(self.max_instances or 8)
        channels = image.shape[-1] if image.ndim == 3 else 1
        k = 1
        while k <= most:
            runner(np.zeros((k, crop, crop, channels), np.float32), pad_to=k)
            k *= 2


class PortableModel(LiveModel):
    """The backend-free pipeline of ``napari_sleap.infer.portable`` at batch 1.

    Calls the pipeline's single-frame path (``predict_frame``) where it has
    one, else ``predict_arrays`` on a batch of one.
    """

    engine = "portable"

    def __init__(self, pipe: Any, model_dirs: Sequence[Path]) -> None:
        from napari_sleap.infer.predictor import skeleton_of

        self.pipe = pipe
        info = getattr(pipe, "info", None) or _instance_info(model_dirs)
        self.node_names = list(info.node_names)
        self.skeleton = getattr(pipe, "skeleton", None) or skeleton_of(info)
        layer = getattr(pipe, "layer", None)
        details = [getattr(pipe, "backend", None)]
        if getattr(layer, "mixed_precision", False) == "bfloat16":
            details.append("bfloat16")
        details = [d for d in details if d]
        if details:
            self.engine = f"portable ({', '.join(details)})"

    def predict(self, image: np.ndarray) -> FramePoses:
        """Poses in one frame."""
        if image.ndim == 2:
            image = image[..., None]
        single = getattr(self.pipe, "predict_frame", None)
        if single is not None:
            return single(image)
        points, scores, inst = self.pipe.predict_arrays(image[None])
        points = np.asarray(points[0], np.float64)
        keep = ~np.all(np.isnan(points[..., 0]), axis=-1)  # empty instance slots
        return FramePoses(
            points[keep],
            np.asarray(scores[0], np.float64)[keep],
            np.asarray(inst[0], np.float64)[keep],
        )


def _instance_info(model_dirs: Sequence[Path]) -> Any:
    """The description of the model whose nodes the poses carry (not the centroid's)."""
    from napari_sleap.infer.model_io import load_model_info

    infos = [load_model_info(d) for d in model_dirs]
    others = [i for i in infos if i.role != "centroid"]
    return (others or infos)[-1]


def load_live_model(
    model_dirs: Sequence[str | Path],
    engine: str = "auto",
    max_instances: int | None = None,
    peak_threshold: float = 0.2,
    precision: str = "auto",
) -> LiveModel:
    """Load model folders for single-frame use.

    Args:
        model_dirs: the pipeline's model folders.
        engine: ``auto``, ``predictor`` or ``portable``.
        max_instances: most animals per frame.
        peak_threshold: least confidence of a node.
        precision: ``auto``, ``float32`` or ``bfloat16`` (portable only).

    Raises:
        ValueError: for an unknown engine, or ``portable`` where this install
            lacks it (naming the fix).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}; choose one of {', '.join(ENGINES)}")
    from napari_sleap.infer.engine_choice import resolve

    choice = resolve(model_dirs, engine, precision)
    if choice.engine == "predictor":
        from napari_sleap.infer.predictor import Predictor, PredictorOptions

        options = PredictorOptions(
            batch_size=1,
            max_instances=max_instances,
            peak_threshold=peak_threshold,
            mixed_precision=choice.mixed_precision,
        )
        return PredictorModel(
            Predictor.from_model_dirs(model_dirs, options), max_instances
        )
    try:
        from napari_sleap.infer.portable import load_portable
    except ImportError as err:
        raise ValueError(
            "the portable engine (napari_sleap.infer.portable) is not in this "
            f"install ({err}). Fix: use --engine predictor, or update napari-sleap"
        ) from err
    kwargs: dict[str, Any] = {"batch_size": 1}
    if max_instances is not None:
        kwargs["max_instances"] = max_instances
    if peak_threshold != 0.2:
        kwargs["peak_threshold"] = peak_threshold
    if choice.mixed_precision:
        kwargs["mixed_precision"] = choice.mixed_precision
    dirs = [Path(d) for d in model_dirs]
    return PortableModel(load_portable(dirs, **kwargs), dirs)
