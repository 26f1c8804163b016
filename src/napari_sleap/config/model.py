"""The model section of a training config: one backbone and the heads' settings.

Which heads a model has follows from its role (see :func:`head_kinds`); this
config only says how each kind is built and weighted. Backbones are a one-of
choice: ``backbone: {unet: {...}}``, ``{leap: ...}``, ``{hourglass: ...}`` or
``{encoder: {name: resnet50, ...}}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, get_args

from napari_sleap.config.base import ConfigError, OneOf

Upsampling = Literal["interpolate", "transposed"]

#: Keras-application encoders the ``encoder`` backbone can use (the one list:
#: :data:`ENCODERS` and the nn side's constructors follow it).
EncoderName = Literal[
    "resnet50",
    "resnet101",
    "resnet152",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "efficientnet_v2_b0",
    "efficientnet_v2_s",
    "convnext_tiny",
    "convnext_small",
]
ENCODERS: tuple[str, ...] = get_args(EncoderName)


def _power_of_two(value: int, name: str) -> None:
    if value < 1 or value & (value - 1):
        raise ConfigError(name, f"must be a power of two (1, 2, 4, ...), got {value}")


def _strides(output_stride: int, max_stride: int, lowest: int = 1) -> None:
    _power_of_two(output_stride, "output_stride")
    _power_of_two(max_stride, "max_stride")
    if not lowest <= output_stride <= max_stride:
        raise ConfigError(
            "output_stride",
            f"must be between {lowest} and max_stride ({max_stride}), "
            f"got {output_stride}",
        )


@dataclass
class UNetConfig:
    """A UNet: conv blocks down to ``max_stride``, back up to ``output_stride``.

    Attributes:
        filters: filters of the first (full-resolution) block. Default 32.
        filters_rate: factor on the filters at each down block. Default 1.5.
        max_stride: total downsampling; the number of down blocks is
            log2(max_stride); inputs are padded to a multiple of it. Default 16.
        output_stride: stride of the finest decoder output; heads read features
            at this stride or coarser. Default 2.
        stacks: UNets applied in sequence, each refining the last one's
            features (intermediate heads supervise every stack). Default 1.
        middle_block: extra conv block at the bottleneck. Default true.
        convs_per_block: 3x3 convolutions per block. Default 2.
        kernel_size: convolution kernel size. Default 3.
        upsampling: ``interpolate`` (bilinear resize + convs) or ``transposed``
            (learned transposed convolutions). Default interpolate.
        skip_connections: join encoder features into the decoder by
            ``concatenate``, ``add`` or ``none``. Default concatenate.
        batch_norm: batch normalization after each convolution. Default false.
    """

    filters: int = 32
    filters_rate: float = 1.5
    max_stride: int = 16
    output_stride: int = 2
    stacks: int = 1
    middle_block: bool = True
    convs_per_block: int = 2
    kernel_size: int = 3
    upsampling: Upsampling = "interpolate"
    skip_connections: Literal["concatenate", "add", "none"] = "concatenate"
    batch_norm: bool = False

    def __post_init__(self) -> None:
        _strides(self.output_stride, self.max_stride)
        _positive(self, "filters", "stacks", "convs_per_block", "kernel_size")
        if self.filters_rate <= 0:
            raise ConfigError("filters_rate", f"must be > 0, got {self.filters_rate}")


@dataclass
class LEAPConfig:
    """LEAP CNN: a plain encoder-decoder without skip connections.

    Attributes:
        filters: filters of the first block (SLEAP used 64; 32 keeps the
            full-resolution layers affordable on a CPU). Default 32.
        filters_rate: factor on the filters at each down block. Default 2.
        max_stride: total downsampling (log2 of it = down blocks). Default 8.
        output_stride: stride of the output features. Default 1.
        convs_per_block: 3x3 convolutions per block. Default 3.
        upsampling: ``transposed`` (as in LEAP) or ``interpolate``.
            Default transposed.
        batch_norm: batch normalization after each convolution. Default false.
    """

    filters: int = 32
    filters_rate: float = 2.0
    max_stride: int = 8
    output_stride: int = 1
    convs_per_block: int = 3
    upsampling: Upsampling = "transposed"
    batch_norm: bool = False

    def __post_init__(self) -> None:
        _strides(self.output_stride, self.max_stride)
        _positive(self, "filters", "convs_per_block")
        if self.filters_rate <= 0:
            raise ConfigError("filters_rate", f"must be > 0, got {self.filters_rate}")


@dataclass
class HourglassConfig:
    """Stacked hourglass: a strided stem, then repeated down/up modules.

    Every stack ends with its own heads (intermediate supervision) whose
    outputs feed the next stack, as in Newell et al.

    Attributes:
        stem_filters: filters of the stem. Default 32.
        stem_stride: downsampling done by the stem; also the output stride
            of the hourglasses. Default 4.
        filters: filters at the top level of each hourglass. Default 64.
        filters_increase: filters added at each level down. Default 32.
        down_blocks: levels in each hourglass; max stride is
            stem_stride * 2**down_blocks. Default 3.
        stacks: hourglasses in sequence. Default 2.
        upsampling: ``interpolate`` (nearest, as in the original) or
            ``transposed``. Default interpolate.
        batch_norm: batch normalization in the residual blocks. Default true.
    """

    stem_filters: int = 32
    stem_stride: int = 4
    filters: int = 64
    filters_increase: int = 32
    down_blocks: int = 3
    stacks: int = 2
    upsampling: Upsampling = "interpolate"
    batch_norm: bool = True

    def __post_init__(self) -> None:
        _power_of_two(self.stem_stride, "stem_stride")
        _positive(self, "stem_filters", "filters", "down_blocks", "stacks")
        if self.filters_increase < 0:
            raise ConfigError(
                "filters_increase", f"must be >= 0, got {self.filters_increase}"
            )

    @property
    def max_stride(self) -> int:
        """Total downsampling of the network."""
        return self.stem_stride * 2**self.down_blocks

    @property
    def output_stride(self) -> int:
        """Stride of the hourglass outputs (the stem's)."""
        return self.stem_stride


@dataclass
class EncoderConfig:
    """A Keras-application encoder (ImageNet-pretrained when reachable) + decoder.

    Grayscale input is repeated to three channels and scaled the way each
    encoder was trained, inside the graph. Offline, the encoder starts from
    random weights and a warning says so.

    Attributes:
        name: one of ``ENCODERS``. Default resnet50.
        pretrained: load ImageNet weights (downloaded once, cached by Keras).
            Default true.
        trainable_encoder: fine-tune the encoder weights (false freezes
            them). Default true.
        output_stride: stride of the finest decoder output. Default 4.
        decoder_filters: decoder filters at the output stride; doubled at
            each coarser level up to 256. Default 64.
        convs_per_block: 3x3 convolutions per decoder block. Default 2.
        upsampling: ``interpolate`` or ``transposed``. Default interpolate.
        skip_connections: concatenate encoder features at each decoder
            level. Default true.
        batch_norm: batch normalization in the decoder. Default false.
    """

    name: EncoderName = "resnet50"
    pretrained: bool = True
    trainable_encoder: bool = True
    output_stride: int = 4
    decoder_filters: int = 64
    convs_per_block: int = 2
    upsampling: Upsampling = "interpolate"
    skip_connections: bool = True
    batch_norm: bool = False

    def __post_init__(self) -> None:
        _strides(self.output_stride, self.max_stride)
        _positive(self, "decoder_filters", "convs_per_block")

    @property
    def max_stride(self) -> int:
        """Total downsampling of every supported encoder."""
        return 32


@dataclass
class BackboneConfig(OneOf):
    """The network body: exactly one of the alternatives.

    Attributes:
        unet: a UNet (the default, with its defaults).
        leap: a LEAP CNN.
        hourglass: a stacked hourglass.
        encoder: a Keras-application encoder with a decoder.
    """

    unet: UNetConfig | None = None
    leap: LEAPConfig | None = None
    hourglass: HourglassConfig | None = None
    encoder: EncoderConfig | None = None

    @property
    def max_stride(self) -> int:
        """Inputs must be padded to a multiple of this."""
        return self.value.max_stride

    @property
    def output_stride(self) -> int:
        """Stride of the finest feature map the backbone produces."""
        return self.value.output_stride

    @property
    def stacks(self) -> int:
        """Number of stacks (each with its own heads)."""
        return getattr(self.value, "stacks", 1)


@dataclass
class ConfmapsHeadConfig:
    """Confidence maps: one Gaussian per node (or one for the centroid).

    Attributes:
        sigma: Gaussian spread in model-input pixels. Default 2.5.
        output_stride: stride of the maps; null uses the backbone's output
            stride. Default null.
        loss_weight: weight of this head's loss. Default 1.0.
    """

    sigma: float = 2.5
    output_stride: int | None = None
    loss_weight: float = 1.0


@dataclass
class PafsHeadConfig:
    """Part affinity fields: an (x, y) unit vector field per skeleton edge.

    Attributes:
        sigma: half-width of each limb's field, model-input pixels. Default 15.
        output_stride: stride of the fields; null uses the backbone's output
            stride. Coarser (e.g. 8) is usual for PAFs. Default null.
        loss_weight: weight of this head's loss. Default 1.0.
    """

    sigma: float = 15.0
    output_stride: int | None = None
    loss_weight: float = 1.0


@dataclass
class ClassMapsHeadConfig:
    """Class maps: one map per identity class, high around that animal's nodes.

    Attributes:
        sigma: spread of each node's blob, model-input pixels. Default 5.
        output_stride: stride of the maps; null uses the backbone's output
            stride. Default null.
        loss_weight: weight of this head's loss. Default 1.0.
    """

    sigma: float = 5.0
    output_stride: int | None = None
    loss_weight: float = 1.0


@dataclass
class ClassVectorsHeadConfig:
    """Class vectors: a softmax over the identity classes for each crop.

    Read from the backbone's deepest features by global max pooling and
    fully connected layers.

    Attributes:
        fc_layers: hidden fully connected layers. Default 1.
        fc_units: units in each hidden layer. Default 64.
        loss_weight: weight of this head's loss. Default 1.0.
    """

    fc_layers: int = 1
    fc_units: int = 64
    loss_weight: float = 1.0


@dataclass
class OffsetsHeadConfig:
    """Offset refinement: sub-pixel (dx, dy) per confmap channel at its stride.

    Attributes:
        enabled: add the head (models read it to refine peak positions).
            Default false.
        loss_weight: weight of this head's loss. Default 1.0.
    """

    enabled: bool = False
    loss_weight: float = 1.0


@dataclass
class HeadsConfig:
    """Settings for each head kind; the model's role picks which are built.

    Attributes:
        confmaps: confidence map settings.
        pafs: part affinity field settings (bottom-up).
        class_maps: class map settings (bottom-up identity).
        class_vectors: class vector settings (top-down identity).
        offsets: offset refinement (on/off, loss weight).
    """

    confmaps: ConfmapsHeadConfig = field(default_factory=ConfmapsHeadConfig)
    pafs: PafsHeadConfig = field(default_factory=PafsHeadConfig)
    class_maps: ClassMapsHeadConfig = field(default_factory=ClassMapsHeadConfig)
    class_vectors: ClassVectorsHeadConfig = field(
        default_factory=ClassVectorsHeadConfig
    )
    offsets: OffsetsHeadConfig = field(default_factory=OffsetsHeadConfig)


@dataclass
class ModelConfig:
    """The model: a backbone and its heads.

    Attributes:
        backbone: one of unet / leap / hourglass / encoder. Default a UNet
            with its defaults.
        heads: per-kind head settings; the model role decides which exist.
    """

    backbone: BackboneConfig = field(
        default_factory=lambda: BackboneConfig(unet=UNetConfig())
    )
    heads: HeadsConfig = field(default_factory=HeadsConfig)

    def __post_init__(self) -> None:
        base = self.backbone.output_stride
        top = self.backbone.max_stride
        for kind in ("confmaps", "pafs", "class_maps"):
            stride = getattr(self.heads, kind).output_stride
            if stride is None:
                continue
            key = f"heads.{kind}.output_stride"
            _power_of_two(stride, key)
            if not base <= stride <= top:
                raise ConfigError(
                    key,
                    f"{stride} is outside the backbone's strides "
                    f"{base}..{top}; choose a power of two in that range "
                    "(or null for the backbone's output stride)",
                )

    def head_stride(self, kind: str) -> int:
        """Output stride a map head of ``kind`` will have."""
        if kind == "class_vectors":
            return 1
        if kind == "offsets":
            kind = "confmaps"
        stride = getattr(self.heads, kind).output_stride
        return self.backbone.output_stride if stride is None else stride


#: Head kinds built for each model role (offsets are added when enabled).
ROLE_HEADS: dict[str, tuple[str, ...]] = {
    "single_instance": ("confmaps",),
    "centroid": ("confmaps",),
    "centered_instance": ("confmaps",),
    "centered_instance_id": ("confmaps", "class_vectors"),
    "bottom_up": ("confmaps", "pafs"),
    "bottom_up_id": ("confmaps", "class_maps"),
}


def head_kinds(role: str, offsets: bool = False) -> tuple[str, ...]:
    """Head kinds of a model with ``role``, in output order."""
    if role not in ROLE_HEADS:
        raise ConfigError(
            "role", f"{role!r} is not a model role; allowed: {', '.join(ROLE_HEADS)}"
        )
    kinds = ROLE_HEADS[role]
    return (*kinds, "offsets") if offsets else kinds


def _positive(cfg: object, *names: str) -> None:
    for name in names:
        value = getattr(cfg, name)
        if value < 1:
            raise ConfigError(name, f"must be >= 1, got {value}")


def levels(output_stride: int, max_stride: int) -> int:
    """Number of x2 steps between two strides."""
    return int(round(math.log2(max_stride / output_stride)))
