"""Export a trained model for use outside this package: SavedModel or ONNX.

The exported graph takes float32 frames in [0, 1], shape ``(batch, H, W, C)``
at the frame size chosen at export (crops of ``crop_size`` for centered-instance
models), and does what our runner does before the network: resize by the
model's input scale and zero-pad bottom/right to its stride. Its outputs are
the head maps named by kind (``confmaps``, ``pafs`` ...). What a reader needs
to turn maps into frame coordinates (skeleton, strides, input scale) travels
with it as JSON: a ``napari_sleap_export.json`` file inside the SavedModel
folder, or the ONNX model's ``napari_sleap_export`` metadata entry.

Loading an export back (:func:`load_exported`) treats it as untrusted input:
the JSON is validated, the graph's input and outputs must match it, and a
SavedModel's serving graph may not hold Python-calling or file operations.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from napari_sleap.config.roles import CENTERED_ROLES
from napari_sleap.infer.model_io import load_model
from napari_sleap.io.atomic import atomic_path, partial_path, write_text
from napari_sleap.nn.model_info import ModelInfo

FORMATS = ("savedmodel", "onnx")
#: Tag of the export's JSON description.
EXPORT_FORMAT = "napari-sleap-export/1"
#: File (SavedModel) or metadata key (ONNX) holding that JSON.
EXPORT_KEY = "napari_sleap_export"
INPUT_NAME = "image"
#: Largest frame side an export accepts (a typo guard, not a hardware limit).
MAX_SIDE = 16384
#: SavedModel operations refused in a serving graph: they run Python or touch files.
FORBIDDEN_OPS = frozenset(
    {
        "PyFunc",
        "PyFuncStateless",
        "EagerPyFunc",
        "ReadFile",
        "WriteFile",
        "MatchingFiles",
        "Save",
        "SaveV2",
        "SaveSlices",
        "MergeV2Checkpoints",
        "PrintV2",
        "ImmutableConst",
    }
)


@dataclass
class ExportSpec:
    """How an exported model is fed and read.

    Attributes:
        info: the model's description (skeleton, heads, scale, stride).
        frame_size: ``(height, width)`` of the input frames (or crops).
        model_input: ``(height, width)`` the network sees after scale and pad.
    """

    info: ModelInfo
    frame_size: tuple[int, int]
    model_input: tuple[int, int]

    def to_dict(self) -> dict:
        """JSON-ready description of the export."""
        return {
            "format": EXPORT_FORMAT,
            "input": {
                "name": INPUT_NAME,
                "dtype": "float32",
                "range": [0.0, 1.0],
                "shape": [None, *self.frame_size, self.info.input_channels],
            },
            "model_input": list(self.model_input),
            "outputs": {
                k: {"channels": h.channels, "output_stride": h.output_stride}
                for k, h in self.info.heads.items()
            },
            "to_frame": "frame_xy = map_xy * output_stride / input_scale",
            "model_info": self.info.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any, where: str) -> ExportSpec:
        """Validate an export's JSON; errors name ``where`` and the field."""
        fix = "Fix: export the model again with `napari-sleap export-model`"
        if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValueError(
                f"{where}: format is {got!r}, expected {EXPORT_FORMAT!r}. {fix}"
            )
        info = ModelInfo.from_dict(data.get("model_info"), where=f"{where}: model_info")
        shape = (
            data.get("input", {}).get("shape")
            if isinstance(data.get("input"), dict)
            else None
        )
        if not (isinstance(shape, list) and len(shape) == 4):
            raise ValueError(
                f"{where}: field input.shape must be [null, H, W, C]. {fix}"
            )
        frame = _check_size(shape[1:3], f"{where}: field input.shape")
        if shape[3] != info.input_channels:
            raise ValueError(
                f"{where}: field input.shape has {shape[3]} channels but model_info "
                f"says {info.input_channels}. {fix}"
            )
        return cls(info, frame, model_input_size(info, frame))


def _check_size(size: Any, what: str) -> tuple[int, int]:
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in size)
        or not all(1 <= v <= MAX_SIDE for v in size)
    ):
        raise ValueError(
            f"{what}: {size!r} is not a (height, width) of 1..{MAX_SIDE} pixels"
        )
    return int(size[0]), int(size[1])


