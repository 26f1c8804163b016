"""UNet backbone: conv blocks down to the max stride, back up with skip connections.

Stacked UNets (``stacks > 1``) run a second UNet on the first one's finest
features; each stack's heads are supervised (intermediate supervision).
"""

from __future__ import annotations

from typing import Any

from keras import layers

from napari_sleap.config.model import UNetConfig, levels
from napari_sleap.nn.architectures.common import (
    Features,
    StackCallback,
    conv_block,
    join,
    scaled_filters,
    upsample,
)


def _unet_stack(
    x: Any, cfg: UNetConfig, in_stride: int, prefix: str
) -> tuple[dict[int, Any], Any]:
    """One UNet from ``in_stride`` down to max stride and up to output stride."""
    n_down = levels(in_stride, cfg.max_stride)
    skips: dict[int, Any] = {}
    for i in range(n_down):
        stride = in_stride * 2**i
        x = conv_block(
            x,
            scaled_filters(cfg.filters, cfg.filters_rate, i),
            cfg.convs_per_block,
            f"{prefix}enc{i}",
            cfg.kernel_size,
            cfg.batch_norm,
        )
        skips[stride] = x
        x = layers.MaxPooling2D(2, padding="same", name=f"{prefix}enc{i}_pool")(x)
    if cfg.middle_block:
        x = conv_block(
            x,
            scaled_filters(cfg.filters, cfg.filters_rate, n_down),
            cfg.convs_per_block,
            f"{prefix}middle",
            cfg.kernel_size,
            cfg.batch_norm,
        )
    bottleneck = x
    features = {cfg.max_stride: x}
    stride = cfg.max_stride
    i = n_down
    while stride > cfg.output_stride:
        i -= 1
        stride //= 2
        filters = scaled_filters(cfg.filters, cfg.filters_rate, i)
        x = upsample(x, filters, cfg.upsampling, f"{prefix}dec{i}")
        if stride in skips:
            x = join(x, skips[stride], cfg.skip_connections, f"{prefix}dec{i}")
        x = conv_block(
            x,
            filters,
            cfg.convs_per_block,
            f"{prefix}dec{i}",
            cfg.kernel_size,
            cfg.batch_norm,
        )
        features[stride] = x
    return features, bottleneck


def build_unet(
    x: Any, cfg: UNetConfig, on_stack: StackCallback | None = None
) -> Features:
    """Apply a (stacked) UNet to input tensor ``x``.

    Args:
        x: the model input (after any preprocessing).
        cfg: the UNet settings.
        on_stack: called after each stack but the last (see
            :data:`StackCallback`); a returned tensor is concatenated to the
            next stack's input.
    """
    out = Features(output_stride=cfg.output_stride, max_stride=cfg.max_stride)
    in_stride = 1
    for k in range(cfg.stacks):
        prefix = f"unet{k}_" if cfg.stacks > 1 else "unet_"
        features, bottleneck = _unet_stack(x, cfg, in_stride, prefix)
        out.stacks.append(features)
        out.bottleneck = bottleneck
        if k == cfg.stacks - 1:
            break
        extra = on_stack(k, features, bottleneck) if on_stack else None
        x = features[cfg.output_stride]
        if extra is not None:
            x = layers.Concatenate(name=f"{prefix}feedback")([x, extra])
        in_stride = cfg.output_stride
    return out
