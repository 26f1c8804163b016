"""Backbones: functions that build Keras functional graphs from a backbone config.

Each takes the input tensor, its config and an optional per-stack callback and
returns :class:`~napari_sleap.nn.architectures.common.Features`. This package
module imports Keras only when a backbone is built, so the TF-free parts
(:mod:`.receptive_field`) load without TensorFlow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from napari_sleap.config.model import BackboneConfig

if TYPE_CHECKING:
    from napari_sleap.nn.architectures.common import Features, StackCallback


def build_backbone(
    x: Any, cfg: BackboneConfig, on_stack: StackCallback | None = None
) -> Features:
    """Apply the backbone chosen in ``cfg`` to input tensor ``x``."""
    choice = cfg.choice
    if choice == "unet":
        from napari_sleap.nn.architectures.unet import build_unet

        return build_unet(x, cfg.unet, on_stack)
    if choice == "leap":
        from napari_sleap.nn.architectures.leap import build_leap

        return build_leap(x, cfg.leap, on_stack)
    if choice == "hourglass":
        from napari_sleap.nn.architectures.hourglass import build_hourglass

        return build_hourglass(x, cfg.hourglass, on_stack)
    from napari_sleap.nn.architectures.encoders import build_encoder

    return build_encoder(x, cfg.encoder, on_stack)


__all__ = ["build_backbone"]
