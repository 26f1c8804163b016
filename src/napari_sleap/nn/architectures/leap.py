"""LEAP CNN backbone: plain conv blocks down, transposed convs up, no skips."""

from __future__ import annotations

from typing import Any

from keras import layers

from napari_sleap.config.model import LEAPConfig, levels
from napari_sleap.nn.architectures.common import (
    Features,
    StackCallback,
    conv_block,
    scaled_filters,
    upsample,
)


def build_leap(
    x: Any, cfg: LEAPConfig, on_stack: StackCallback | None = None
) -> Features:
    """Apply a LEAP CNN to input tensor ``x`` (one stack, so ``on_stack`` is unused)."""
    n_down = levels(1, cfg.max_stride)
    for i in range(n_down):
        x = conv_block(
            x,
            scaled_filters(cfg.filters, cfg.filters_rate, i),
            cfg.convs_per_block,
            f"leap_enc{i}",
            batch_norm=cfg.batch_norm,
        )
        x = layers.MaxPooling2D(2, padding="same", name=f"leap_enc{i}_pool")(x)
    x = conv_block(
        x,
        scaled_filters(cfg.filters, cfg.filters_rate, n_down),
        cfg.convs_per_block,
        "leap_middle",
        batch_norm=cfg.batch_norm,
    )
    bottleneck = x
    features = {cfg.max_stride: x}
    stride, i = cfg.max_stride, n_down
    while stride > cfg.output_stride:
        i -= 1
        stride //= 2
        filters = scaled_filters(cfg.filters, cfg.filters_rate, i)
        x = upsample(x, filters, cfg.upsampling, f"leap_dec{i}")
        x = conv_block(
            x, filters, cfg.convs_per_block, f"leap_dec{i}", batch_norm=cfg.batch_norm
        )
        features[stride] = x
    return Features(
        stacks=[features],
        bottleneck=bottleneck,
        output_stride=cfg.output_stride,
        max_stride=cfg.max_stride,
    )
