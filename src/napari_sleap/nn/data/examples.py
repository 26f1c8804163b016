"""Labeled frames -> (image, targets) training examples, in numpy.

A :class:`FrameSample` is one labeled frame's user instances; an
:class:`ExampleMaker` turns a sample (and, for centered-instance models, one of
its instances) into a model input and the targets of every head the model
has, with or without random augmentation. The geometry comes from the
model's :class:`~napari_sleap.nn.model_info.ModelInfo`, the same record
inference reads, so training and inference preprocess alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from napari_sleap.config.roles import CENTERED_ROLES
from napari_sleap.nn.data.animal_patches import patch_center, patch_input_side
from napari_sleap.nn.data.augment import (
    augment_intensity,
    draw_geometry,
    flip_points,
)
from napari_sleap.nn.data.class_maps import make_class_maps, make_class_vector
from napari_sleap.nn.data.confmaps import instance_centers, make_confmaps, make_offsets
from napari_sleap.nn.data.crops import (
    apply_points,
    crop_matrices,
    frame_matrices,
    model_input_shape,
    pad_to_stride,
    scaled_size,
    warp_image,
)
from napari_sleap.nn.data.negatives import negative_weights, pack
from napari_sleap.nn.data.pafs import make_pafs
from napari_sleap.nn.model_info import ModelInfo


@dataclass
class FrameSample:
    """The user-labeled instances of one frame.

    Attributes:
        video_index: index of the video in ``labels.videos``.
        frame_index: frame number in that video.
        points: ``(n_instances, n_nodes, 2)`` (x, y); NaN where not visible.
        class_ids: ``(n_instances,)`` index into the class names, -1 for none.
    """

    video_index: int
    frame_index: int
    points: np.ndarray
    class_ids: np.ndarray

    @property
    def key(self) -> tuple[int, int]:
        """``(video_index, frame_index)``: the frame's identity."""
        return (self.video_index, self.frame_index)


def collect_samples(labels, class_names: list[str] | None = None) -> list[FrameSample]:
    """User instances of every labeled frame (predictions are never trained on).

    Frames without a user instance with a visible node are skipped.
    """
    names = list(class_names or [])
    samples = []
    for lf in labels.labeled_frames:
        pts, cls = [], []
        for inst in lf.user_instances:
            arr = np.asarray(inst.numpy(), dtype=np.float64)[:, :2]
            if not np.isfinite(arr).all(axis=1).any():
                continue
            pts.append(arr)
            track = inst.track.name if inst.track is not None else None
            cls.append(names.index(track) if track in names else -1)
        if pts:
            samples.append(
                FrameSample(
                    video_index=labels.videos.index(lf.video),
                    frame_index=int(lf.frame_idx),
                    points=np.stack(pts),
                    class_ids=np.asarray(cls, dtype=np.int64),
                )
            )
    return samples