def model_input_size(info: ModelInfo, frame_size: tuple[int, int]) -> tuple[int, int]:
    """The network's input size for a frame: scaled as the runner does, then padded."""
    scale = float(info.input_scale)
    h, w = frame_size
    if scale != 1.0:
        h, w = max(1, round(h * scale)), max(1, round(w * scale))
    stride = int(info.max_stride)
    return h + (-h) % stride, w + (-w) % stride


def default_frame_size(info: ModelInfo, model_dir: Path) -> tuple[int, int]:
    """Crop size for centered-instance models; full-frame models need it given."""
    if info.role in CENTERED_ROLES and info.crop_size:
        return int(info.crop_size), int(info.crop_size)
    raise ValueError(
        f"{model_dir}: a {info.role} model runs on whole frames, so the export needs "
        "their size. Fix: pass --frame-size HEIGHT WIDTH (e.g. --frame-size 1024 1024)"
    )


def build_export_model(loaded: Any, frame_size: tuple[int, int]) -> Any:
    """A Keras model: float frames in, the runner's preprocessing, head maps out."""
    import keras

    info = loaded.info
    h, w = frame_size
    inp = keras.Input(
        (h, w, int(info.input_channels)), name=INPUT_NAME, dtype="float32"
    )
    x = inp
    if float(info.input_scale) != 1.0:
        sh, sw = (
            max(1, round(h * info.input_scale)),
            max(1, round(w * info.input_scale)),
        )
        x = keras.layers.Resizing(sh, sw, interpolation="bilinear", name="input_scale")(
            x
        )
    else:
        sh, sw = h, w
    ph, pw = (-sh) % int(info.max_stride), (-sw) % int(info.max_stride)
    if ph or pw:
        x = keras.layers.ZeroPadding2D(((0, ph), (0, pw)), name="stride_pad")(x)
    out = loaded.keras_model(x, training=False)
    return keras.Model(inp, {k: out[k] for k in info.heads}, name=f"{info.role}_export")


def _check_target(out: Path, model_dir: Path, fmt: str, overwrite: bool) -> None:
    """Refuse an output overlapping the model folder, or not an earlier export."""
    from napari_sleap.io.outputs import OutputError, same_file

    src = model_dir.resolve()
    dst = out.resolve()
    if dst == src or dst.is_relative_to(src) or src.is_relative_to(dst):
        raise OutputError(
            f"-o {out}: is the model folder {model_dir} or overlaps it; exporting "
            "there could overwrite the model. Fix: choose a path outside the folder"
        )
    for f in model_dir.iterdir():
        if out.exists() and same_file(out, f):
            raise OutputError(f"-o {out}: is an input ({f}). Fix: choose another -o")
    if not out.parent.is_dir():
        raise FileNotFoundError(
            f"-o {out}: folder {out.parent} does not exist; create it first"
        )
    if not out.exists():
        return
    ours = (
        (out / f"{EXPORT_KEY}.json").exists() if out.is_dir() else out.suffix == ".onnx"
    )
    wanted_dir = fmt == "savedmodel"
    if out.is_dir() != wanted_dir:
        kind = "a folder" if out.is_dir() else "a file"
        raise OutputError(
            f"-o {out}: exists and is {kind}; a {fmt} export is "
            f"{'a folder' if wanted_dir else 'one .onnx file'}. Fix: choose another -o"
        )
    if not (overwrite and ours):
        why = "pass --overwrite to replace it" if ours else "choose another -o"
        raise OutputError(f"-o {out}: exists (not replaced). Fix: {why}")


def _write_savedmodel(model: Any, spec: ExportSpec, out: Path) -> None:
    tmp = partial_path(out)
    old = partial_path(out)
    try:
        model.export(str(tmp), format="tf_saved_model", verbose=False)
        write_text(tmp / f"{EXPORT_KEY}.json", json.dumps(spec.to_dict(), indent=2))
        if out.exists():
            os.replace(out, old)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def _write_onnx(model: Any, spec: ExportSpec, out: Path) -> None:
    import onnx

    h, w = spec.frame_size
    model(
        np.zeros((1, h, w, spec.info.input_channels), np.float32)
    )  # ONNX wants a call
    with atomic_path(out, suffix=".onnx") as tmp, warnings.catch_warnings():
        # Keras' numpy-2 patch of tf2onnx probes np.object: harmless FutureWarning
        warnings.simplefilter("ignore", FutureWarning)
        model.export(str(tmp), format="onnx", verbose=False)
        proto = onnx.load(str(tmp))
        entry = proto.metadata_props.add()
        entry.key = EXPORT_KEY
        entry.value = json.dumps(spec.to_dict())
        onnx.save(proto, str(tmp))


