"""Top-down pipeline: centroids on the full frame, then a crop per animal.

Each crop goes through the centered-instance model (with identity vectors for
``centered_instance_id``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_sleap.config.roles import CENTERED_ROLES
from napari_sleap.infer.engine import Runner, bucket, extract_crops
from napari_sleap.infer.layers.base import (
    InferenceLayer,
    PeakParams,
    check_role,
    empty,
    global_points,
    local_points,
)
from napari_sleap.infer.model_io import LoadedModel
from napari_sleap.infer.ops.crops import crop_offsets
from napari_sleap.infer.ops.identity import assign_classes
from napari_sleap.infer.results import FramePoses


class TopDownLayer(InferenceLayer):
    """Centroid model + centered-instance model -> instances per frame.

    Args:
        centroid: the centroid model; None to pass centres to :meth:`forward`.
        instance: the centered-instance (or ``_id``) model.
        max_instances: keep the best centroids per frame (None: all).
        peaks: peak settings of the instance model.
        centroid_peaks: peak settings of the centroid model.
        batch_size: frames per batch (compiled shape).
    """

    def __init__(
        self,
        centroid: LoadedModel | None,
        instance: LoadedModel,
        max_instances: int | None = None,
        peaks: PeakParams | None = None,
        centroid_peaks: PeakParams | None = None,
        batch_size: int = 4,
        **runner_kw: Any,
    ) -> None:
        check_role(instance.info, CENTERED_ROLES, str(instance.folder))
        if centroid is not None:
            check_role(centroid.info, ("centroid",), str(centroid.folder))
            if centroid.info.input_channels != instance.info.input_channels:
                raise ValueError(
                    f"{centroid.folder} takes {centroid.info.input_channels} "
                    f"channel(s) but {instance.folder} takes "
                    f"{instance.info.input_channels}: train both on the same video"
                )
        self.info = instance.info
        self.centroid_info = centroid.info if centroid else None
        # Crop the way the instance model was trained (see ops.crops).
        self.crop_convention = "center" if self.info.source == "sleap1" else "pixel"
        if not self.info.crop_size:
            raise ValueError(f"{instance.folder}: model_info.crop_size is not set")
        self.max_instances = max_instances
        self.peaks = peaks or PeakParams()
        self.centroid_peaks = centroid_peaks or PeakParams()
        self.batch_size = batch_size
        self.centroid_runner = Runner(centroid, **runner_kw) if centroid else None
        self.instance_runner = Runner(instance, **runner_kw)

    def find_centroids(self, frames: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centroids ``(n, 2)`` in image pixels, their values and frame indices."""
        info = self.centroid_info
        out = self.centroid_runner(frames, pad_to=self.batch_size)
        stride = info.heads["confmaps"].output_stride
        pts, vals, s, _ = local_points(
            out["confmaps"], out.get("offsets"), stride, self.centroid_peaks
        )
        pts = pts / info.input_scale
        if self.max_instances is not None and len(pts):
            keep = []
            for i in np.unique(s):
                idx = np.nonzero(s == i)[0]
                keep.extend(idx[np.argsort(-vals[idx])[: self.max_instances]])
            keep = np.sort(np.asarray(keep))
            pts, vals, s = pts[keep], vals[keep], s[keep]
        return pts, vals, s

    def forward(self, frames: Any, centers: list[np.ndarray] | None = None) -> dict:
        """Find centroids and run the instance model on crops around them.

        ``centers`` (one ``(n, 2)`` array per frame) replaces the centroid model.
        """
        import tensorflow as tf

        x = tf.convert_to_tensor(frames)
        n = int(x.shape[0])
        if centers is not None:
            s = np.concatenate([np.full(len(c), i) for i, c in enumerate(centers)])
            pts = np.concatenate([np.reshape(c, (-1, 2)) for c in centers])
            vals = np.ones(len(pts))
        elif self.centroid_runner is None:
            raise ValueError(
                "top-down inference needs a centroid model folder (role "
                "'centroid') besides the centered-instance model"
            )
        else:
            pts, vals, s = self.find_centroids(x)
        offsets = crop_offsets(pts, self.info.crop_size, self.crop_convention)
        raw = {
            "n": n,
            "centers": pts,
            "offsets": offsets,
            "center_vals": vals,
            "sample_inds": s,
        }
        if len(pts):
            crops = extract_crops(x, offsets, s, self.info.crop_size)
            raw["instance"] = self.instance_runner(crops, pad_to=bucket(len(pts)))
        return raw

    def postprocess(self, raw: dict) -> list[FramePoses]:
        """Peaks of each crop mapped back to the frame and grouped by frame."""
        n = raw["n"]
        if len(raw["centers"]) == 0:
            return empty(self.info, n)
        pts, vals = global_points(raw["instance"], self.info, self.peaks)
        pts = pts + raw["offsets"][:, None, :]
        vals = np.where(np.isnan(pts[..., 0]), 0.0, vals)
        vectors = raw["instance"].get("class_vectors")
        out = []
        s = raw["sample_inds"]
        for i in range(n):
            idx = np.nonzero(s == i)[0]
            poses = FramePoses(pts[idx], vals[idx], raw["center_vals"][idx])
            if vectors is not None:
                poses.class_inds, poses.class_scores = assign_classes(vectors[idx])
            out.append(poses)
        return out
