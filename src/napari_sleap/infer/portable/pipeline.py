"""Model folders -> a portable pipeline: numpy frames in, fixed-shape poses out.

The public face of backend-free inference (see docs/backends.md)::

    pipe = load_portable([centroid_dir, centered_dir], batch_size=8)
    points, scores, instance_scores = pipe.predict_arrays(frames)
    poses = pipe.predict(frames)  # per-frame FramePoses, as the Predictor gives

``pipe.predictor`` is a :class:`~napari_sleap.infer.predictor.Predictor` over
the same compiled functions, for streaming videos (``run``) and ``predict()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from napari_sleap.infer.layers.base import PeakParams
from napari_sleap.infer.portable.compiled import backend_name
from napari_sleap.infer.portable.layer import PortableLayer
from napari_sleap.infer.predictor import Predictor, PredictorOptions
from napari_sleap.infer.results import FramePoses
from napari_sleap.infer.tta import resolve_mode

#: Frames per compiled call when none is given.
DEFAULT_BATCH = 8


class PortablePipeline:
    """A loaded pipeline on the active Keras backend.

    Attributes:
        backend: ``tensorflow``, ``jax`` or ``torch``.
        pipeline: ``single``, ``top-down[-id]`` or ``bottom-up[-id]``.
        layer: the :class:`PortableLayer` (device graph + host split).
        predictor: a Predictor running this layer (videos, ``predict()``).
    """

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor
        self.layer: PortableLayer = predictor.layer
        self.pipeline = predictor.pipeline
        self.backend = backend_name()
        self.info = predictor.info
        self.skeleton = predictor.skeleton

    @property
    def batch_size(self) -> int:
        """Frames per compiled call."""
        return int(self.layer.batch_size)

    def _batches(self, frames: Any) -> list[np.ndarray]:
        frames = np.asarray(frames)
        if frames.ndim == 3:  # (B, H, W) gray
            frames = frames[..., None]
        if frames.ndim != 4:
            raise ValueError(
                f"frames must be (batch, height, width[, channels]); got {frames.shape}"
            )
        bs = self.batch_size
        return [frames[i : i + bs] for i in range(0, len(frames), bs)]

    def predict(self, frames: Any) -> list[FramePoses]:
        """Poses per frame of a ``(B, H, W[, C])`` uint8 array, in frame pixels."""
        out: list[FramePoses] = []
        for batch in self._batches(frames):
            fitted, ratio = self.predictor._fit(batch)
            out.extend(self.predictor._postprocess(self.layer.forward(fitted), ratio))
        return out

    def predict_frame(self, frame: np.ndarray) -> FramePoses:
        """Poses of one ``(H, W[, C])`` frame (the low-latency path, batch 1)."""
        return self.predictor.predict_frame(frame)

    def predict_arrays(self, frames: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fixed-shape poses of a batch of uint8 frames.

        Returns:
            ``points (B, I, nodes, 2)`` frame ``(x, y)`` with NaN for missing
            nodes and empty slots, ``point_scores (B, I, nodes)`` (0 where
            missing) and ``instance_scores (B, I)`` (NaN for empty slots), with
            ``I`` the instance slots of the widest batch (``max_instances``
            when set).
        """
        poses = self.predict(frames)
        n_nodes = len(self.info.node_names)
        slots = self.layer.max_instances or max([len(p) for p in poses] + [1])
        if self.pipeline == "single":
            slots = 1
        b = len(poses)
        points = np.full((b, slots, n_nodes, 2), np.nan, np.float32)
        scores = np.zeros((b, slots, n_nodes), np.float32)
        inst = np.full((b, slots), np.nan, np.float32)
        for i, p in enumerate(poses):
            m = min(len(p), slots)
            points[i, :m] = p.points[:m]
            scores[i, :m] = p.point_scores[:m]
            inst[i, :m] = p.instance_scores[:m]
        return points, scores, inst

    def run(self, reader: Any, frame_inds: Sequence[int], **kw: Any):
        """Stream a video: ``(frame indices, poses)`` per batch (Predictor.run)."""
        return self.predictor.run(reader, frame_inds, **kw)

    def warmup(self, height: int, width: int, channels: int = 1) -> None:
        """Compile for batch ``batch_size`` and batch 1 at this frame size."""
        blank = np.zeros((self.batch_size, height, width, channels), np.uint8)
        self.predict(blank)
        self.predict(blank[:1])


def load_portable(
    model_dirs: str | Path | Sequence[str | Path],
    batch_size: int | None = None,
    mixed_precision: bool | str = False,
    **options: Any,
) -> PortablePipeline:
    """Load model folders (ours or SLEAP 1.x) for backend-free inference.

    Args:
        model_dirs: the folders ``napari-sleap predict`` takes.
        batch_size: frames per compiled call (8).
        mixed_precision: True / ``"float16"`` (a GPU option) or
            ``"bfloat16"`` (CPUs with AMX/AVX512-BF16; see docs/backends.md).
        options: other :class:`PredictorOptions` fields (``peak_threshold``,
            ``refinement``, ``max_instances``, ``paf``, ``jit_compile``,
            ``tta``: test-time augmentation, top-down only).

    Raises:
        ValueError: ``tta`` on a pipeline other than top-down, or models that
            do not form a pipeline.
    """
    from napari_sleap.infer import sleap1
    from napari_sleap.infer.model_io import load_model
    from napari_sleap.infer.predictor import _check_same_skeleton, _pipeline_of

    if isinstance(model_dirs, (str, bytes)) or hasattr(model_dirs, "__fspath__"):
        model_dirs = [model_dirs]
    if not model_dirs:
        raise ValueError("give at least one model folder")
    opts = PredictorOptions(
        batch_size=batch_size or DEFAULT_BATCH,
        mixed_precision=mixed_precision,
        **options,
    )
    models = [load_model(d) for d in model_dirs]
    pipeline = _pipeline_of(models)
    models.sort(key=lambda m: m.role != "centroid")
    _check_same_skeleton(models)
    opts = replace(opts, tta=resolve_mode(opts.tta, pipeline, models[-1].info))
    paf = opts.paf
    if opts.max_instances is not None:
        paf = replace(paf, max_instances=opts.max_instances)
    layer = PortableLayer(
        pipeline,
        models,
        PeakParams(opts.peak_threshold, opts.refinement),
        paf,
        max_instances=opts.max_instances,
        batch_size=opts.batch_size,
        jit_compile=opts.jit_compile,
        mixed_precision=opts.mixed_precision,
        tta=opts.tta,
    )
    predictor = Predictor(layer, pipeline, opts)
    named = sleap1.skeleton_name(models[-1].folder)
    if named:
        predictor.skeleton.name = named
    predictor.target_size = sleap1.target_size(models[0].folder)
    return PortablePipeline(predictor)
