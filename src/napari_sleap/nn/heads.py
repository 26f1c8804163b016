"""Model heads: each knows its channels, activation, loss and how to build itself.

Map heads (confidence maps, PAFs, class maps, offsets) are a 1x1 convolution
on the backbone features at their output stride; the class-vector head pools
the deepest features and ends in a softmax. The output layer of each head is
named by its kind (``confmaps``, ``pafs``, ...), which is also the key of the
model's output dict. Keras is imported only inside the build and loss methods,
so head specs (and the :class:`~napari_sleap.nn.model_info.HeadInfo` they make)
are available without TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from napari_sleap.config.base import ConfigError
from napari_sleap.config.model import ModelConfig, head_kinds
from napari_sleap.nn.model_info import HeadInfo, ModelInfo


@dataclass
class Head:
    """A map head: a 1x1 convolution reading features at ``output_stride``.

    Attributes:
        channels: output channels.
        output_stride: input pixels per output pixel.
        loss_weight: weight of this head's loss in the total.
        sigma: target spread in model-input pixels (maps), else None.
    """

    kind: ClassVar[str] = ""
    activation: ClassVar[str] = "linear"
    #: Initial bias of the output convolution (before the activation).
    initial_bias: ClassVar[float] = 0.0

    channels: int
    output_stride: int
    loss_weight: float = 1.0
    sigma: float | None = None

    def info(self) -> HeadInfo:
        """The head as recorded in ``model_info.json``."""
        return HeadInfo(
            kind=self.kind,
            channels=self.channels,
            output_stride=self.output_stride,
            sigma=self.sigma,
        )

    def build(self, features: dict[int, Any], bottleneck: Any, name: str) -> Any:
        """Apply the head to a backbone's features; the output layer is ``name``."""
        from keras import initializers, layers

        if self.output_stride not in features:
            raise ConfigError(
                f"model.heads.{self.kind}.output_stride",
                f"{self.output_stride} is not produced by this backbone (it "
                f"gives strides {sorted(features)}); pick one of those",
            )
        return layers.Conv2D(
            self.channels,
            1,
            padding="same",
            activation=self.activation,
            bias_initializer=initializers.Constant(self.initial_bias),
            dtype="float32",
            name=name,
        )(features[self.output_stride])

    def loss(self) -> Any:
        """The Keras loss for this head's output."""
        import keras

        return keras.losses.MeanSquaredError(name=f"{self.kind}_mse")


@dataclass
class ConfmapsHead(Head):
    """Gaussian confidence maps, one per node (one for a centroid model); MSE."""

    kind: ClassVar[str] = "confmaps"


@dataclass
class PafsHead(Head):
    """Part affinity fields: channels 2k, 2k+1 are edge k's (x, y) field; MSE."""

    kind: ClassVar[str] = "pafs"


@dataclass
class ClassMapsHead(Head):
    """One map per identity class, in [0, 1] (sigmoid); MSE."""

    kind: ClassVar[str] = "class_maps"
    activation: ClassVar[str] = "sigmoid"
    # A zero bias starts every pixel at 0.5 where nearly all targets are 0; the
    # first steps' large gradients then killed a bottom-up-id UNet's ReLUs
    # (constant outputs, at learning rate 1e-3). Start near 0.01 instead.
    initial_bias: ClassVar[float] = -4.6


@dataclass
class OffsetsHead(Head):
    """Sub-pixel (dx, dy) per confmap channel, in model-input pixels; MSE.

    Targets are set only near each peak (zero elsewhere), where inference
    reads them.
    """

    kind: ClassVar[str] = "offsets"


