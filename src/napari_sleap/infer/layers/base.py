"""Shared parts of the inference layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_sleap.infer.ops import peaks as P
from napari_sleap.infer.ops.identity import group_by_class_maps
from napari_sleap.infer.results import FramePoses
from napari_sleap.nn.model_info import ModelInfo


@dataclass
class PeakParams:
    """Peak finding settings.

    Attributes:
        threshold: minimum confidence of a peak (0.2).
        refinement: ``integral``, ``quadratic``, ``local`` or ``none``; ignored
            where the model has an offsets head ("integral").
        patch_size: integral refinement patch side (5).
    """

    threshold: float = 0.2
    refinement: str = "integral"
    patch_size: int = 5

    def __post_init__(self) -> None:
        if self.refinement not in P.REFINEMENTS:
            raise ValueError(
                f"refinement {self.refinement!r}; allowed: {', '.join(P.REFINEMENTS)}"
            )


class InferenceLayer:
    """Base: ``__call__(frames) = postprocess(forward(frames))``."""

    #: The skeleton/model description of the final poses.
    info: ModelInfo

    def forward(self, frames: Any) -> dict:
        """Run the network part on a uint8 ``(batch, H, W, C)`` batch."""
        raise NotImplementedError

    def postprocess(self, raw: dict) -> list[FramePoses]:
        """Turn the raw outputs of :meth:`forward` into poses per frame."""
        raise NotImplementedError

    def __call__(self, frames: Any) -> list[FramePoses]:
        """Poses for each frame of a batch."""
        return self.postprocess(self.forward(frames))


def global_points(
    out: dict[str, np.ndarray], info: ModelInfo, params: PeakParams
) -> tuple[np.ndarray, np.ndarray]:
    """Refined global peaks of each sample -> model-input (pre-scaling) pixels."""
    cms = out["confmaps"]
    pts, vals = P.global_peaks(cms, params.threshold)
    stride = info.heads["confmaps"].output_stride
    pts = P.refine_global(
        cms, pts, out.get("offsets"), params.refinement, params.patch_size, stride
    )
    return P.grid_to_image(pts, stride, info.input_scale), vals


def local_points(
    cms: np.ndarray,
    offsets: np.ndarray | None,
    stride: float,
    params: PeakParams,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Refined local peaks in model-input pixels (after scaling)."""
    pts, vals, s, ch = P.local_peaks(cms, params.threshold)
    if offsets is not None:
        pts = P.offsets_at(offsets, pts, s, ch, stride)
    else:
        pts = P.refine(cms, pts, s, ch, params.refinement, params.patch_size)
    return pts * stride, vals, s, ch


def check_role(info: ModelInfo, roles: tuple[str, ...], where: str) -> None:
    """Refuse a model of the wrong role with a clear message."""
    if info.role not in roles:
        raise ValueError(
            f"{where}: model role is {info.role!r}; this pipeline needs "
            f"{' or '.join(roles)}"
        )


def empty(info: ModelInfo, n: int) -> list[FramePoses]:
    """``n`` empty results."""
    return [FramePoses.empty(len(info.node_names)) for _ in range(n)]


def class_map_poses(
    pts: list[np.ndarray], vals: list[np.ndarray], class_maps: np.ndarray, stride: int
) -> FramePoses:
    """One frame's bottom-up-id poses: peaks grouped by class maps, empty slots dropped.

    Shared by the TensorFlow layer and the portable one, which differ only in
    where the peaks were found.
    """
    p, pv, isc, csc = group_by_class_maps(pts, vals, class_maps, stride)
    keep = ~np.all(np.isnan(p[..., 0]), axis=1)
    poses = FramePoses(p[keep], pv[keep], isc[keep])
    poses.class_inds = np.nonzero(keep)[0]
    poses.class_scores = csc[keep]
    return poses