def export_model(
    model_dir: str | Path,
    out: str | Path,
    fmt: str,
    frame_size: tuple[int, int] | None = None,
    overwrite: bool = False,
) -> ExportSpec:
    """Export one model folder (ours or SLEAP 1.x) as ``fmt``; returns its spec.

    Args:
        model_dir: the model folder.
        out: a folder (savedmodel) or a ``.onnx`` file (onnx); written atomically.
        fmt: ``savedmodel`` or ``onnx``.
        frame_size: ``(height, width)`` of the input; centered-instance models
            default to their crop size.
        overwrite: replace an earlier export at ``out`` (never anything else).
    """
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    model_dir, out = Path(model_dir), Path(out)
    if fmt == "onnx" and out.suffix != ".onnx":
        raise ValueError(
            f"-o {out}: an ONNX export is one file ending in .onnx. Fix: -o {out}.onnx"
        )
    if not model_dir.is_dir():
        raise FileNotFoundError(f"model folder {model_dir} does not exist")
    _check_target(out, model_dir, fmt, overwrite)
    loaded = load_model(model_dir)
    size = (
        _check_size(list(frame_size), "--frame-size")
        if frame_size is not None
        else default_frame_size(loaded.info, model_dir)
    )
    spec = ExportSpec(loaded.info, size, model_input_size(loaded.info, size))
    model = build_export_model(loaded, size)
    if fmt == "savedmodel":
        _write_savedmodel(model, spec, out)
    else:
        _write_onnx(model, spec, out)
    return spec


def _as_input(x: Any, channels: int) -> np.ndarray:
    """Frames as the export wants them: float32 in [0, 1], the model's channels."""
    x = np.asarray(x)
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    if x.shape[-1] != channels:
        if channels == 1:  # TensorFlow's rgb_to_grayscale weights
            x = (x @ np.array([0.2989, 0.587, 0.114], np.float32))[..., None]
        else:
            x = np.repeat(x, 3, axis=-1)
    return x


class ExportedModel:
    """An export loaded back: ``model(frames) -> {head kind: maps}`` (numpy).

    Frames are uint8 or float32 in [0, 1], ``(batch, H, W, C)`` at the export's
    frame size.
    """

    def __init__(self, path: Path, spec: ExportSpec, run: Any, fmt: str):
        self.path, self.spec, self._run, self.format = path, spec, run, fmt

    @property
    def info(self) -> ModelInfo:
        """The exported model's description."""
        return self.spec.info

    def __call__(self, frames: Any) -> dict[str, np.ndarray]:
        """Head maps for a batch of frames."""
        x = _as_input(frames, self.info.input_channels)
        if tuple(x.shape[1:3]) != self.spec.frame_size:
            raise ValueError(
                f"{self.path}: exported for {self.spec.frame_size} frames, got "
                f"{tuple(x.shape[1:3])}. Fix: export again with --frame-size "
                f"{x.shape[1]} {x.shape[2]}"
            )
        return self._run(x)


def _onnx_loader(path: Path) -> ExportedModel:
    import onnxruntime as ort

    try:
        options = ort.SessionOptions()
        # Spin-waiting worker threads cost more than they save on a shared CPU
        # (and beside TensorFlow's threads): measured in bench/bench_export.py.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
    except Exception as err:  # onnxruntime raises its own types for bad files
        raise ValueError(
            f"{path}: not a loadable ONNX model ({type(err).__name__}: {err})"
        ) from err
    raw = session.get_modelmeta().custom_metadata_map.get(EXPORT_KEY)
    if raw is None:
        raise ValueError(
            f"{path}: has no {EXPORT_KEY!r} metadata entry, so it was not exported by "
            "napari-sleap. Fix: export the model with `napari-sleap export-model`"
        )
    spec = _parse_spec(raw, path)
    names = [o.name for o in session.get_outputs()]
    _check_graph(
        path,
        [i.name for i in session.get_inputs()],
        names,
        session.get_inputs()[0].shape,
        spec,
    )

    def run(x: np.ndarray) -> dict[str, np.ndarray]:
        return dict(zip(names, session.run(names, {INPUT_NAME: x}), strict=True))

    return ExportedModel(path, spec, run, "onnx")


