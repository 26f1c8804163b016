"""Check labels against a training config and derive everything left unset.

Nothing here writes to disk: ``napari-sleap train`` prepares every model of a
pipeline first, so bad labels or configs stop it before any folder exists.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from napari_sleap.config.base import ConfigError
from napari_sleap.config.roles import CENTERED_ROLES
from napari_sleap.config.training import TrainingConfig
from napari_sleap.nn.data.confmaps import instance_centers
from napari_sleap.nn.data.crops import derive_crop_size
from napari_sleap.nn.data.examples import FrameSample, collect_samples
from napari_sleap.nn.data.frames import read_frames
from napari_sleap.nn.data.skeleton import (
    choose_anchor,
    propose_symmetries,
    skeleton_symmetries,
    symmetry_permutation,
)
from napari_sleap.nn.model_info import ModelInfo
from napari_sleap.progress import ProgressFn, StopFlag
from napari_sleap.train.split import split_samples


@dataclass
class TrainingSet:
    """The resolved config, model info and data of one model to train.

    Attributes:
        config: the config with every derived value filled in.
        info: model info (heads are added when the model is built).
        labels: the training labels.
        labels_path: where they were read from, if a file.
        train: training samples.
        val: validation samples.
        val_labels: labels the validation samples index (``labels`` unless the
            split came from a file).
        frame_shape: (height, width) of the largest video.
        flip_permutation: node order after a flip, None without symmetries.
        frames: decoded frames by (labels id, video, frame), filled by
            :meth:`load_frames`.
    """

    config: TrainingConfig
    info: ModelInfo
    labels: object
    labels_path: Path | None
    train: list[FrameSample]
    val: list[FrameSample]
    val_labels: object
    frame_shape: tuple[int, int]
    flip_permutation: np.ndarray | None
    frames: dict = field(default_factory=dict)

    def load_frames(
        self,
        cache: dict | None = None,
        progress: ProgressFn | None = None,
        stop: StopFlag | None = None,
    ) -> None:
        """Decode the frames of all samples (shared through ``cache`` across models)."""
        cache = self.frames if cache is None else cache
        channels = self.info.input_channels
        for labels, samples in ((self.labels, self.train), (self.val_labels, self.val)):
            keys = [
                s.key for s in samples if (id(labels), channels, *s.key) not in cache
            ]
            if keys:
                got = read_frames(labels, keys, channels, progress, stop)
                cache.update({(id(labels), channels, *k): f for k, f in got.items()})
        self.frames = cache

    def frame(self, sample: FrameSample, val: bool = False) -> np.ndarray:
        """Decoded frame of a training (or validation) sample."""
        labels = self.val_labels if val else self.labels
        return self.frames[(id(labels), self.info.input_channels, *sample.key)]


def load_training_labels(path: str | Path):
    """Read a labels file for training, with errors that name it and the fix."""
    from napari_sleap.io.labels import load_labels

    return load_labels(path)


def check_labels(labels, role: str, where: str = "labels") -> None:
    """Raise ``ValueError`` if ``labels`` cannot train a ``role`` model.

    Checks: user-labeled instances exist, one skeleton, videos known,
    one instance per frame for single-instance models, named tracks for
    identity models, edges for bottom-up models.
    """
    skeletons = {id(s) for s in labels.skeletons}
    used = {id(i.skeleton) for lf in labels for i in lf.user_instances}
    if len(labels.skeletons) > 1 or len(used) > 1:
        names = [s.name for s in labels.skeletons]
        raise ValueError(
            f"{where}: instances use {max(len(used), len(skeletons))} different "
            f"skeletons ({names}); a model learns one skeleton: keep one (e.g. with "
            "sleap-io's Labels.merge or by relabeling) and train again"
        )
    n_inst = sum(len(lf.user_instances) for lf in labels)
    if n_inst == 0:
        raise ValueError(
            f"{where}: no user-labeled instances to train on (predictions are not "
            "used); label some frames first"
        )
    if not labels.videos:
        raise ValueError(f"{where}: no videos")
    check_coordinates(labels, where)
    skeleton = labels.skeletons[0]
    if role == "single_instance":
        most = max(len(lf.user_instances) for lf in labels)
        if most > 1:
            raise ValueError(
                f"{where}: up to {most} animals per frame, but the single pipeline "
                "handles one; use --pipeline top-down or bottom-up"
            )
    if role.endswith("_id"):
        names = track_names(labels)
        if len(names) < 2:
            raise ValueError(
                f"{where}: {role} needs instances assigned to at least 2 named "
                f"tracks (found {names}); assign tracks or drop the -id pipeline"
            )
    if role == "bottom_up" and not skeleton.edges:
        raise ValueError(
            f"{where}: the skeleton has no edges, which bottom-up models need for "
            "PAFs; add edges or use --pipeline top-down"
        )


def check_coordinates(labels, where: str = "labels") -> None:
    """Refuse labeled points that are infinite or far outside their frame.

    A point more than one frame size outside the frame cannot be a position
    (a typo, a unit mix-up or a damaged file) and would make the crop size or
    the confidence maps absurd; all-missing labels leave nothing to learn.

    Raises:
        ValueError: naming the video, frame, instance and node, and the fix.
    """
    shapes: dict[int, tuple[int, int] | None] = {}
    bad: list[str] = []
    n_bad = n_visible = 0
    for lf in labels:
        key = id(lf.video)
        if key not in shapes:
            try:
                shape = lf.video.shape
            except Exception:  # noqa: BLE001 - unreadable videos fail later
                shape = None
            shapes[key] = (int(shape[1]), int(shape[2])) if shape else None
        hw = shapes[key]
        for k, inst in enumerate(lf.user_instances):
            xy = np.asarray(inst.numpy(), dtype=float)
            names = inst.skeleton.node_names
            for n, (x, y) in enumerate(xy):
                if math.isnan(x) or math.isnan(y):
                    continue
                n_visible += 1
                far = not (math.isfinite(x) and math.isfinite(y))
                if not far and hw is not None:
                    h, w = hw
                    far = not (-w <= x <= 2 * w and -h <= y <= 2 * h)
                if far:
                    n_bad += 1
                    if len(bad) < 5:
                        bad.append(
                            f"{Path(str(lf.video.filename)).name} frame "
                            f"{lf.frame_idx}, instance {k}, node {names[n]!r}: "
                            f"({x:.4g}, {y:.4g})"
                        )
    if n_bad:
        size = ", ".join(f"{w}x{h}" for h, w in {s for s in shapes.values() if s})
        more = f" and {n_bad - len(bad)} more" if n_bad > len(bad) else ""
        raise ValueError(
            f"{where}: {n_bad} labeled point(s) lie far outside the frame "
            f"({size or 'size unknown'}) or are infinite: "
            + "; ".join(bad)
            + more
            + ". Fix: correct or delete these points in napari and save"
        )
    if n_visible == 0:
        raise ValueError(
            f"{where}: every labeled point is missing (NaN or marked not "
            "visible), so there is nothing to learn. Fix: label visible points in "
            "napari and save"
        )


def track_names(labels) -> list[str]:
    """Names of the tracks used by user instances, in the file's track order."""
    used = {
        i.track.name for lf in labels for i in lf.user_instances if i.track is not None
    }
    return [t.name for t in labels.tracks if t.name in used]


