"""Build, compile-spec and load the Keras models of every role.

``build_model(model_cfg, info)`` puts a backbone and the role's heads into one
functional Keras 3 model whose outputs are a dict keyed by head kind, with an
open input size (``(None, None, channels)``, float images in [0, 1]). Models
contain only standard Keras layers, so they save to ``.keras`` and load with
``safe_mode=True`` without custom code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras

from napari_sleap.config.model import ModelConfig
from napari_sleap.nn.architectures import build_backbone
from napari_sleap.nn.architectures.common import image_input
from napari_sleap.nn.heads import Head, make_heads, output_kind
from napari_sleap.nn.model_info import ModelInfo


def build_model(
    cfg: ModelConfig,
    info: ModelInfo,
    *,
    intermediate_outputs: bool = False,
    name: str | None = None,
) -> keras.Model:
    """A Keras model for ``info.role`` with the backbone and heads of ``cfg``.

    Also sets ``info.heads`` (kinds, channels, strides, sigmas) and
    ``info.max_stride`` to match the model, ready to save as model_info.json.

    Args:
        cfg: the model config.
        info: role, skeleton, classes and input channels of the model.
        intermediate_outputs: also output each non-final stack's heads, named
            ``<kind>_stack<k>`` (for intermediate supervision in training).
            The final heads are always the outputs named by kind.
        name: Keras model name (default: the role).
    """
    heads = make_heads(cfg, info)
    info.heads = {kind: head.info() for kind, head in heads.items()}
    info.max_stride = cfg.backbone.max_stride
    image = image_input(info.input_channels)
    extra: dict[str, Any] = {}
    out_stride = cfg.backbone.output_stride

    def on_stack(k: int, features: dict[int, Any], bottleneck: Any) -> Any:
        outs = _apply_heads(heads, features, bottleneck, f"_stack{k}")
        extra.update(outs)
        maps = [
            t
            for kind, t in outs.items()
            if heads[output_kind(kind)].output_stride == out_stride
            and output_kind(kind) != "class_vectors"
        ]
        if not maps:
            return None
        if len(maps) == 1:
            return maps[0]
        return keras.layers.Concatenate(name=f"heads_stack{k}")(maps)

    features = build_backbone(image, cfg.backbone, on_stack)
    outputs = _apply_heads(heads, features.last, features.bottleneck, "")
    if intermediate_outputs:
        outputs.update(extra)
    return keras.Model(image, outputs, name=name or info.role)


def _apply_heads(
    heads: dict[str, Head], features: dict[int, Any], bottleneck: Any, suffix: str
) -> dict[str, Any]:
    return {
        f"{kind}{suffix}": head.build(features, bottleneck, f"{kind}{suffix}")
        for kind, head in heads.items()
    }


def loss_spec(
    model: keras.Model, cfg: ModelConfig, info: ModelInfo
) -> tuple[dict[str, Any], dict[str, float]]:
    """Losses and loss weights for every output of ``model``, for ``compile``.

    Intermediate outputs (``<kind>_stack<k>``) get their kind's loss and
    weight; their targets are the same as the final output's.
    """
    heads = make_heads(cfg, info)
    losses, weights = {}, {}
    for out_name in output_names(model):
        head = heads[output_kind(out_name)]
        losses[out_name] = head.loss()
        weights[out_name] = head.loss_weight
    return losses, weights


def output_names(model: keras.Model) -> list[str]:
    """Names (dict keys) of a model's outputs."""
    outputs = model.output
    if isinstance(outputs, dict):
        return list(outputs)
    return [t.name.split("/")[0] for t in keras.tree.flatten(outputs)]


def inference_model(model: keras.Model) -> keras.Model:
    """The same model (shared weights) with only the final, kind-named outputs."""
    outputs = {k: v for k, v in model.output.items() if output_kind(k) == k}
    if len(outputs) == len(model.output):
        return model
    return keras.Model(model.input, outputs, name=model.name)


def load_model(path: str | Path) -> keras.Model:
    """Load a saved ``.keras`` model safely (no custom code) and uncompiled."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: no Keras model file there")
    return keras.models.load_model(path, safe_mode=True, compile=False)