class ExampleMaker:
    """Build model inputs and targets for one model from frame samples.

    Args:
        info: the model's geometry and heads.
        frame_shape: ``(height, width)`` of the largest frame (full-frame
            models are padded to it).
        augment: an ``AugmentConfig``, or None for no augmentation.
        flip_permutation: node order after a left/right flip; None disables
            flips.
        negatives: an enabled ``OtherInstanceNegativesConfig`` appends a loss
            weight channel (other instances' nodes) to the confmaps target of
            centered models; None for plain targets.
        paste: ``paste(image, points, instance, sample, image_matrix, rng)``
            returning the uint8 crop with another animal pasted in (copy-paste
            augmentation, ``napari_sleap.train.copy_paste``); used only when
            augmenting a centered crop. Targets never change.
        patch_size: full-frame models only: train on square patches of this
            side (frame px, full resolution at ``info.input_scale``) around a
            random animal instead of the whole frame
            (``napari_sleap.nn.data.animal_patches``); None = whole frames.
    """

    def __init__(
        self,
        info: ModelInfo,
        frame_shape: tuple[int, int],
        augment=None,
        flip_permutation: np.ndarray | None = None,
        negatives=None,
        paste: Callable[..., np.ndarray] | None = None,
        patch_size: int | None = None,
    ) -> None:
        self.info = info
        self.paste = paste
        self.frame_shape = (int(frame_shape[0]), int(frame_shape[1]))
        self.augment = augment
        self.flip_permutation = flip_permutation
        self.centered = info.role in CENTERED_ROLES
        self.negatives = negatives if self.centered and negatives else None
        names = info.node_names
        self.anchor = names.index(info.anchor_node) if info.anchor_node else None
        if self.centered:
            if not info.crop_size:
                raise ValueError(f"{info.role} model needs model_info.crop_size")
            side = pad_to_stride(
                scaled_size(info.crop_size, info.input_scale), info.max_stride
            )
            self.input_shape = (side, side)
            self.patch_side = None
        elif patch_size:
            side = patch_input_side(patch_size, info.input_scale, info.max_stride)
            self.input_shape = (side, side)
            #: Patch side in frame px (the padded input side, unscaled).
            self.patch_side = side / info.input_scale
        else:
            self.patch_side = None
            self.input_shape = model_input_shape(
                *self.frame_shape, info.input_scale, info.max_stride
            )

    def items(self, samples: list[FrameSample]) -> list[tuple[int, int]]:
        """``(sample index, instance index)`` per example (-1 = whole frame)."""
        if not self.centered:
            return [(i, -1) for i in range(len(samples))]
        out = []
        for i, s in enumerate(samples):
            centers = instance_centers(s.points, self.anchor)
            out.extend(
                (i, k) for k in range(len(s.points)) if np.isfinite(centers[k]).all()
            )
        return out

    def make(
        self,
        sample: FrameSample,
        instance: int,
        frame: np.ndarray,
        rng: np.random.Generator | None = None,
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One example: float32 image in [0, 1] and a target per head kind.

        Args:
            sample: the labeled frame.
            instance: instance index for centered models (-1 otherwise).
            frame: the decoded frame ``(H, W, C)`` uint8.
            rng: random generator; None means no augmentation.
        """
        info = self.info
        points = sample.points
        if self.centered:
            # The anchor is the crop's middle: augmenting about it keeps the
            # animal centred and makes flips exact mirrors of the crop.
            center = instance_centers(points[instance : instance + 1], self.anchor)[0]
            m_pts, m_img = crop_matrices(center, info.crop_size, info.input_scale)
        elif self.patch_side is not None:
            # Rotating about the patch centre keeps the chosen animal inside.
            center = patch_center(points, self.patch_side, self.anchor, rng)
            m_pts, m_img = crop_matrices(center, self.patch_side, info.input_scale)
        else:
            height, width = frame.shape[:2]
            center = np.array([(width - 1) / 2, (height - 1) / 2])
            m_pts, m_img = frame_matrices(info.input_scale)
        aug = self.augment if rng is not None else None
        if aug is not None:
            draw = draw_geometry(aug, rng, self.flip_permutation is not None)
            geo = draw.matrix(center)
            m_pts, m_img = m_pts @ geo, m_img @ geo
            if draw.flip:
                points = flip_points(points, self.flip_permutation)
        h, w = self.input_shape
        image = warp_image(frame, m_img, h, w)
        pts = apply_points(m_pts, points)
        if aug is not None and self.paste is not None and instance >= 0:
            image = self.paste(image, pts, instance, sample, m_img, rng)
        if aug is not None:
            image = augment_intensity(image, aug, rng)
        else:
            image = image.astype(np.float32) / 255.0
        return image, self.targets(pts, sample.class_ids, instance)

    def targets(
        self, pts: np.ndarray, class_ids: np.ndarray, instance: int
    ) -> dict[str, np.ndarray]:
        """Targets of every head from points already in model-input pixels."""
        info = self.info
        h, w = self.input_shape
        if info.role == "centroid":
            conf_pts = instance_centers(pts, self.anchor)[:, None, :]
        elif self.centered:
            conf_pts = pts[instance : instance + 1]
        elif info.role == "single_instance":
            conf_pts = pts[:1]
        else:
            conf_pts = pts
        out: dict[str, np.ndarray] = {}
        for kind, head in info.heads.items():
            stride, sigma = head.output_stride, head.sigma or 1.0
            if kind == "confmaps":
                out[kind] = make_confmaps(conf_pts, h, w, stride, sigma)
                if self.negatives is not None:
                    neg = self.negatives
                    others = np.delete(pts, instance, axis=0)
                    weights = negative_weights(
                        others, h, w, stride, neg.sigma or sigma, neg.weight
                    )
                    out[kind] = pack(out[kind], weights)
            elif kind == "offsets":
                sigma = info.heads["confmaps"].sigma or 1.0
                out[kind] = make_offsets(conf_pts, h, w, stride, sigma)
            elif kind == "pafs":
                out[kind] = make_pafs(pts, info.edges, h, w, stride, sigma)
            elif kind == "class_maps":
                n = len(info.class_names)
                out[kind] = make_class_maps(pts, class_ids, n, h, w, stride, sigma)
            elif kind == "class_vectors":
                cls = int(class_ids[instance]) if instance >= 0 else -1
                out[kind] = make_class_vector(cls, len(info.class_names))
        return out

    def output_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape of each target (without the batch axis)."""
        h, w = self.input_shape
        shapes = {}
        for kind, head in self.info.heads.items():
            if kind == "class_vectors":
                shapes[kind] = (head.channels,)
            else:
                s = head.output_stride
                extra = int(kind == "confmaps" and self.negatives is not None)
                shapes[kind] = (-(-h // s), -(-w // s), head.channels + extra)
        return shapes
