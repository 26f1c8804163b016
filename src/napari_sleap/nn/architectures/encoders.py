"""Encoder-decoder backbones on Keras-application encoders (ResNet, MobileNet, ...).

The image (grayscale repeated to three channels, then scaled the way each
encoder was trained on ImageNet, all with standard layers) goes through the
application as a nested feature-extractor model that returns its last feature
map at every stride; a UNet-like decoder climbs back to the output stride.
ImageNet weights are used when Keras can get them (download or cache);
otherwise the encoder starts from random weights with a warning.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import keras
import numpy as np
from keras import layers

from napari_sleap.config.model import ENCODERS, EncoderConfig
from napari_sleap.nn.architectures.common import Features, conv_block, upsample

_APPS = keras.applications

#: name -> (constructor, preprocessing: "caffe" | "tf" | "raw255", extra kwargs)
ENCODER_APPS: dict[str, tuple[Any, str, dict]] = {
    "resnet50": (_APPS.ResNet50, "caffe", {}),
    "resnet101": (_APPS.ResNet101, "caffe", {}),
    "resnet152": (_APPS.ResNet152, "caffe", {}),
    "mobilenet_v2": (_APPS.MobileNetV2, "tf", {}),
    "mobilenet_v3_small": (_APPS.MobileNetV3Small, "raw255", {}),
    "mobilenet_v3_large": (_APPS.MobileNetV3Large, "raw255", {}),
    "efficientnet_b0": (_APPS.EfficientNetB0, "raw255", {}),
    "efficientnet_b1": (_APPS.EfficientNetB1, "raw255", {}),
    "efficientnet_b2": (_APPS.EfficientNetB2, "raw255", {}),
    "efficientnet_b3": (_APPS.EfficientNetB3, "raw255", {}),
    "efficientnet_v2_b0": (_APPS.EfficientNetV2B0, "raw255", {}),
    "efficientnet_v2_s": (_APPS.EfficientNetV2S, "raw255", {}),
    "convnext_tiny": (_APPS.ConvNeXtTiny, "raw255", {}),
    "convnext_small": (_APPS.ConvNeXtSmall, "raw255", {}),
}

if set(ENCODER_APPS) != set(ENCODERS):  # the config's list is the one source
    raise RuntimeError(
        "napari_sleap.nn.architectures.encoders.ENCODER_APPS must cover exactly "
        f"config.model.ENCODERS; differs in {sorted(set(ENCODER_APPS) ^ set(ENCODERS))}"
    )

#: ImageNet channel means (RGB) subtracted by the "caffe"-style ResNets.
_CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)
_PROBE = 128
_MAX_STRIDE = 32


def _application(name: str, weights: str | None, input_shape: tuple) -> keras.Model:
    ctor, _, kwargs = ENCODER_APPS[name]
    with warnings.catch_warnings():
        # The applications warn about non-square/undefined input sizes.
        warnings.simplefilter("ignore", UserWarning)
        return ctor(
            include_top=False, weights=weights, input_shape=input_shape, **kwargs
        )


@functools.cache
def stride_layers(name: str) -> dict[int, int]:
    """Index (in ``model.layers``) of the last layer at each stride 2..32.

    Found once per encoder on a fixed-size probe model, since the real one has
    an open input size. Indices, not names: some applications name layers
    with global counters (``activation_53``) that differ between builds.
    """
    probe = _application(name, None, (_PROBE, _PROBE, 3))
    found: dict[int, int] = {}
    for index, layer in enumerate(probe.layers):
        shape = getattr(layer, "output", None)
        shape = getattr(shape, "shape", None)
        if shape is None or len(shape) != 4 or shape[1] != shape[2] or not shape[1]:
            continue
        stride = _PROBE // shape[1]
        if _PROBE % shape[1] == 0 and 2 <= stride <= _MAX_STRIDE:
            found[stride] = index
    return found


def load_encoder(name: str, pretrained: bool) -> tuple[keras.Model, bool]:
    """Application ``name`` with an open input size; ImageNet weights if possible.

    Returns:
        The model and whether pretrained weights were loaded.
    """
    shape = (None, None, 3)
    if pretrained:
        try:
            return _application(name, "imagenet", shape), True
        except Exception as err:  # offline, blocked host, corrupt cache ...
            warnings.warn(
                f"encoder {name}: ImageNet weights could not be loaded ({err}); "
                "building it with random weights instead. Put the weight file "
                "in ~/.keras/models (or go online once) to use pretrained "
                "weights, or set model.backbone.encoder.pretrained: false to "
                "silence this warning.",
                RuntimeWarning,
                stacklevel=2,
            )
    return _application(name, None, shape), False


def preprocess(x: Any, name: str) -> Any:
    """[0, 1] images -> the 3-channel input scaling encoder ``name`` expects."""
    style = ENCODER_APPS[name][1]
    if x.shape[-1] == 3 and style == "caffe":
        return _rgb_to_caffe_bgr(x)
    if x.shape[-1] == 1:
        x = layers.Concatenate(name="gray_to_rgb")([x, x, x])
    elif x.shape[-1] != 3:
        raise ValueError(
            f"model.backbone.encoder: {name} needs 1 or 3 input channels, "
            f"got {x.shape[-1]}; convert the video to grayscale or RGB"
        )
    if style == "caffe":
        # The caffe ResNets take BGR minus the channel means; gray is order-free.
        offset = [-m for m in _CAFFE_MEAN_RGB[::-1]]
        return layers.Rescaling(255.0, offset=offset, name="imagenet_scale")(x)
    if style == "tf":
        return layers.Rescaling(2.0, offset=-1.0, name="imagenet_scale")(x)
    return layers.Rescaling(255.0, name="imagenet_scale")(x)


def _rgb_to_caffe_bgr(x: Any) -> Any:
    """RGB in [0, 1] -> BGR in [0, 255] minus the ImageNet means.

    A frozen 1x1 convolution does the channel swap and scaling in one
    standard (serializable) layer.
    """
    conv = layers.Conv2D(3, 1, trainable=False, name="imagenet_scale")
    y = conv(x)
    kernel = np.zeros((1, 1, 3, 3), np.float32)
    for out_ch, in_ch in enumerate((2, 1, 0)):
        kernel[0, 0, in_ch, out_ch] = 255.0
    bias = -np.array(_CAFFE_MEAN_RGB[::-1], np.float32)
    conv.set_weights([kernel, bias])
    return y


def build_encoder(x: Any, cfg: EncoderConfig, on_stack: Any = None) -> Features:
    """Apply an application encoder and a decoder to input tensor ``x``.

    Args:
        x: the model input, images in [0, 1] with 1 or 3 channels.
        cfg: encoder settings.
        on_stack: unused (one stack); accepted for a uniform interface.
    """
    index = stride_layers(cfg.name)
    app, _ = load_encoder(cfg.name, cfg.pretrained)
    strides = sorted(index)
    extractor = keras.Model(
        app.input,
        [app.layers[index[s]].output for s in strides],
        name=f"{cfg.name}_encoder",
    )
    extractor.trainable = cfg.trainable_encoder
    outs = extractor(preprocess(x, cfg.name))
    skips = dict(zip(strides, outs, strict=True))
    top = max(strides)
    y = skips[top]
    features = {top: y}
    stride = top
    while stride > cfg.output_stride:
        stride //= 2
        level = stride.bit_length() - 1 - (cfg.output_stride.bit_length() - 1)
        filters = min(256, cfg.decoder_filters * 2**level)
        y = upsample(y, filters, cfg.upsampling, f"dec_s{stride}")
        if cfg.skip_connections and stride in skips:
            y = layers.Concatenate(name=f"dec_s{stride}_cat")([y, skips[stride]])
        y = conv_block(
            y,
            filters,
            cfg.convs_per_block,
            f"dec_s{stride}",
            batch_norm=cfg.batch_norm,
        )
        features[stride] = y
    return Features(
        stacks=[features],
        bottleneck=skips[top],
        output_stride=cfg.output_stride,
        max_stride=top,
    )