@dataclass
class ClassVectorsHead(Head):
    """A softmax over identity classes per input, from pooled deepest features.

    Pooling is over the whole input, so the crop should hold one animal: a
    second animal in most crops leaves the head nothing to tell them apart by.

    Attributes:
        fc_layers: hidden fully connected layers.
        fc_units: units per hidden layer.
    """

    kind: ClassVar[str] = "class_vectors"
    activation: ClassVar[str] = "softmax"

    fc_layers: int = 1
    fc_units: int = 64

    def build(self, features: dict[int, Any], bottleneck: Any, name: str) -> Any:
        """Global max pooling of the deepest features, normalized, dense, softmax.

        The pooled features of a freshly built UNet are tiny (~0.004, after
        many ReLU layers) and nearly the same for every input: without the
        normalization a trained top-down-id model stayed at chance (loss
        ln 2) and could not even fit 42 training crops.
        """
        from keras import layers

        x = layers.GlobalMaxPooling2D(name=f"{name}_pool")(bottleneck)
        x = layers.LayerNormalization(name=f"{name}_norm")(x)
        for i in range(self.fc_layers):
            x = layers.Dense(self.fc_units, activation="relu", name=f"{name}_fc{i}")(x)
        return layers.Dense(
            self.channels, activation="softmax", dtype="float32", name=name
        )(x)

    def loss(self) -> Any:
        """Categorical cross-entropy on one-hot class targets."""
        import keras

        return keras.losses.CategoricalCrossentropy(name="class_vectors_xent")


HEAD_TYPES: dict[str, type[Head]] = {
    h.kind: h
    for h in (ConfmapsHead, PafsHead, ClassMapsHead, OffsetsHead, ClassVectorsHead)
}


def make_heads(cfg: ModelConfig, info: ModelInfo) -> dict[str, Head]:
    """The heads a model with ``info.role`` needs, sized from the skeleton/classes.

    Raises:
        ConfigError: when the skeleton or classes cannot feed a head (no nodes,
            no edges for PAFs, no class names for identity heads).
    """
    h = cfg.heads
    kinds = head_kinds(info.role, h.offsets.enabled)
    n_nodes = len(info.node_names)
    if n_nodes == 0:
        raise ConfigError("model_info.node_names", "the skeleton has no nodes")
    conf_channels = 1 if info.role == "centroid" else n_nodes
    heads: dict[str, Head] = {}
    for kind in kinds:
        stride = cfg.head_stride(kind)
        if kind == "confmaps":
            heads[kind] = ConfmapsHead(
                conf_channels, stride, h.confmaps.loss_weight, h.confmaps.sigma
            )
        elif kind == "pafs":
            if not info.edges:
                raise ConfigError(
                    "model_info.edges",
                    "bottom-up models need skeleton edges for their PAFs; add "
                    "edges to the skeleton or use a top-down pipeline",
                )
            heads[kind] = PafsHead(
                2 * len(info.edges), stride, h.pafs.loss_weight, h.pafs.sigma
            )
        elif kind in ("class_maps", "class_vectors"):
            if not info.class_names:
                raise ConfigError(
                    "model_info.class_names",
                    f"{info.role} models need identity classes (named tracks "
                    "on the training instances); assign tracks or use a role "
                    "without _id",
                )
            n = len(info.class_names)
            if kind == "class_maps":
                heads[kind] = ClassMapsHead(
                    n, stride, h.class_maps.loss_weight, h.class_maps.sigma
                )
            else:
                cv = h.class_vectors
                heads[kind] = ClassVectorsHead(
                    n, 1, cv.loss_weight, None, cv.fc_layers, cv.fc_units
                )
        elif kind == "offsets":
            heads[kind] = OffsetsHead(2 * conf_channels, stride, h.offsets.loss_weight)
    return heads


def head_infos(cfg: ModelConfig, info: ModelInfo) -> dict[str, HeadInfo]:
    """``ModelInfo.heads`` for a model built from ``cfg`` (no TensorFlow needed)."""
    return {kind: head.info() for kind, head in make_heads(cfg, info).items()}


def output_kind(output_name: str) -> str:
    """Head kind of a model output (``confmaps_stack0`` -> ``confmaps``)."""
    return output_name.split("_stack")[0]
