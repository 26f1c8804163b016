"""Building blocks shared by the backbones: conv blocks, upsampling, feature sets.

Every backbone returns :class:`Features`: for each stack, the feature maps
its decoder produced keyed by stride (input pixels per feature pixel), plus the
deepest features, so heads can attach at whichever stride they need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
from keras import layers

#: Called after each stack but the last with (stack index, features by stride, deepest
#: features); may return a tensor (e.g. that stack's head outputs) that the
#: backbone merges into the next stack's input.
StackCallback = Callable[[int, dict[int, Any], Any], Any]


@dataclass
class Features:
    """What a backbone hands to the heads.

    Attributes:
        stacks: for each stack, its decoder feature maps keyed by stride.
        bottleneck: the last stack's deepest (max-stride) features.
        output_stride: finest stride available.
        max_stride: coarsest stride; inputs are padded to multiples of it.
    """

    stacks: list[dict[int, Any]] = field(default_factory=list)
    bottleneck: Any = None
    output_stride: int = 1
    max_stride: int = 1

    @property
    def last(self) -> dict[int, Any]:
        """Feature maps of the final stack."""
        return self.stacks[-1]


def conv_block(
    x: Any,
    filters: int,
    convs: int,
    name: str,
    kernel_size: int = 3,
    batch_norm: bool = False,
) -> Any:
    """``convs`` same-padded convolutions with ReLU (and batch norm if asked)."""
    for i in range(convs):
        x = layers.Conv2D(
            filters,
            kernel_size,
            padding="same",
            use_bias=not batch_norm,
            activation=None if batch_norm else "relu",
            name=f"{name}_conv{i}",
        )(x)
        if batch_norm:
            x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
            x = layers.ReLU(name=f"{name}_relu{i}")(x)
    return x


def upsample(
    x: Any,
    filters: int,
    method: str,
    name: str,
    interpolation: str = "bilinear",
) -> Any:
    """Double the spatial size by interpolation or a learned transposed conv."""
    if method == "transposed":
        return layers.Conv2DTranspose(
            filters,
            3,
            strides=2,
            padding="same",
            activation="relu",
            name=f"{name}_trans",
        )(x)
    return layers.UpSampling2D(2, interpolation=interpolation, name=f"{name}_up")(x)


def join(x: Any, skip: Any, how: str, name: str) -> Any:
    """Merge a skip connection into the decoder (concatenate, add or none)."""
    if how in ("none", False, None):
        return x
    if how == "add":
        channels = skip.shape[-1]
        if x.shape[-1] != channels:
            x = layers.Conv2D(channels, 1, padding="same", name=f"{name}_proj")(x)
        return layers.Add(name=f"{name}_add")([x, skip])
    return layers.Concatenate(name=f"{name}_cat")([x, skip])


def scaled_filters(filters: int, rate: float, level: int) -> int:
    """Filters at ``level`` downsamplings: ``filters * rate**level``, at least 1."""
    return max(1, int(round(filters * rate**level)))


def image_input(channels: int, name: str = "image") -> keras.KerasTensor:
    """Model input: float images in [0, 1], any size, ``channels`` deep."""
    return keras.Input((None, None, channels), name=name, dtype="float32")
