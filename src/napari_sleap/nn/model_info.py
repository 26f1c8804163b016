"""What an inference engine needs to know about a trained model, without TensorFlow.

Every model folder (written by ``napari-sleap train`` or converted from SLEAP 1.x)
holds a ``model_info.json`` that this module reads and writes. Training writes it;
predictors read it to preprocess frames, name the Keras outputs and map
coordinates back. Keeping it a plain dataclass lets the CLI, the GUI and tests
inspect a model folder without loading TensorFlow.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

FORMAT = "napari-sleap-model/1"
INFO_FILE = "model_info.json"

#: The model roles a pipeline is assembled from.
ROLES = (
    "single_instance",
    "centroid",
    "centered_instance",
    "centered_instance_id",
    "bottom_up",
    "bottom_up_id",
)

#: Head kinds; each is the name of a Keras model output.
HEAD_KINDS = (
    "confmaps",  # one Gaussian map per node (or one for the centroid)
    "pafs",  # part affinity fields, 2 channels per edge (x, y)
    "class_maps",  # one map per identity class (bottom-up id)
    "class_vectors",  # one softmax vector per crop (top-down id)
    "offsets",  # sub-pixel offset refinement, 2 channels per confmap channel
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
        self.edges = [tuple(e) for e in self.edges]
        self.symmetries = [tuple(s) for s in self.symmetries]

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
            heads = {k: HeadInfo(**v) for k, v in data.pop("heads", {}).items()}
            return cls(heads=heads, **data)
        except TypeError as err:
            raise ValueError(f"{where}: {err}") from err

    def save(self, model_dir: str | Path) -> Path:
        """Write ``model_info.json`` into ``model_dir`` atomically."""
        path = Path(model_dir) / INFO_FILE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2))
        tmp.replace(path)
        return path

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
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from err
        return cls.from_dict(data, where=str(path))
