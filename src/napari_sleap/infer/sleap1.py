"""Load SLEAP 1.x model folders (``best_model.h5`` + ``training_config.json``).

Nothing from the file is executed: the layer graph is read as JSON from the HDF5
attributes, rebuilt from a whitelist of standard Keras layers with an open input
size, and the weights are copied by layer name with h5py. The head layers are
renamed by kind (``confmaps``, ``offsets``, ...) so the result follows the same
contract as models trained here, and :func:`convert_sleap1` can save it as a
regular model folder. SLEAP 1.x offset heads predict grid units; a standard
``Rescaling`` layer turns them into model-input pixels, our convention.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from napari_sleap.config.roles import SLEAP1_HEAD_ROLES
from napari_sleap.nn.model_info import HeadInfo, ModelInfo

CONFIG_FILE = "training_config.json"
WEIGHTS_FILE = "best_model.h5"

#: SLEAP 1.x head config names -> our roles.
ROLE_OF_HEAD = SLEAP1_HEAD_ROLES

#: Substrings of SLEAP 1.x output layer names -> head kinds.
KIND_OF_OUTPUT = (
    ("ConfmapsHead", "confmaps"),
    ("PartAffinityFieldsHead", "pafs"),
    ("OffsetRefinementHead", "offsets"),
    ("ClassMapsHead", "class_maps"),
    ("ClassVectorsHead", "class_vectors"),
)

#: Layer classes a SLEAP 1.x backbone may use; anything else is refused.
ALLOWED_LAYERS = frozenset(
    {
        "InputLayer",
        "Conv2D",
        "Conv2DTranspose",
        "SeparableConv2D",
        "DepthwiseConv2D",
        "Activation",
        "ReLU",
        "LeakyReLU",
        "Softmax",
        "MaxPooling2D",
        "AveragePooling2D",
        "UpSampling2D",
        "Concatenate",
        "Add",
        "Multiply",
        "BatchNormalization",
        "ZeroPadding2D",
        "Cropping2D",
        "Dropout",
        "Dense",
        "Flatten",
        "Reshape",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling2D",
    }
)

#: Keras 2 config keys Keras 3 no longer accepts, per layer class.
_DROP_KEYS = {"Conv2DTranspose": ("groups",), "*": ("batch_input_shape",)}


def _keras3_config(cls_name: str, cfg: dict) -> dict:
    """Adapt a Keras 2 layer config to what Keras 3's ``from_config`` accepts."""
    cfg = dict(cfg)
    for key in _DROP_KEYS.get(cls_name, ()) + _DROP_KEYS["*"]:
        cfg.pop(key, None)
    if cls_name == "BatchNormalization" and isinstance(cfg.get("axis"), list):
        if len(cfg["axis"]) != 1:
            raise ValueError(f"BatchNormalization over axes {cfg['axis']}")
        cfg["axis"] = cfg["axis"][0]
    return cfg


def is_sleap1_folder(path: str | Path) -> bool:
    """True if ``path`` looks like a SLEAP 1.x model folder."""
    path = Path(path)
    return (path / CONFIG_FILE).is_file() and (path / WEIGHTS_FILE).is_file()


def skeleton_name(folder: str | Path) -> str | None:
    """The skeleton name a SLEAP 1.x model folder's config gives (None if none).

    Best effort: a folder that is not SLEAP 1.x, or a config that does not
    name its skeleton, gives None (the caller picks a default name).
    """
    folder = Path(folder)
    if not is_sleap1_folder(folder):
        return None
    try:
        skeleton = _skeleton(read_config(folder), folder / CONFIG_FILE)
    except ValueError:
        return None
    name = getattr(skeleton, "name", None)
    return name if isinstance(name, str) and name.strip() else None


