"""Bottom-up pipeline: a frame's peaks grouped into instances.

Grouping uses part affinity fields (``bottom_up``) or identity class maps
(``bottom_up_id``).
"""

from __future__ import annotations

from typing import Any

from napari_sleap.infer.engine import Runner
from napari_sleap.infer.layers.base import (
    InferenceLayer,
    PeakParams,
    check_role,
    class_map_poses,
    local_points,
)
from napari_sleap.infer.model_io import LoadedModel
from napari_sleap.infer.ops.paf import PafParams, group_instances
from napari_sleap.infer.results import FramePoses


class BottomUpLayer(InferenceLayer):
    """Full frames -> instances from one multi-instance model."""

    def __init__(
        self,
        model: LoadedModel,
        peaks: PeakParams | None = None,
        paf: PafParams | None = None,
        batch_size: int = 4,
        **runner_kw: Any,
    ) -> None:
        check_role(model.info, ("bottom_up", "bottom_up_id"), str(model.folder))
        self.info = model.info
        self.peaks = peaks or PeakParams()
        self.paf = paf or PafParams()
        self.batch_size = batch_size
        self.runner = Runner(model, **runner_kw)

    def forward(self, frames: Any) -> dict:
        """Network outputs for a batch, with the model-input size."""
        out = self.runner(frames, pad_to=self.batch_size)
        h, w = int(frames.shape[1]), int(frames.shape[2])
        s = self.info.input_scale
        out["input_size"] = (int(h * s), int(w * s))
        return out

    def postprocess(self, raw: dict) -> list[FramePoses]:
        """Group each frame's peaks into instances."""
        info = self.info
        n_nodes = len(info.node_names)
        stride = info.heads["confmaps"].output_stride
        pts, vals, s, ch = local_points(
            raw["confmaps"], raw.get("offsets"), stride, self.peaks
        )
        out = []
        for i in range(len(raw["confmaps"])):
            sel = s == i
            per_pts = [pts[sel & (ch == k)] for k in range(n_nodes)]
            per_vals = [vals[sel & (ch == k)] for k in range(n_nodes)]
            if info.role == "bottom_up_id":
                head = info.heads["class_maps"]
                poses = class_map_poses(
                    per_pts, per_vals, raw["class_maps"][i], head.output_stride
                )
            else:
                head = info.heads["pafs"]
                p, pv, isc = group_instances(
                    per_pts,
                    per_vals,
                    raw["pafs"][i],
                    head.output_stride,
                    info.edges,
                    raw["input_size"],
                    self.paf,
                )
                poses = FramePoses(p, pv, isc)
            poses.points = poses.points / info.input_scale
            out.append(poses)
        return out
