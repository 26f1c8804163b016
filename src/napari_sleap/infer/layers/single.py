"""Single-instance pipeline: one global peak per node per frame."""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_sleap.infer.engine import Runner
from napari_sleap.infer.layers.base import (
    InferenceLayer,
    PeakParams,
    check_role,
    global_points,
)
from napari_sleap.infer.model_io import LoadedModel
from napari_sleap.infer.results import FramePoses


class SingleInstanceLayer(InferenceLayer):
    """Full frames -> one instance per frame (score = sum of node scores)."""

    def __init__(
        self,
        model: LoadedModel,
        peaks: PeakParams | None = None,
        batch_size: int = 4,
        **runner_kw: Any,
    ) -> None:
        check_role(model.info, ("single_instance",), str(model.folder))
        self.info = model.info
        self.peaks = peaks or PeakParams()
        self.batch_size = batch_size
        self.runner = Runner(model, **runner_kw)

    def forward(self, frames: Any) -> dict:
        """Network outputs for a batch."""
        return self.runner(frames, pad_to=self.batch_size)

    def postprocess(self, raw: dict) -> list[FramePoses]:
        """One instance per frame; NaN nodes where the peak is below threshold."""
        pts, vals = global_points(raw, self.info, self.peaks)
        out = []
        for p, v in zip(pts, vals, strict=True):
            v = np.where(np.isnan(p[:, 0]), 0.0, v)
            out.append(FramePoses(p[None], v[None], np.array([v.sum()])))
        return out