def target_size(folder: str | Path) -> tuple[int, int] | None:
    """``(height, width)`` every frame is fitted to first, or None.

    A SLEAP 1.x model trained with ``data.preprocessing.resize_and_pad_to_target``
    saw frames resized (aspect kept) and zero-padded bottom/right to
    ``target_height`` x ``target_width``; inference must do the same.
    """
    folder = Path(folder)
    if not is_sleap1_folder(folder):
        return None
    prep = read_config(folder)["data"].get("preprocessing") or {}
    if not prep.get("resize_and_pad_to_target"):
        return None
    h, w = prep.get("target_height"), prep.get("target_width")
    if not (isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0):
        return None  # SLEAP fills them in when training; absent: nothing to match
    return h, w


def read_config(folder: Path) -> dict:
    """The folder's training_config.json, checked to be a SLEAP 1.x config."""
    path = folder / CONFIG_FILE
    try:
        cfg = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    for key in ("data", "model"):
        if not isinstance(cfg.get(key), dict):
            raise ValueError(
                f"{path}: field {key!r} is missing; this is not a SLEAP 1.x "
                "training_config.json (re-export the model from SLEAP 1.x)"
            )
    return cfg


def _head(cfg: dict, where: Path) -> tuple[str, dict]:
    heads = cfg["model"].get("heads") or {}
    set_heads = [(k, v) for k, v in heads.items() if v]
    if len(set_heads) != 1:
        raise ValueError(
            f"{where}: model.heads must set exactly one of "
            f"{', '.join(ROLE_OF_HEAD)}; found {[k for k, _ in set_heads] or 'none'}"
        )
    name, head = set_heads[0]
    if name not in ROLE_OF_HEAD:
        raise ValueError(
            f"{where}: model.heads.{name} is not supported; supported heads: "
            f"{', '.join(ROLE_OF_HEAD)}"
        )
    return name, head


def _backbone_max_stride(cfg: dict) -> int | None:
    for spec in (cfg["model"].get("backbone") or {}).values():
        if isinstance(spec, dict) and spec.get("max_stride"):
            return int(spec["max_stride"])
    return None


def _skeleton(cfg: dict, where: Path):
    from sleap_io.io.skeleton import decode_training_config

    try:
        skeletons = decode_training_config(cfg)
    except Exception as err:  # the decoder raises several types on bad input
        raise ValueError(
            f"{where}: data.labels.skeletons could not be read ({err})"
        ) from err
    if isinstance(skeletons, list):
        if not skeletons:
            raise ValueError(f"{where}: data.labels.skeletons is empty")
        return skeletons[0]
    return skeletons