def _serving_ops(fn: Any) -> set[str]:
    graph = fn.graph.as_graph_def()
    ops = {n.op for n in graph.node}
    for f in graph.library.function:
        ops.update(n.op for n in f.node_def)
    return ops


def _savedmodel_loader(path: Path) -> ExportedModel:
    import tensorflow as tf

    meta = path / f"{EXPORT_KEY}.json"
    if not meta.is_file():
        raise ValueError(
            f"{path}: {meta.name} is missing, so this SavedModel was not exported by "
            "napari-sleap. Fix: export the model with `napari-sleap export-model`"
        )
    spec = _parse_spec(meta.read_text(errors="replace"), meta)
    try:
        obj = tf.saved_model.load(str(path))
        fn = obj.signatures["serving_default"]
    except Exception as err:  # TensorFlow raises many types for bad folders
        raise ValueError(
            f"{path}: not a loadable SavedModel ({type(err).__name__}: {err})"
        ) from err
    bad = sorted(_serving_ops(fn) & FORBIDDEN_OPS)
    if bad:
        raise ValueError(
            f"{path}: its serving graph holds operations {bad} (Python calls or file "
            "access) that no exported model needs; refused (exports are untrusted)"
        )
    inputs = list(fn.structured_input_signature[1])
    outputs = list(fn.structured_outputs)
    spec_in = (
        fn.structured_input_signature[1][inputs[0]].shape.as_list() if inputs else []
    )
    _check_graph(path, inputs, outputs, spec_in, spec)

    def run(x: np.ndarray) -> dict[str, np.ndarray]:
        out = fn(**{inputs[0]: tf.constant(x)})
        return {k: v.numpy() for k, v in out.items()}

    return ExportedModel(path, spec, run, "savedmodel")


def _parse_spec(raw: str, where: Path) -> ExportSpec:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{where}: the {EXPORT_KEY} description is not valid JSON ({err})"
        ) from err
    return ExportSpec.from_dict(data, str(where))


def _check_graph(
    path: Path, inputs: list, outputs: list, shape: list, spec: ExportSpec
) -> None:
    """The graph's single input and its outputs must be what the JSON says."""
    want = [None, *spec.frame_size, spec.info.input_channels]
    got = [d if isinstance(d, int) else None for d in shape]
    if len(inputs) != 1 or got != want:
        raise ValueError(
            f"{path}: graph input {inputs} of shape {shape} does not match its "
            f"description ({INPUT_NAME} {want}); refused"
        )
    if sorted(outputs) != sorted(spec.info.heads):
        raise ValueError(
            f"{path}: graph outputs {sorted(outputs)} do not match its description "
            f"({sorted(spec.info.heads)}); refused"
        )


def load_exported(path: str | Path) -> ExportedModel:
    """Load an export (a ``.onnx`` file or a SavedModel folder), checked."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"exported model {path} does not exist")
    return _savedmodel_loader(path) if path.is_dir() else _onnx_loader(path)


class ExportedRunner:
    """An :class:`ExportedModel` where an inference layer expects a Runner."""

    def __init__(self, exported: ExportedModel):
        self.exported = exported
        self.info = exported.info

    def __call__(self, x: Any, pad_to: int | None = None) -> dict[str, np.ndarray]:
        """Maps for a batch (``pad_to`` is a TensorFlow retrace guard: unused)."""
        return self.exported(x)


def use_exported(layer: Any, exported: list[ExportedModel]) -> None:
    """Make an inference layer run exported models instead of its Keras ones.

    Args:
        layer: a layer of :mod:`napari_sleap.infer.layers`.
        exported: one per model of the layer, matched by role.
    """
    by_role = {e.info.role: ExportedRunner(e) for e in exported}
    for attr in ("runner", "centroid_runner", "instance_runner"):
        runner = getattr(layer, attr, None)
        if runner is None:
            continue
        role = runner.info.role
        if role not in by_role:
            raise ValueError(f"no exported model for the {role} model of this pipeline")
        setattr(layer, attr, by_role[role])
