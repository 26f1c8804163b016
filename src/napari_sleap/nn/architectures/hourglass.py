"""Stacked hourglass backbone (Newell et al. 2016) with intermediate supervision.

A strided stem brings the image to ``stem_stride``; each hourglass goes down
``down_blocks`` levels with residual blocks and back up, adding the skip at
every level; the heads of each stack feed the next one through 1x1 convs.
"""

from __future__ import annotations

from typing import Any

from keras import layers

from napari_sleap.config.model import HourglassConfig, levels
from napari_sleap.nn.architectures.common import Features, StackCallback, upsample


def residual(x: Any, filters: int, name: str, batch_norm: bool = True) -> Any:
    """Pre-activation residual block; a 1x1 conv matches channels when needed."""
    shortcut = x
    if x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, name=f"{name}_skip")(x)
    y = x
    for i in range(2):
        if batch_norm:
            y = layers.BatchNormalization(name=f"{name}_bn{i}")(y)
        y = layers.ReLU(name=f"{name}_relu{i}")(y)
        y = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv{i}")(y)
    return layers.Add(name=f"{name}_add")([shortcut, y])


def _stem(x: Any, cfg: HourglassConfig) -> Any:
    """Downsample to ``stem_stride``: a strided 7x7 conv then pooled residuals."""
    if cfg.stem_stride == 1:
        return layers.Conv2D(
            cfg.stem_filters, 3, padding="same", activation="relu", name="stem_conv"
        )(x)
    x = layers.Conv2D(
        cfg.stem_filters,
        7,
        strides=2,
        padding="same",
        activation="relu",
        name="stem_conv",
    )(x)
    for i in range(levels(2, cfg.stem_stride)):
        x = residual(x, cfg.stem_filters, f"stem_res{i}", cfg.batch_norm)
        x = layers.MaxPooling2D(2, padding="same", name=f"stem_pool{i}")(x)
    return x


def _hourglass(
    x: Any, cfg: HourglassConfig, level: int, stride: int, prefix: str, out: dict
) -> Any:
    """One hourglass level, recursing down; records each level's output by stride."""
    filters = cfg.filters + level * cfg.filters_increase
    up1 = residual(x, filters, f"{prefix}up1_{level}", cfg.batch_norm)
    low = layers.MaxPooling2D(2, padding="same", name=f"{prefix}pool{level}")(x)
    low = residual(
        low, filters + cfg.filters_increase, f"{prefix}low1_{level}", cfg.batch_norm
    )
    if level + 1 < cfg.down_blocks:
        low = _hourglass(low, cfg, level + 1, stride * 2, prefix, out)
    else:
        low = residual(
            low, filters + cfg.filters_increase, f"{prefix}bottom", cfg.batch_norm
        )
        out[stride * 2] = low
    low = residual(low, filters, f"{prefix}low3_{level}", cfg.batch_norm)
    up2 = upsample(
        low, filters, cfg.upsampling, f"{prefix}up{level}", interpolation="nearest"
    )
    merged = layers.Add(name=f"{prefix}merge{level}")([up1, up2])
    out[stride] = merged
    return merged


def build_hourglass(
    x: Any, cfg: HourglassConfig, on_stack: StackCallback | None = None
) -> Features:
    """Apply a stem and ``cfg.stacks`` hourglasses to input tensor ``x``.

    Args:
        x: the model input.
        cfg: the hourglass settings.
        on_stack: called after each stack but the last; a returned tensor
            (that stack's head outputs) is mapped by a 1x1 conv and added to
            the next stack's input.
    """
    x = _stem(x, cfg)
    x = layers.Conv2D(cfg.filters, 1, name="stem_out")(x)
    result = Features(output_stride=cfg.output_stride, max_stride=cfg.max_stride)
    for k in range(cfg.stacks):
        prefix = f"hg{k}_"
        feats: dict[int, Any] = {}
        y = _hourglass(x, cfg, 0, cfg.stem_stride, prefix, feats)
        y = residual(y, cfg.filters, f"{prefix}out", cfg.batch_norm)
        feats[cfg.stem_stride] = y
        result.stacks.append(feats)
        result.bottleneck = feats[cfg.max_stride]
        if k == cfg.stacks - 1:
            break
        nxt = [x, layers.Conv2D(cfg.filters, 1, name=f"{prefix}feat_remap")(y)]
        extra = on_stack(k, feats, result.bottleneck) if on_stack else None
        if extra is not None:
            nxt.append(layers.Conv2D(cfg.filters, 1, name=f"{prefix}head_remap")(extra))
        x = layers.Add(name=f"{prefix}next")(nxt)
    return result
