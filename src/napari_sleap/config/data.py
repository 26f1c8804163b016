"""Data settings: which frames train and validate, and how frames become inputs.

Unset values (``null``) are derived from the labels at training time, the way
SLEAP derives them: crop size from the instances' extent, input scale from the
frame size, anchor node from the skeleton. The resolved values are written to
the model folder's ``config.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from napari_sleap.config.base import ConfigError


@dataclass
class SplitConfig:
    """How labeled frames divide into training and validation.

    Attributes:
        method: ``fraction`` (random frames, fixed by the seed), ``time``
            (validate on frames >= ``val_from_frame``: a later segment, which
            measures generalization honestly) or ``file`` (validate on
            ``val_labels``).
        val_fraction: share of labeled frames held out by ``fraction``.
        val_from_frame: first validation frame for ``time``; null holds out the
            last ``val_fraction`` of the labeled frames in time order.
        val_labels: ``.slp`` file with the validation frames for ``file``.
        train_on_val: train on the validation frames too. They still pick the
            learning-rate steps and the kept checkpoint, but now by fit: for a
            ``time`` split, whose held-out frames are the latest labeled ones and
            so the most like the frames the model will predict next.
    """

    method: Literal["fraction", "time", "file"] = "fraction"
    val_fraction: float = 0.1
    val_from_frame: int | None = None
    val_labels: Path | None = None
    train_on_val: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.val_fraction < 1:
            raise ConfigError("val_fraction", f"{self.val_fraction} is outside [0, 1)")
        if self.method == "file" and self.val_labels is None:
            raise ConfigError(
                "val_labels", "split method 'file' needs val_labels: path/to/val.slp"
            )


@dataclass
class DataConfig:
    """How labeled frames become model inputs and targets.

    Attributes:
        input_scale: resize factor for frames (full-frame models) or crops;
            null derives it: full frames are scaled so the longer side is at
            most ``max_input_size``, crops keep 1.0.
        max_input_size: longest model-input side used to derive ``input_scale``
            (of the whole frame, or of the patch with ``train_patch_size``).
        grayscale: feed one channel; null follows the video.
        crop_size: side of the square instance crop in frame pixels; null
            derives it from the instances (rotation-safe extent + margin).
        crop_margin: pixels added on each side when deriving ``crop_size``.
        anchor_node: node the crop/centroid is centred on; ``auto`` picks the
            always-visible node nearest the body centre; null uses the
            bounding-box centre of the visible nodes.
        train_patch_size: full-frame models (bottom-up, centroid, single):
            train on random square patches of this side (frame px) around an
            animal, at ``input_scale`` (null fits the patch to
            ``max_input_size``), instead of on whole frames; prediction
            still sees the whole frame.
            null, or frames no larger than a patch, train on whole frames.
        split: train/validation split.
        threads: threads making training examples; more keep a GPU fed. The
            example stream depends on the seed and this number only.
    """

    input_scale: float | None = None
    max_input_size: int = 512
    grayscale: bool | None = None
    crop_size: int | None = None
    crop_margin: int = 16
    anchor_node: str | None = "auto"
    train_patch_size: int | None = None
    split: SplitConfig = field(default_factory=SplitConfig)
    threads: int = 2

    def __post_init__(self) -> None:
        if self.input_scale is not None and not 0 < self.input_scale <= 4:
            raise ConfigError("input_scale", f"{self.input_scale} is outside (0, 4]")
        if self.crop_size is not None and self.crop_size < 8:
            raise ConfigError("crop_size", f"{self.crop_size} is too small (>= 8)")
        if self.train_patch_size is not None and not (
            32 <= self.train_patch_size <= 4096
        ):
            raise ConfigError(
                "train_patch_size",
                f"{self.train_patch_size} is outside 32..4096 (frame pixels; "
                "null trains on whole frames)",
            )
        if not 1 <= self.threads <= 64:
            raise ConfigError("threads", f"{self.threads} is outside 1..64")
        if self.max_input_size < 16:
            raise ConfigError("max_input_size", "must be >= 16")
