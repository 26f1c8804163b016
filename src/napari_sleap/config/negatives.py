"""Other animals as negatives: settings for centered-instance training.

A crop around one animal often holds parts of another (flies touching). Its
target map is ~0 there, but a plain MSE barely charges the model for firing on
the other animal's legs; this raises the per-pixel loss weight around the other
instances' nodes inside the crop (``napari_sleap.nn.data.negatives``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from napari_sleap.config.base import ConfigError


@dataclass
class OtherInstanceNegativesConfig:
    """Extra loss weight around other animals' nodes in a centered-instance crop.

    Attributes:
        enabled: weight the confidence-map loss by ``1 + weight * G`` where
            ``G`` is a Gaussian bump (max over nodes) at every visible node of
            the other instances in the crop. Centered-instance models only.
            Off: on the fly clip at 2,000 steps (weight 4) it lowered
            validation OKS mAP 0.56 -> 0.38 and raised left/right swaps
            31 -> 130 of ~750 (docs/benchmarks.md, issue 15).
        weight: extra weight at the centre of each other-instance node (a pixel
            there counts ``1 + weight`` times). Default 4.
        sigma: spread of each bump, model-input pixels; null uses the
            confidence maps' sigma. Default null.
    """

    enabled: bool = False
    weight: float = 4.0
    sigma: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.weight) and self.weight > 0):
            raise ConfigError("weight", f"must be a number > 0, got {self.weight}")
        if self.sigma is not None and not (
            math.isfinite(self.sigma) and self.sigma > 0
        ):
            raise ConfigError(
                "sigma",
                f"must be > 0 (or null for the confmaps' sigma), got {self.sigma}",
            )


def check_negatives_role(role: str, cfg: OtherInstanceNegativesConfig) -> None:
    """Refuse the setting on a model that has no other instances in its input.

    Raises:
        ConfigError: enabled on a role other than a centered-instance one.
    """
    from napari_sleap.config.roles import require_centered_role

    require_centered_role(
        role,
        cfg.enabled,
        "optim.other_instance_negatives.enabled",
        "see other animals in a crop",
    )
