"""Pose-balanced example sampling: settings for centered-instance training.

A behaviour seen in few training animals (one wing held out) is drawn as often
as any other example, so a fixed step budget teaches it little; this draws
examples with rare poses more often (``napari_sleap.nn.data.pose_balance``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from napari_sleap.config.base import ConfigError


@dataclass
class PoseBalancedSamplingConfig:
    """Draw training instances with rare poses more often.

    Attributes:
        enabled: draw each epoch's examples with replacement, each instance
            with probability proportional to ``rarity ** strength``, where
            rarity is its pose's mean distance to its nearest neighbours among
            the training poses (anchor-centred, turned to a common heading).
            Centered-instance models only; on in the centered_instance
            profile (fly clip, 2,000 steps: validation OKS mAP 0.56 / 0.52 ->
            0.70 / 0.66 on two seeds; docs/benchmarks.md, issue 15).
        strength: exponent on the rarity; 0 gives uniform draws. Default 1.
        neighbors: nearest neighbours averaged for the rarity. Default 5.
        max_ratio: no instance is drawn more than this many times as often
            as the median one (nor less than its inverse). Default 5.
    """

    enabled: bool = False
    strength: float = 1.0
    neighbors: int = 5
    max_ratio: float = 5.0

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ConfigError("enabled", f"must be true or false, got {self.enabled!r}")
        if not (_number(self.strength) and self.strength >= 0):
            raise ConfigError(
                "strength",
                f"must be a number >= 0 (0 = uniform), got {self.strength!r}",
            )
        if isinstance(self.neighbors, bool) or not isinstance(self.neighbors, int):
            raise ConfigError(
                "neighbors", f"must be an integer >= 1, got {self.neighbors!r}"
            )
        if self.neighbors < 1:
            raise ConfigError(
                "neighbors", f"must be an integer >= 1, got {self.neighbors}"
            )
        if not (_number(self.max_ratio) and self.max_ratio >= 1):
            raise ConfigError(
                "max_ratio", f"must be a number >= 1, got {self.max_ratio!r}"
            )


def _number(value) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def check_pose_balance_role(role: str, cfg: PoseBalancedSamplingConfig) -> None:
    """Refuse the setting on a model whose examples are whole frames.

    Raises:
        ConfigError: enabled on a role other than a centered-instance one.
    """
    from napari_sleap.config.roles import require_centered_role

    require_centered_role(
        role,
        cfg.enabled,
        "optim.pose_balanced_sampling.enabled",
        "draw one example per animal",
    )
