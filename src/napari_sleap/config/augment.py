"""Augmentation settings: how training images vary between epochs.

Animals turn through 360 degrees and appear mirrored, so rotation and
left/right flips are on by default; intensity amounts are in grey levels
(0-255) as in SLEAP 1.x, so SLEAP configs carry over.
"""

from __future__ import annotations

from dataclasses import dataclass

from napari_sleap.config.base import ConfigError


@dataclass
class AugmentConfig:
    """Random changes applied to each training example (never to validation).

    Attributes:
        rotation: rotate about the instance anchor (crops) or frame centre.
        rotation_max_angle: rotations are drawn from [-a, a] degrees; 180 covers
            every heading.
        scale: zoom in or out.
        scale_min: smallest zoom factor.
        scale_max: largest zoom factor.
        translate_max: largest shift in original-frame pixels (each axis).
        flip_probability: chance of a left/right mirror that swaps symmetric
            nodes; 0 turns flips off. Ignored when the skeleton has no symmetries.
        symmetries: left/right node name pairs to swap on a flip; empty means the
            skeleton's own, or pairs guessed from L/R node names when it has none.
        uniform_noise: add uniform noise.
        uniform_noise_min_val: lower bound, grey levels.
        uniform_noise_max_val: upper bound, grey levels.
        gaussian_noise: add Gaussian noise.
        gaussian_noise_mean: mean, grey levels.
        gaussian_noise_stddev: standard deviation, grey levels.
        contrast: apply a random gamma.
        contrast_min_gamma: smallest gamma.
        contrast_max_gamma: largest gamma.
        brightness: add a random offset.
        brightness_min_val: smallest offset, grey levels.
        brightness_max_val: largest offset, grey levels.
        copy_paste_probability: chance per training crop of pasting another
            labeled animal so that it touches the centered one (its nodes are
            not targets; ``napari_sleap.train.copy_paste``); centered-instance
            models only, 0 turns it off.
        copy_paste_gap_min: least distance (frame px) between the nearest
            nodes of the pasted and the centered animal.
        copy_paste_gap_max: largest such distance.
        copy_paste_width: width (frame px) of the pasted animal's mask, drawn
            along its nodes and edges and feathered.
    """

    rotation: bool = True
    rotation_max_angle: float = 180.0
    scale: bool = True
    scale_min: float = 0.9
    scale_max: float = 1.1
    translate_max: float = 0.0
    flip_probability: float = 0.5
    symmetries: list[tuple[str, str]] | None = None
    uniform_noise: bool = False
    uniform_noise_min_val: float = 0.0
    uniform_noise_max_val: float = 10.0
    gaussian_noise: bool = True
    gaussian_noise_mean: float = 0.0
    gaussian_noise_stddev: float = 3.0
    contrast: bool = True
    contrast_min_gamma: float = 0.7
    contrast_max_gamma: float = 1.4
    brightness: bool = True
    brightness_min_val: float = -10.0
    brightness_max_val: float = 10.0
    copy_paste_probability: float = 0.0
    copy_paste_gap_min: float = 2.0
    copy_paste_gap_max: float = 20.0
    copy_paste_width: float = 12.0

    def __post_init__(self) -> None:
        if not 0 <= self.rotation_max_angle <= 180:
            raise ConfigError(
                "rotation_max_angle",
                f"{self.rotation_max_angle} is outside 0..180 (degrees either way)",
            )
        if not 0 < self.scale_min <= self.scale_max:
            raise ConfigError(
                "scale_min",
                f"need 0 < scale_min <= scale_max, got {self.scale_min}, "
                f"{self.scale_max}",
            )
        if not 0 <= self.flip_probability <= 1:
            raise ConfigError(
                "flip_probability", f"{self.flip_probability} is outside 0..1"
            )
        if self.translate_max < 0:
            raise ConfigError("translate_max", "must be >= 0")
        if not 0 <= self.copy_paste_probability <= 1:
            raise ConfigError(
                "copy_paste_probability",
                f"{self.copy_paste_probability} is outside 0..1 (0 turns it off)",
            )
        if not 0 <= self.copy_paste_gap_min <= self.copy_paste_gap_max:
            raise ConfigError(
                "copy_paste_gap_min",
                "need 0 <= copy_paste_gap_min <= copy_paste_gap_max, got "
                f"{self.copy_paste_gap_min}, {self.copy_paste_gap_max}",
            )
        if not self.copy_paste_width > 0:
            raise ConfigError("copy_paste_width", "must be > 0 (pixels)")
        if not 0 < self.contrast_min_gamma <= self.contrast_max_gamma:
            raise ConfigError(
                "contrast_min_gamma",
                "need 0 < contrast_min_gamma <= contrast_max_gamma",
            )