def model_info_from_config(
    cfg: dict, where: Path, input_channels: int = 1
) -> ModelInfo:
    """Translate a SLEAP 1.x training config into a :class:`ModelInfo`."""
    head_name, head = _head(cfg, where)
    role = ROLE_OF_HEAD[head_name]
    _refuse_unverified(cfg, where)
    skeleton = _skeleton(cfg, where)
    node_names = list(skeleton.node_names)
    edges = [tuple(e) for e in skeleton.edge_inds]
    symmetries = []
    for sym in getattr(skeleton, "symmetries", []):
        a, b = (node_names.index(n.name) for n in sym.nodes)
        symmetries.append((a, b))

    prep = cfg["data"].get("preprocessing") or {}
    crop = cfg["data"].get("instance_cropping") or {}
    heads: dict[str, HeadInfo] = {}
    class_names: list[str] = []
    anchor = None

    def conf_head(spec: dict, channels: int) -> None:
        stride = int(spec.get("output_stride") or 1)
        heads["confmaps"] = HeadInfo(
            "confmaps", channels, stride, float(spec.get("sigma") or 1.0)
        )
        if spec.get("offset_refinement"):
            heads["offsets"] = HeadInfo("offsets", 2 * channels, stride)

    def parts(spec: dict) -> list[str]:
        names = spec.get("part_names") or node_names
        missing = [n for n in names if n not in node_names]
        if missing:
            raise ValueError(
                f"{where}: part_names {missing} are not skeleton nodes {node_names}"
            )
        return list(names)

    if role == "centroid":
        anchor = head.get("anchor_part")
        conf_head(head, 1)
    elif role in ("single_instance", "centered_instance"):
        conf_head(head, len(parts(head)))
        anchor = head.get("anchor_part") or crop.get("center_on_part")
    elif role == "centered_instance_id":
        conf_head(head["confmaps"], len(parts(head["confmaps"])))
        anchor = head["confmaps"].get("anchor_part") or crop.get("center_on_part")
        class_names = list(head["class_vectors"]["classes"])
        heads["class_vectors"] = HeadInfo("class_vectors", len(class_names), 1)
    elif role == "bottom_up":
        conf_head(head["confmaps"], len(parts(head["confmaps"])))
        paf = head["pafs"]
        if paf.get("edges"):  # PAF channel order, as node name pairs
            edges = [
                (node_names.index(a), node_names.index(b)) for a, b in paf["edges"]
            ]
        heads["pafs"] = HeadInfo(
            "pafs", 2 * len(edges), int(paf["output_stride"]), float(paf["sigma"])
        )
    elif role == "bottom_up_id":
        conf_head(head["confmaps"], len(parts(head["confmaps"])))
        cm = head["class_maps"]
        class_names = list(cm["classes"])
        heads["class_maps"] = HeadInfo(
            "class_maps", len(class_names), int(cm["output_stride"]), cm.get("sigma")
        )

    # Confmap channels follow part_names; reorder the skeleton to match.
    if role != "centroid":
        spec = head.get("confmaps", head)
        order = parts(spec)
        if order != node_names:
            edges, symmetries = (
                _reindex(pairs, node_names, order) for pairs in (edges, symmetries)
            )
            node_names = order

    input_scale = _input_scale(prep, where)
    crop_size = (
        _crop_size(crop, input_scale, where) if role.startswith("centered") else None
    )
    max_stride = _backbone_max_stride(cfg) or int(prep.get("pad_to_stride") or 1)
    return ModelInfo(
        role=role,
        node_names=node_names,
        edges=edges,
        symmetries=symmetries,
        heads=heads,
        input_scale=input_scale,
        input_channels=input_channels,
        max_stride=max(max_stride, int(prep.get("pad_to_stride") or 1)),
        crop_size=crop_size,
        anchor_node=anchor,
        class_names=class_names,
        keras_file="best.keras",
        source="sleap1",
    )


def _refuse_unverified(cfg: dict, where: Path) -> None:
    """Refuse settings whose SLEAP 1.x poses we cannot reproduce exactly.

    Pretrained encoders (``model.backbone.pretrained_encoder``) are stored as a
    nested Keras model behind ImageNet input normalisation
    (``data.preprocessing.imagenet_mode``); neither is rebuilt here, so such a
    model would run with the wrong input range and give wrong poses silently.
    """
    backbone = cfg["model"].get("backbone") or {}
    prep = cfg["data"].get("preprocessing") or {}
    if backbone.get("pretrained_encoder"):
        raise ValueError(
            f"{where}: model.backbone.pretrained_encoder is set; SLEAP 1.x models "
            "with a pretrained (ImageNet) encoder are not supported: their nested "
            "encoder graph and ImageNet input normalisation are not rebuilt, so "
            "poses would be wrong. Fix: predict with SLEAP 1.x, or retrain with "
            "`napari-sleap train` (which offers pretrained encoders itself)"
        )
    if prep.get("imagenet_mode"):
        raise ValueError(
            f"{where}: data.preprocessing.imagenet_mode is "
            f"{prep['imagenet_mode']!r}; ImageNet input normalisation of SLEAP "
            "1.x models is not supported (poses would be wrong). Fix: predict "
            "with SLEAP 1.x, or retrain with `napari-sleap train`"
        )


def _input_scale(prep: dict, where: Path) -> float:
    """``data.preprocessing.input_scaling``, checked to be a positive number."""
    value = prep.get("input_scaling") or 1.0
    if not isinstance(value, (int, float)) or not 0 < value <= 16:
        raise ValueError(
            f"{where}: data.preprocessing.input_scaling is {value!r}; expected a "
            "number in (0, 16]"
        )
    return float(value)