def prepare(
    config: TrainingConfig,
    labels,
    labels_path: str | Path | None = None,
) -> TrainingSet:
    """Validate ``labels`` for ``config`` and resolve every derived setting.

    Returns a :class:`TrainingSet` whose ``config`` has crop size, input scale,
    anchor, symmetries and epoch length filled in.

    Raises:
        ValueError: bad labels (``ConfigError`` for bad config values).
    """
    where = str(labels_path) if labels_path else "labels"
    cfg = copy.deepcopy(config)
    role = cfg.role
    check_labels(labels, role, where)
    skeleton = labels.skeletons[0]
    names = list(skeleton.node_names)
    classes = track_names(labels) if role.endswith("_id") else []
    samples = collect_samples(labels, classes)
    train_idx, val_idx = split_samples(samples, cfg.data.split, cfg.seed)
    train = [samples[i] for i in train_idx]
    val = [samples[i] for i in val_idx]
    val_labels = labels
    if cfg.data.split.method == "file":
        val_labels = load_training_labels(cfg.data.split.val_labels)
        if list(val_labels.skeletons[0].node_names) != names:
            raise ValueError(
                f"{cfg.data.split.val_labels}: its skeleton nodes differ from "
                f"{where}'s; validation labels must use the same skeleton"
            )
        val = collect_samples(val_labels, classes)
    train_pts = np.concatenate([s.points for s in train])

    # Channels and frame size from the videos.
    shapes = [v.shape for v in labels.videos if v.shape is not None]
    if not shapes:
        raise ValueError(f"{where}: cannot read the size of its videos")
    frame_shape = (max(s[1] for s in shapes), max(s[2] for s in shapes))
    channels = 1 if cfg.data.grayscale else max(s[3] for s in shapes)
    if cfg.data.grayscale is False and channels == 1:
        channels = 3
    cfg.data.grayscale = channels == 1

    # Anchor node.
    anchor = cfg.data.anchor_node
    if anchor == "auto":
        anchor = choose_anchor(train_pts, names)
    elif anchor is not None and anchor not in names:
        raise ConfigError(
            "data.anchor_node",
            f"{anchor!r} is not a node of the skeleton; use one of {names}, "
            "'auto' or null (bounding-box centre)",
        )
    cfg.data.anchor_node = anchor
    anchor_idx = names.index(anchor) if anchor else None

    # Training patches, input scale and crop size.
    centered = role in CENTERED_ROLES
    patch = cfg.data.train_patch_size
    if patch is not None and centered:
        raise ConfigError(
            "data.train_patch_size",
            f"applies to full-frame models, not {role} (its crops are "
            "data.crop_size); remove it or set it to null",
        )
    if patch is not None and patch >= max(frame_shape):
        # Frames no larger than a patch: whole frames are the patches.
        cfg.data.train_patch_size = patch = None
    if cfg.data.input_scale is None:
        # What the model is trained on (whole frame or patch) fits max_input_size.
        side = patch or max(frame_shape)
        whole = min(1.0, cfg.data.max_input_size / side)
        cfg.data.input_scale = 1.0 if centered else whole
    max_stride = cfg.model.backbone.max_stride
    if centered:
        if cfg.data.crop_size is None:
            centers = instance_centers(train_pts, anchor_idx)
            cfg.data.crop_size = derive_crop_size(
                train_pts,
                centers,
                max_stride,
                cfg.data.input_scale,
                cfg.data.crop_margin,
            )
    else:
        cfg.data.crop_size = None

    # Left/right symmetries for flips.
    if cfg.augment.symmetries:
        pairs = []
        for a, b in cfg.augment.symmetries:
            for n in (a, b):
                if n not in names:
                    raise ConfigError(
                        "augment.symmetries", f"{n!r} is not a node; nodes: {names}"
                    )
            pairs.append(
                (
                    min(names.index(a), names.index(b)),
                    max(names.index(a), names.index(b)),
                )
            )
    else:
        pairs = skeleton_symmetries(skeleton) or propose_symmetries(names)
    cfg.augment.symmetries = [(names[a], names[b]) for a, b in pairs]
    flip_perm = symmetry_permutation(len(names), pairs) if pairs else None
    if cfg.augment.flip_probability == 0:
        flip_perm = None

    info = ModelInfo(
        role=role,
        node_names=names,
        edges=[tuple(e) for e in skeleton.edge_inds],
        symmetries=pairs,
        input_scale=float(cfg.data.input_scale),
        input_channels=channels,
        max_stride=max_stride,
        crop_size=cfg.data.crop_size,
        anchor_node=anchor,
        class_names=classes,
    )

    # Epoch length.
    if cfg.optim.steps_per_epoch is None:
        n_items = sum(len(s.points) for s in train) if centered else len(train)
        cfg.optim.steps_per_epoch = max(
            math.ceil(n_items / cfg.optim.batch_size), cfg.optim.min_steps_per_epoch
        )
    return TrainingSet(
        config=cfg,
        info=info,
        labels=labels,
        labels_path=Path(labels_path) if labels_path else None,
        train=train,
        val=val,
        val_labels=val_labels,
        frame_shape=frame_shape,
        flip_permutation=flip_perm,
    )
