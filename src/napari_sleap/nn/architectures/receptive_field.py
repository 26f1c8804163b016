"""Receptive field of a backbone, worked out from its config (no TensorFlow).

The receptive field is the side, in model-input pixels, of the square region
that can influence one pixel of the finest output. It should cover the part of
the animal a head must see (SLEAP's rule of thumb: about the animal's size),
so the GUI and training can compare it with the data before training. Keras
application encoders return None: their graphs are not described here.

The figure is a path-length estimate: measured from input gradients of real
models it is exact for plain conv/pool stacks and within ~10% where bilinear
or transposed upsampling makes it depend on the output pixel's position.
"""

from __future__ import annotations

from dataclasses import dataclass

from napari_sleap.config.model import (
    BackboneConfig,
    HourglassConfig,
    LEAPConfig,
    UNetConfig,
    levels,
)


@dataclass
class _Field:
    """Receptive field ``size`` and the input-pixel ``jump`` between outputs."""

    size: int = 1
    jump: int = 1

    def conv(self, kernel: int, count: int = 1) -> None:
        self.size += count * (kernel - 1) * self.jump

    def strided_conv(self, kernel: int) -> None:
        self.conv(kernel)
        self.jump *= 2

    def pool(self) -> None:
        """2x2 max pooling with stride 2."""
        self.size += self.jump
        self.jump *= 2

    def upsample(self, method: str, interpolation: str = "bilinear") -> None:
        """x2 upsampling: bilinear and 3x3/2 transposed convs read 2 coarse pixels."""
        if method == "transposed" or interpolation == "bilinear":
            self.size += self.jump
        self.jump //= 2


def _encoder_decoder(
    f: _Field,
    n_down: int,
    n_up: int,
    convs: int,
    kernel: int,
    middle: bool,
    upsampling: str,
) -> None:
    for _ in range(n_down):
        f.conv(kernel, convs)
        f.pool()
    if middle:
        f.conv(kernel, convs)
    for _ in range(n_up):
        f.upsample(upsampling)
        f.conv(kernel, convs)


def unet_field(cfg: UNetConfig) -> int:
    """Receptive field of a (stacked) UNet at its output stride."""
    f = _Field()
    in_stride = 1
    for _ in range(cfg.stacks):
        _encoder_decoder(
            f,
            levels(in_stride, cfg.max_stride),
            levels(cfg.output_stride, cfg.max_stride),
            cfg.convs_per_block,
            cfg.kernel_size,
            cfg.middle_block,
            cfg.upsampling,
        )
        in_stride = cfg.output_stride
    return f.size


def leap_field(cfg: LEAPConfig) -> int:
    """Receptive field of a LEAP CNN at its output stride."""
    f = _Field()
    _encoder_decoder(
        f,
        levels(1, cfg.max_stride),
        levels(cfg.output_stride, cfg.max_stride),
        cfg.convs_per_block,
        3,
        True,
        cfg.upsampling,
    )
    return f.size


def hourglass_field(cfg: HourglassConfig) -> int:
    """Receptive field of a stacked hourglass at its output (stem) stride."""
    f = _Field()
    if cfg.stem_stride == 1:
        f.conv(3)
    else:
        f.strided_conv(7)
        for _ in range(levels(2, cfg.stem_stride)):
            f.conv(3, 2)  # residual block
            f.pool()
    for _ in range(cfg.stacks):
        # The deepest path: down every level, the bottom block, back up.
        for _ in range(cfg.down_blocks):
            f.pool()
            f.conv(3, 2)
        f.conv(3, 2)
        for _ in range(cfg.down_blocks):
            f.conv(3, 2)
            f.upsample(cfg.upsampling, interpolation="nearest")
        f.conv(3, 2)  # the stack's output residual block
    return f.size


def receptive_field(cfg: BackboneConfig) -> int | None:
    """Receptive field in model-input pixels, or None for application encoders."""
    value = cfg.value
    if isinstance(value, UNetConfig):
        return unet_field(value)
    if isinstance(value, LEAPConfig):
        return leap_field(value)
    if isinstance(value, HourglassConfig):
        return hourglass_field(value)
    return None