def _crop_size(crop: dict, input_scale: float, where: Path) -> int:
    """The crop side in original-frame pixels (our convention).

    SLEAP 1.x resizes the whole frame by the model's ``input_scaling`` first and
    then cuts ``crop_size`` pixels of the *resized* frame (training and
    inference alike), so a 56 px crop of a 0.5-scaled model covers 112 frame
    pixels. Cropping 112 frame pixels and resizing the crop by 0.5 gives the
    model the same view.
    """
    size = crop.get("crop_size")
    if not size:
        raise ValueError(
            f"{where}: data.instance_cropping.crop_size is not set; SLEAP 1.x "
            "writes it after training, so this folder is incomplete"
        )
    if not isinstance(size, (int, float)) or size < 1:
        raise ValueError(
            f"{where}: data.instance_cropping.crop_size is {size!r}; expected a "
            "positive number of pixels"
        )
    return max(1, round(float(size) / input_scale))


def _reindex(
    pairs: list[tuple[int, int]], old: list[str], new: list[str]
) -> list[tuple[int, int]]:
    """Node index pairs from the ``old`` node order to ``new`` (dropping absent)."""
    index = {n: i for i, n in enumerate(new)}
    return [
        (index[old[a]], index[old[b]])
        for a, b in pairs
        if old[a] in index and old[b] in index
    ]


def _inbound_names(layer: dict) -> list[str]:
    nodes = layer.get("inbound_nodes") or []
    if not nodes:
        return []
    if len(nodes) > 1:
        raise ValueError(f"layer {layer['name']!r} is shared; not supported")
    node = nodes[0]
    if isinstance(node, dict):  # Keras 3 style: tensors nested in the call args
        names: list[str] = []

        def walk(item: Any) -> None:
            if isinstance(item, dict) and "keras_history" in item.get("config", {}):
                names.append(item["config"]["keras_history"][0])
            elif isinstance(item, (list, tuple)):
                for sub in item:
                    walk(sub)

        walk(node.get("args", []))
        return names
    return [entry[0] for entry in node]


def _kind_of(name: str) -> str | None:
    for key, kind in KIND_OF_OUTPUT:
        if key in name:
            return kind
    return None


def _output_kinds(outputs: list[str], where: Path) -> dict[str, str]:
    """Map head kind -> output layer name (the last one of each kind: stacks)."""
    by_kind: dict[str, str] = {}
    for name in outputs:
        kind = _kind_of(name)
        if kind is None:
            raise ValueError(f"{where}: output layer {name!r} is not a known head")
        by_kind[kind] = name  # later stacks overwrite earlier ones
    return by_kind


def build_keras_model(
    h5_path: Path, input_channels: int | None = None, offsets_stride: int = 1
) -> Any:
    """Rebuild the SLEAP 1.x network with an open input size and its weights.

    Returns a Keras model whose outputs are a dict keyed by head kind; offsets
    are multiplied by ``offsets_stride`` (grid units -> model-input pixels).
    """
    import h5py
    import keras

    try:
        h5 = h5py.File(h5_path, "r")
    except OSError as err:
        raise ValueError(f"{h5_path}: not a readable HDF5 model file ({err})") from err
    with h5:
        if "model_config" not in h5.attrs or "model_weights" not in h5:
            raise ValueError(
                f"{h5_path}: no model_config/model_weights; not a Keras 2 model "
                "saved by SLEAP 1.x"
            )
        raw = h5.attrs["model_config"]
        graph = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        weights = _read_weights(h5["model_weights"])

    spec = graph.get("config", {})
    layers = spec.get("layers", [])
    bad = sorted({ly["class_name"] for ly in layers} - ALLOWED_LAYERS)
    if bad:
        raise ValueError(
            f"{h5_path}: layer types {bad} are not supported (allowed: standard "
            "convolution, pooling, upsampling, merge and normalisation layers); "
            "models with custom or Lambda layers cannot be loaded safely"
        )
    outputs = [o[0] for o in spec.get("output_layers", [])]
    kinds = _output_kinds(outputs, h5_path)
    rename = {name: kind for kind, name in kinds.items()}
    if "offsets" in kinds:
        rename[kinds["offsets"]] = "offsets_grid"

    tensors: dict[str, Any] = {}
    built: dict[str, Any] = {}
    for ly in layers:
        cls_name, cfg = ly["class_name"], dict(ly["config"])
        name = ly.get("name") or cfg["name"]
        if cls_name == "InputLayer":
            shape = cfg.get("batch_input_shape") or cfg.get("batch_shape")
            channels = input_channels or shape[-1]
            tensors[name] = keras.Input(shape=(None, None, channels), name=name)
            continue
        cfg = _keras3_config(cls_name, cfg)
        cfg["name"] = rename.get(name, name)
        layer = getattr(keras.layers, cls_name).from_config(cfg)
        args = [tensors[n] for n in _inbound_names(ly)]
        tensors[name] = layer(args if len(args) > 1 else args[0])
        built[name] = layer

    inputs = [tensors[i[0]] for i in spec.get("input_layers", [])]
    outs = {kind: tensors[name] for kind, name in kinds.items()}
    if "offsets" in outs:
        scale = keras.layers.Rescaling(float(offsets_stride), name="offsets")
        outs["offsets"] = scale(outs["offsets"])
    model = keras.Model(
        inputs=inputs[0] if len(inputs) == 1 else inputs,
        outputs=outs,
        name="sleap1_model",
    )
    for name, layer in built.items():
        if layer.weights:
            if name not in weights:
                raise ValueError(f"{h5_path}: no weights stored for layer {name!r}")
            layer.set_weights(weights[name])
    return model


