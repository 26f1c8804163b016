"""Open a model folder for inference: ours (``model_info.json``) or SLEAP 1.x.

Model files are untrusted input: Keras files load with ``safe_mode=True`` (no
Lambda layers, no code from the file) and SLEAP 1.x folders are rebuilt from
JSON by :mod:`napari_sleap.infer.sleap1`.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from napari_sleap.infer import sleap1
from napari_sleap.nn.model_info import INFO_FILE, ModelInfo


@dataclass
class LoadedModel:
    """A model ready to run: its description, Keras model and folder."""

    info: ModelInfo
    keras_model: Any
    folder: Path

    @property
    def role(self) -> str:
        """The model's role (``centroid``, ``bottom_up`` ...)."""
        return self.info.role


def _field_paths(data: Any, needle: str, key: str = "") -> list[str]:
    """Dotted keys of ``data`` whose value prints as ``needle``."""
    if isinstance(data, dict):
        return [
            p
            for k, v in data.items()
            for p in _field_paths(v, needle, f"{key}.{k}" if key else str(k))
        ]
    if isinstance(data, list):
        return [
            p
            for i, v in enumerate(data)
            for p in _field_paths(v, needle, f"{key}[{i}]")
        ]
    return [key] if repr(data) == needle or str(data) == needle else []


def _bad_sleap1_config(cfg: dict, path: Path, err: Exception) -> ValueError:
    """A clear error for a SLEAP 1.x config whose field has the wrong type."""
    text = str(err)
    fields: list[str] = []
    if isinstance(err, KeyError):
        text = f"missing field {err.args[0]!r}"
    else:
        match = re.search(r"'([^']*)'\s*$", text) or re.search(r": (\S+)$", text)
        if match:
            fields = _field_paths(cfg, match.group(1))
            if not fields:
                fields = _field_paths(cfg, repr(match.group(1)))
    named = f" (field {', '.join(fields[:3])})" if fields else ""
    return ValueError(
        f"{path}: a field has a value of the wrong type or is missing{named}: "
        f"{text}. Fix: restore the file from the model's original folder, or "
        "retrain the model"
    )


def _sleap1_info(folder: Path) -> ModelInfo:
    """ModelInfo of a SLEAP 1.x folder, with errors that name the file and field."""
    cfg = sleap1.read_config(folder)
    where = folder / sleap1.CONFIG_FILE
    try:
        return sleap1.model_info_from_config(cfg, where)
    except (TypeError, KeyError, AttributeError, ValueError) as err:
        if isinstance(err, ValueError) and str(where) in str(err):
            raise  # already names the file
        raise _bad_sleap1_config(cfg, where, err) from err


def load_model_info(folder: str | Path) -> ModelInfo:
    """Read a folder's ModelInfo without TensorFlow where possible."""
    folder = Path(folder)
    if (folder / INFO_FILE).exists():
        return ModelInfo.load(folder)
    if sleap1.is_sleap1_folder(folder):
        return _sleap1_info(folder)
    return ModelInfo.load(folder)  # raises the clear FileNotFoundError


def load_model(folder: str | Path) -> LoadedModel:
    """Load one model folder; SLEAP 1.x folders are converted in memory."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder {folder} does not exist")
    if not (folder / INFO_FILE).exists() and sleap1.is_sleap1_folder(folder):
        _sleap1_info(folder)  # field errors before TensorFlow starts
        info, model = sleap1.load_sleap1(folder)
        return LoadedModel(info, model, folder)
    info = ModelInfo.load(folder)
    path = folder / info.keras_file
    if not path.resolve().is_relative_to(folder.resolve()):
        raise ValueError(
            f"{folder / INFO_FILE}: keras_file {info.keras_file!r} leads outside the "
            "model folder; refused (model files are untrusted). Fix: name a file "
            "inside the folder"
        )
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: {folder / INFO_FILE} names keras_file "
            f"{info.keras_file!r}; retrain or copy the model file back"
        )
    if path.is_dir() or (path.suffix == ".keras" and not zipfile.is_zipfile(path)):
        raise ValueError(
            f"{path}: is not a Keras model file (a .keras model is a zip archive; "
            f"this is {'a folder' if path.is_dir() else 'something else'}). Fix: "
            "retrain, or copy the model file from the original model folder"
        )
    import keras

    # Our models use only built-in Keras layers (no custom objects to register).
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises many types for bad files
        raise ValueError(
            f"{path}: could not be loaded safely ({type(err).__name__}: {err}); "
            "models with Lambda layers or unregistered custom code are refused"
        ) from err
    outputs = model.output if isinstance(model.output, dict) else None
    if outputs is None:
        raise ValueError(
            f"{path}: outputs must be a dict keyed by head kind "
            f"({', '.join(info.heads)}); this model has unnamed outputs"
        )
    missing = [k for k in info.heads if k not in outputs]
    if missing:
        raise ValueError(
            f"{path}: model_info.json lists heads {missing} the Keras model lacks "
            f"(it has {sorted(outputs)})"
        )
    return LoadedModel(info, model, folder)
