"""Optimization settings: Adam, learning-rate schedule, stopping and mining."""

from __future__ import annotations

from dataclasses import dataclass, field

from napari_sleap.config.base import ConfigError
from napari_sleap.config.negatives import OtherInstanceNegativesConfig
from napari_sleap.config.pose_balance import PoseBalancedSamplingConfig


@dataclass
class HardKeypointMiningConfig:
    """Online hard keypoint mining: extra weight on the worst-fitting nodes.

    Attributes:
        enabled: add the mined term to the confidence-map loss.
        hard_to_easy_ratio: a node is hard when its loss is this many times the
            batch's smallest node loss.
        min_hard_keypoints: always mine at least this many nodes.
        max_hard_keypoints: never mine more than this many (null = no cap).
        loss_scale: weight of the mined term.
    """

    enabled: bool = False
    hard_to_easy_ratio: float = 2.0
    min_hard_keypoints: int = 2
    max_hard_keypoints: int | None = None
    loss_scale: float = 5.0


@dataclass
class OptimConfig:
    """How long and how fast to train.

    Attributes:
        batch_size: examples per step.
        learning_rate: initial Adam learning rate.
        epochs: maximum number of epochs.
        steps_per_epoch: training steps per epoch; null = one pass over the
            training examples, at least ``min_steps_per_epoch``.
        min_steps_per_epoch: lower bound for the derived epoch length.
        val_batches: validation batches per epoch; null = all.
        plateau_patience: epochs without improvement before the rate is cut.
        plateau_factor: multiplier applied to the rate on a plateau.
        plateau_min_delta: improvement in validation loss that counts.
        min_learning_rate: the rate is never cut below this.
        early_stopping: stop when validation loss stops improving.
        early_stopping_patience: epochs without improvement before stopping.
        early_stopping_min_delta: improvement that resets the patience.
        max_minutes: wall-clock budget for this model; null = no limit.
        hard_keypoint_mining: online hard keypoint mining.
        other_instance_negatives: extra loss weight around the other animals'
            nodes in a centered-instance crop (off by default).
        pose_balanced_sampling: draw centered-instance examples with rare
            poses more often (off by default).
    """

    batch_size: int = 4
    learning_rate: float = 1e-4
    epochs: int = 200
    steps_per_epoch: int | None = None
    min_steps_per_epoch: int = 50
    val_batches: int | None = None
    plateau_patience: int = 5
    plateau_factor: float = 0.5
    plateau_min_delta: float = 1e-8
    min_learning_rate: float = 1e-8
    early_stopping: bool = True
    early_stopping_patience: int = 10
    early_stopping_min_delta: float = 1e-8
    max_minutes: float | None = None
    hard_keypoint_mining: HardKeypointMiningConfig = field(
        default_factory=HardKeypointMiningConfig
    )
    other_instance_negatives: OtherInstanceNegativesConfig = field(
        default_factory=OtherInstanceNegativesConfig
    )
    pose_balanced_sampling: PoseBalancedSamplingConfig = field(
        default_factory=PoseBalancedSamplingConfig
    )

    def __post_init__(self) -> None:
        for name in ("batch_size", "epochs", "min_steps_per_epoch"):
            if getattr(self, name) < 1:
                raise ConfigError(name, f"must be >= 1, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ConfigError("learning_rate", "must be > 0")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ConfigError("steps_per_epoch", "must be >= 1 or null")
        if not 0 < self.plateau_factor < 1:
            raise ConfigError("plateau_factor", "must be between 0 and 1")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ConfigError("max_minutes", "must be > 0 or null")
        if self.other_instance_negatives.enabled and self.hard_keypoint_mining.enabled:
            raise ConfigError(
                "other_instance_negatives.enabled",
                "cannot be combined with hard_keypoint_mining (both replace the "
                "confidence-map loss); turn one of them off",
            )
