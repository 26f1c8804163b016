"""What an inference engine needs to know about a trained model, without TensorFlow.

Every model folder (written by ``napari-sleap train`` or converted from SLEAP 1.x)
holds a ``model_info.json`` that this module reads and writes. Training writes it;
predictors read it to preprocess frames, name the Keras outputs and map
coordinates back. Keeping it a plain dataclass lets the CLI, the GUI and tests
inspect a model folder without loading TensorFlow.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import asdict, dataclass, field
from pathlib import Path

from napari_sleap.config.roles import ROLES
from napari_sleap.io.atomic import write_text

FORMAT = "napari-sleap-model/1"
INFO_FILE = "model_info.json"


#: Head kinds; each is the name of a Keras model output.
HEAD_KINDS = (
    "confmaps",  # one Gaussian map per node (or one for the centroid)
    "pafs",  # part affinity fields, 2 channels per edge (x, y)
    "class_maps",  # one map per identity class (bottom-up id)
    "class_vectors",  # one softmax vector per crop (top-down id)
    "offsets",  # sub-pixel offset refinement, 2 channels per confmap channel
)


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


@dataclass
class HeadInfo:
    """One output of the Keras model.

    Attributes:
        kind: one of ``HEAD_KINDS``; also the Keras output name.
        channels: number of output channels.
        output_stride: input pixels per output pixel (1 for class vectors).
        sigma: Gaussian sigma in input-scale pixels (confmaps, class maps).
    """

    kind: str
    channels: int
    output_stride: int = 1
    sigma: float | None = None


@dataclass
class ModelInfo:
    """Everything needed to run a model and read its outputs.

    Attributes:
        role: one of ``ROLES``.
        node_names: skeleton node names, in channel order of node confmaps.
        edges: skeleton edges as node index pairs, in PAF channel order.
        symmetries: left/right node index pairs.
        heads: the model outputs by kind.
        input_scale: factor applied to full frames before the model (1.0 = none);
            for centered-instance models, applied to the crop.
        input_channels: 1 for grayscale, 3 for RGB.
        max_stride: pad the input so height and width are multiples of this.
        crop_size: side of the square crop around each instance (top-down
            centered models), in original-frame pixels; None for full frames.
        anchor_node: node the centroid model predicts (None = bounding-box
            centre of the visible nodes).
        class_names: identity classes (track names) for ``*_id`` roles.
        keras_file: the Keras model file inside the folder.
        source: ``"napari-sleap"`` or ``"sleap1"``.
    """

    role: str
    node_names: list[str]
    edges: list[tuple[int, int]] = field(default_factory=list)
    symmetries: list[tuple[int, int]] = field(default_factory=list)
    heads: dict[str, HeadInfo] = field(default_factory=dict)
    input_scale: float = 1.0
    input_channels: int = 1
    max_stride: int = 16
    crop_size: int | None = None
    anchor_node: str | None = None
    class_names: list[str] = field(default_factory=list)
    keras_file: str = "best.keras"
    source: str = "napari-sleap"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(
                f"model_info.role is {self.role!r}; allowed values: {', '.join(ROLES)}"
            )
        for kind in self.heads:
            if kind not in HEAD_KINDS:
                raise ValueError(
                    f"model_info.heads has {kind!r}; allowed: {', '.join(HEAD_KINDS)}"
                )
        self._check_fields()
        self.edges = [tuple(e) for e in self.edges]
        self.symmetries = [tuple(s) for s in self.symmetries]

    def _check_fields(self) -> None:
        """Refuse values of the wrong type or range, naming the field (untrusted)."""

        def bad(name: str, why: str) -> ValueError:
            value = getattr(self, name)
            return ValueError(f"model_info.{name} is {value!r}: {why}")

        if not isinstance(self.node_names, (list, tuple)) or not all(
            isinstance(n, str) for n in self.node_names
        ):
            raise bad("node_names", "expected a list of node names")
        n = len(self.node_names) or 1 << 30  # no nodes: reported by the heads
        for name in ("edges", "symmetries"):
            pairs = getattr(self, name)
            if not isinstance(pairs, (list, tuple)) or not all(
                isinstance(p, (list, tuple))
                and len(p) == 2
                and all(_is_int(i) and 0 <= i < n for i in p)
                for p in pairs
            ):
                raise bad(name, f"expected pairs of node indices in 0..{n - 1}")
        if not _is_number(self.input_scale) or not 0 < self.input_scale <= 16:
            raise bad("input_scale", "expected a number in (0, 16]")
        if not _is_int(self.input_channels) or self.input_channels not in (1, 3):
            raise bad("input_channels", "expected 1 (grayscale) or 3 (RGB)")
        if not _is_int(self.max_stride) or not 1 <= self.max_stride <= 1024:
            raise bad("max_stride", "expected an integer in 1..1024")
        if self.crop_size is not None and (
            not _is_int(self.crop_size) or not 1 <= self.crop_size <= 65536
        ):
            raise bad("crop_size", "expected a positive integer or null")
        if self.anchor_node is not None and self.anchor_node not in self.node_names:
            raise bad("anchor_node", f"expected one of {self.node_names} or null")
        if not isinstance(self.class_names, (list, tuple)) or not all(
            isinstance(c, str) for c in self.class_names
        ):
            raise bad("class_names", "expected a list of names")
        keras_file = self.keras_file
        if (
            not isinstance(keras_file, str)
            or not keras_file
            or "/" in keras_file
            or "\\" in keras_file
            or keras_file in (".", "..")
            or ":" in keras_file
        ):
            raise bad(
                "keras_file",
                "expected a file name inside the model folder (no folders, no "
                "'..'); model files may not point elsewhere",
            )
        for kind, head in self.heads.items():
            if not _is_int(head.channels) or head.channels < 1:
                raise ValueError(
                    f"model_info.heads.{kind}.channels is {head.channels!r}: "
                    "expected a positive integer"
                )
            if not _is_int(head.output_stride) or head.output_stride < 1:
                raise ValueError(
                    f"model_info.heads.{kind}.output_stride is "
                    f"{head.output_stride!r}: expected a positive integer"
                )
            if head.sigma is not None and (
                not _is_number(head.sigma) or head.sigma <= 0
            ):
                raise ValueError(
                    f"model_info.heads.{kind}.sigma is {head.sigma!r}: expected a "
                    "positive number or null"
                )

    def to_dict(self) -> dict:
        """Plain JSON-ready dictionary, with the format tag."""
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict, where: str = "model_info") -> ModelInfo:
        """Build from :meth:`to_dict` output; ``where`` names the source in errors."""
        data = dict(data)
        fmt = data.pop("format", None)
        if fmt != FORMAT:
            raise ValueError(f"{where}: format is {fmt!r}, expected {FORMAT!r}")
        try:
            raw = data.pop("heads", {})
            if not isinstance(raw, dict) or not all(
                isinstance(v, dict) for v in raw.values()
            ):
                raise ValueError("model_info.heads: expected {kind: {channels, ...}}")
            heads = {k: HeadInfo(**v) for k, v in raw.items()}
            return cls(heads=heads, **data)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"{where}: {err}. Fix: retrain the model, or restore this file "
                "from the model's original folder"
            ) from err

    def save(self, model_dir: str | Path) -> Path:
        """Write ``model_info.json`` into ``model_dir`` atomically."""
        path = Path(model_dir) / INFO_FILE
        return write_text(path, json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, model_dir: str | Path) -> ModelInfo:
        """Read ``model_info.json`` from a model folder, with errors that name it."""
        path = Path(model_dir) / INFO_FILE
        if not path.exists():
            raise FileNotFoundError(
                f"{path} not found: {model_dir} is not a napari-sleap model folder "
                "(train one with `napari-sleap train`, or point at a SLEAP 1.x "
                "folder with best_model.h5 and training_config.json)"
            )
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from err
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object of model fields")
        return cls.from_dict(data, where=str(path))