def _read_weights(group) -> dict[str, list]:
    """Weights per layer name, in the order the file lists them."""
    out = {}
    for name in group:
        sub = group[name]
        names = [
            n.decode() if isinstance(n, bytes) else n
            for n in sub.attrs.get("weight_names", [])
        ]
        if names:
            out[name] = [sub[n][()] for n in names]
    return out


def load_sleap1(folder: str | Path) -> tuple[ModelInfo, Any]:
    """Load a SLEAP 1.x model folder as (ModelInfo, Keras model with dict outputs)."""
    folder = Path(folder)
    if not is_sleap1_folder(folder):
        raise FileNotFoundError(
            f"{folder}: a SLEAP 1.x model folder needs {CONFIG_FILE} and "
            f"{WEIGHTS_FILE}; point at the folder SLEAP wrote for one model"
        )
    cfg = read_config(folder)
    info = model_info_from_config(cfg, folder / CONFIG_FILE)
    stride = info.heads["confmaps"].output_stride
    model = build_keras_model(folder / WEIGHTS_FILE, offsets_stride=stride)
    info.input_channels = int(model.inputs[0].shape[-1])
    _check_heads(info, model, folder)
    return info, model


def _check_heads(info: ModelInfo, model: Any, folder: Path) -> None:
    shapes = {k: int(v.shape[-1]) for k, v in model.output.items()}
    for kind, head in info.heads.items():
        if kind not in shapes:
            raise ValueError(
                f"{folder}: training_config.json declares a {kind} head but "
                f"{WEIGHTS_FILE} has outputs {sorted(shapes)}"
            )
        if shapes[kind] != head.channels:
            raise ValueError(
                f"{folder}: {kind} head has {shapes[kind]} channels in "
                f"{WEIGHTS_FILE} but the config implies {head.channels}"
            )
    for kind in shapes:
        if kind not in info.heads:
            info.heads[kind] = HeadInfo(kind, shapes[kind], 1)


def convert_sleap1(folder: str | Path, out_dir: str | Path) -> Path:
    """Write a SLEAP 1.x model folder as a napari-sleap model folder.

    The result holds ``model_info.json`` (source ``"sleap1"``), ``best.keras``
    and a copy of the original ``training_config.json``.
    """
    info, model = load_sleap1(folder)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (info.keras_file + ".tmp.keras")
    model.save(tmp)
    tmp.replace(out / info.keras_file)
    (out / CONFIG_FILE).write_text((Path(folder) / CONFIG_FILE).read_text())
    info.save(out)
    return out
