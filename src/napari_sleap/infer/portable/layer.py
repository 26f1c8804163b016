"""An inference layer whose network part is one portable compiled function per batch.

:class:`PortableLayer` plugs into :class:`napari_sleap.infer.predictor.Predictor`
(reader thread, overlapped post-processing, resumable ``predict()``): its
``forward`` runs the whole device graph (preprocessing, models, peaks,
refinement, crops, PAF scores) and its ``postprocess`` only splits the fixed
slots into per-frame poses (bottom-up: groups the scored PAF candidates).

Shapes are static: ``k`` instance (or peak) slots per frame. Without a user
cap the layer widens ``k`` (next power of two) and reruns a batch whose frames
found more peaks than slots, so results equal the uncapped predictor's; each
new ``k`` compiles once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_sleap.config.roles import CENTERED_ROLES
from napari_sleap.infer import tta
from napari_sleap.infer.engine import bucket
from napari_sleap.infer.layers.base import (
    InferenceLayer,
    PeakParams,
    check_role,
    class_map_poses,
)
from napari_sleap.infer.model_io import LoadedModel
from napari_sleap.infer.ops.identity import assign_classes
from napari_sleap.infer.ops.paf import PafParams, group_instances
from napari_sleap.infer.portable import graphs
from napari_sleap.infer.portable.compiled import Compiled
from napari_sleap.infer.results import FramePoses

#: Instance slots a top-down / bottom-up batch starts with when uncapped.
START_SLOTS = 2

#: ``mixed_precision`` values -> Keras dtype policies (True: float16, the GPU
#: choice; bfloat16 runs on CPUs with AMX/AVX512-BF16 through oneDNN).
PRECISIONS = {
    True: "mixed_float16",
    "float16": "mixed_float16",
    "bfloat16": "mixed_bfloat16",
}


def set_precision(model: Any, mixed: bool | str) -> None:
    """Compute in float16 or bfloat16 (weights stay float32) where layers allow it."""
    if mixed not in PRECISIONS:
        raise ValueError(
            f"mixed_precision={mixed!r}; allowed: False, True (float16), "
            "'float16', 'bfloat16'"
        )
    for layer in model._flatten_layers(include_self=False):
        if layer.__class__.__name__ != "InputLayer":
            layer.dtype_policy = PRECISIONS[mixed]


def _tta_views(
    pipeline: str, info: Any, mode: str
) -> tuple[list[tta.View], list[tuple[int, int]]]:
    """The views and left/right pairs of a tta mode (none: no views), checked."""
    views = tta.views_of(mode)
    if mode == "none":
        return [], []
    if not pipeline.startswith("top-down"):
        raise ValueError(tta.TOP_DOWN_ONLY)
    pairs = tta.lr_pairs_of(info)
    tta.check_views(info, views, pairs)
    return views, pairs


class PortableLayer(InferenceLayer):
    """One pipeline (single, top-down[-id], bottom-up[-id]) on any Keras backend.

    Args:
        pipeline: ``single``, ``top-down``, ``top-down-id``, ``bottom-up`` or
            ``bottom-up-id`` (as ``config.roles.pipeline_of`` names them).
        models: the loaded models; for top-down the centroid model first.
        peaks: peak settings (the centroid model uses the same).
        paf: bottom-up grouping settings.
        max_instances: fixed instance slots (a cap, best first); None widens
            the slots as frames need them.
        batch_size: frames per compiled call (smaller batches are padded).
        jit_compile: XLA on the TensorFlow backend.
        mixed_precision: False, True / ``"float16"`` or ``"bfloat16"`` compute.
        tta: test-time augmentation of the centered-instance model, a key of
            ``infer.tta.TTA_MODES`` (top-down pipelines only).
    """

    def __init__(
        self,
        pipeline: str,
        models: list[LoadedModel],
        peaks: PeakParams | None = None,
        paf: PafParams | None = None,
        max_instances: int | None = None,
        batch_size: int = 8,
        jit_compile: bool = False,
        mixed_precision: bool | str = False,
        tta: str = "none",
    ) -> None:
        self.pipeline = pipeline
        self.models = models
        self.peaks = peaks or PeakParams()
        self.paf = paf or PafParams()
        self.max_instances = max_instances
        self.batch_size = batch_size
        self.jit_compile = jit_compile
        self.mixed_precision = mixed_precision
        #: Top-down: scale and crop uint8 frames before the float cast
        #: (faster); False keeps the float-frame path, to compare them.
        self.fused = True
        self.info = models[-1].info
        self.views, self.lr_pairs = _tta_views(pipeline, self.info, tta)
        if pipeline.startswith("top-down"):
            centroid, instance = models
            check_role(centroid.info, ("centroid",), str(centroid.folder))
            check_role(instance.info, CENTERED_ROLES, str(instance.folder))
            if not instance.info.crop_size:
                raise ValueError(f"{instance.folder}: model_info.crop_size is not set")
            self.convention = "center" if instance.info.source == "sleap1" else "pixel"
            self._keras = {
                "centroid": centroid.keras_model,
                "instance": instance.keras_model,
            }
        else:
            self._keras = {"model": models[0].keras_model}
        if mixed_precision:
            for m in self._keras.values():
                set_precision(m, mixed_precision)
        cap = self.paf.max_peaks_per_node if pipeline.startswith("bottom-up") else None
        self.slot_cap = max_instances if pipeline.startswith("top-down") else cap
        self.slots = max_instances or START_SLOTS
        if pipeline.startswith("bottom-up") and max_instances:
            self.slots = max(max_instances, START_SLOTS)
        self._compiled: dict[tuple, Compiled] = {}

    # -- device ---------------------------------------------------------------
    def _graph(self, k: int, h: int, w: int) -> Any:
        if self.pipeline == "single":
            return graphs.single_graph(self.info, self.peaks)
        if self.pipeline.startswith("top-down"):
            c, i = (m.info for m in self.models)
            return graphs.topdown_graph(
                c,
                i,
                k,
                self.peaks,
                self.peaks,
                self.convention,
                self.fused,
                self.views,
                self.lr_pairs,
            )
        s = self.info.input_scale
        size = (int(h * s), int(w * s))
        return graphs.bottomup_graph(self.info, k, self.peaks, self.paf, size)

    def compiled(self, k: int, h: int, w: int) -> Compiled:
        """The compiled batch function for ``k`` slots and ``h`` x ``w`` frames."""
        key = (k, h, w)
        if key not in self._compiled:
            graph = self._graph(k, h, w)
            self._compiled[key] = Compiled(self._keras, graph, self.jit_compile)
        return self._compiled[key]

    def _needed_slots(self, counts: np.ndarray) -> int | None:
        """More slots to run again with, or None when every peak had one."""
        if (
            self.pipeline == "single"
            or self.max_instances
            and self.pipeline.startswith("top-down")
        ):
            return None
        most = int(counts.max()) if counts.size else 0
        if most <= self.slots:
            return None
        wider = bucket(most)
        if self.slot_cap is not None:
            wider = min(wider, self.slot_cap)
        return wider if wider > self.slots else None

    def forward(self, frames: Any) -> dict:
        """Run the device graph on a uint8 ``(B, H, W, C)`` batch -> numpy arrays."""
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[..., None]
        n, h, w = frames.shape[:3]
        if 1 < n < self.batch_size:
            pad = np.zeros((self.batch_size - n, *frames.shape[1:]), frames.dtype)
            frames = np.concatenate([frames, pad])
        while True:
            raw = self.compiled(self.slots, h, w)(frames)
            wider = self._needed_slots(raw.get("counts", np.zeros(0))[:n])
            if wider is None:
                break
            self.slots = wider
        raw = {k: v[:n] for k, v in raw.items()}
        raw["n"] = n
        return raw

    # -- host -----------------------------------------------------------------
    def postprocess(self, raw: dict) -> list[FramePoses]:
        """Per-frame poses from the fixed slots (bottom-up: grouped here)."""
        if self.pipeline.startswith("bottom-up"):
            return [self._group(raw, i) for i in range(raw["n"])]
        out = []
        for i in range(raw["n"]):
            keep = ~np.isnan(raw["instance_scores"][i])
            poses = FramePoses(
                raw["points"][i][keep].astype(np.float64),
                raw["point_scores"][i][keep].astype(np.float64),
                raw["instance_scores"][i][keep].astype(np.float64),
            )
            if "class_vectors" in raw:
                poses.class_inds, poses.class_scores = assign_classes(
                    raw["class_vectors"][i][keep]
                )
            out.append(poses)
        return out

    def _group(self, raw: dict, i: int) -> FramePoses:
        """Group one frame's scored peaks into instances (PAFs or class maps)."""
        info = self.info
        n_nodes = len(info.node_names)
        counts = np.minimum(raw["counts"][i], raw["peaks"].shape[2])  # this batch's k
        pts = [
            raw["peaks"][i, k, : counts[k]].astype(np.float64) for k in range(n_nodes)
        ]
        vals = [
            raw["peak_vals"][i, k, : counts[k]].astype(np.float64)
            for k in range(n_nodes)
        ]
        if info.role == "bottom_up_id":
            head = info.heads["class_maps"]
            poses = class_map_poses(pts, vals, raw["class_maps"][i], head.output_stride)
        else:
            scored = None
            if "edge_scores" in raw:
                scored = [
                    (
                        raw["edge_scores"][i, e, : counts[a], : counts[b]].astype(
                            np.float64
                        ),
                        raw["edge_valid"][i, e, : counts[a], : counts[b]],
                    )
                    for e, (a, b) in enumerate(info.edges)
                ]
            p, pv, isc = group_instances(
                pts, vals, None, 1.0, info.edges, (1, 1), self.paf, scored=scored
            )
            poses = FramePoses(p, pv, isc)
        poses.points = poses.points / info.input_scale
        return poses
