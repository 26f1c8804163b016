"""The predict and track panel: run models over frames in a job process.

Pick model folders (ours, or SLEAP 1.x with ``training_config.json``), frames
(current, a range, all, suggested, labeled), a tracker and the number of
animals. Predictions stream into a live Points layer (and a Tracks layer for
identity models) as batches finish; when the job ends its tracked ``.slp`` is
loaded as the usual instances, edges and tracks layers, ready to proofread.

In batch mode the panel takes a list of videos (or a folder of them) and an
output folder, runs :func:`napari_sleap.distributed.job.predict_videos` in the
job process (the videos in turn, or on a dask cluster), shows each video's
progress and state, and lists the ``.slp`` written per video; a video that
cannot be read is marked failed with its reason while the others finish.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from napari_sleap.config.roles import SLEAP1_HEAD_ROLES, pipeline_of
from napari_sleap.napari.compat import unproxied
from napari_sleap.napari.docks.job_view import JobView
from napari_sleap.napari.docks.predict_batch import BatchBox
from napari_sleap.napari.docks.train import (
    labels_source,
    on_trained,
    trained_models,
    with_browse,
)
from napari_sleap.napari.layers.convert import META_KEY, labels_to_layers, layer_meta
from napari_sleap.track.trackers import TRACKERS

if TYPE_CHECKING:
    import napari

FRAME_CHOICES = ("current", "range", "all", "suggested", "labeled")
#: The panel's modes: one video or labels file, or a batch of videos.
MODES = ("one input", "batch of videos")
#: Files that make a folder a model folder (ours, SLEAP 1.x).
MODEL_FILES = ("model_info.json", "training_config.json")
LIVE_ROLE = "live predictions"
#: Open Predict panels, for :func:`chosen_models` (Add predicts with their models).
_PANELS: weakref.WeakSet[PredictPanel] = weakref.WeakSet()


def chosen_models(viewer: Any) -> list[str]:
    """The model folders listed in a Predict panel of ``viewer`` (newest first)."""
    real = unproxied(viewer)
    for panel in reversed(list(_PANELS)):
        if unproxied(panel.viewer) is real and panel.model_dirs:
            return panel.model_dirs
    return []


def is_model_dir(path: Path) -> bool:
    """True for a folder holding one trained model."""
    return any((path / name).exists() for name in MODEL_FILES)


def model_role(path: Path) -> str:
    """A model folder's role (``centroid``, ...) from its JSON; '' if unknown."""
    try:
        if (path / MODEL_FILES[0]).exists():
            return str(json.loads((path / MODEL_FILES[0]).read_text()).get("role", ""))
        heads = json.loads((path / MODEL_FILES[1]).read_text())["model"]["heads"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ""
    return next((SLEAP1_HEAD_ROLES.get(k, k) for k, v in heads.items() if v), "")


@dataclass
class FolderModels:
    """What a chosen folder offers: its model folders and a sentence about them.

    ``confirm`` is True when the folder is not a model itself but a pipeline's
    folder: its models are listed and added only once the user confirms.
    """

    dirs: list[str]
    text: str
    confirm: bool = False


def models_in_folder(folder: str | Path) -> FolderModels:
    """The models a folder adds: itself, or its own pipeline's models (to confirm).

    A parent of unrelated models is refused rather than adding them all.

    Raises:
        FileNotFoundError: the folder does not exist.
        ValueError: neither a model nor one pipeline's folder.
    """
    p = Path(folder)
    if is_model_dir(p):
        role = model_role(p)
        return FolderModels(
            [str(p)], f"added {p.name}" + (f" ({role})" if role else "")
        )
    if not p.is_dir():
        raise FileNotFoundError(f"model folder {p} not found; pick a model folder")
    found = sorted(c for c in p.iterdir() if c.is_dir() and is_model_dir(c))
    if not found:
        raise ValueError(
            f"{p}: no model here (no {' or '.join(MODEL_FILES)} in it or its "
            "subfolders); pick a trained model folder"
        )
    roles = [model_role(c) for c in found]
    pipeline = pipeline_of(roles)
    names = ", ".join(c.name for c in found)
    if pipeline is None:
        raise ValueError(
            f"{p} is not a model folder: it holds {len(found)} models ({names}) that "
            "are not one pipeline's; add the model folders you want one by one"
        )
    return FolderModels(
        [str(c) for c in found],
        f"{p.name} holds a {pipeline} pipeline: {names}. Add "
        + ("both?" if len(found) == 2 else "it?"),
        confirm=True,
    )


def add_labels_layers(viewer: Any, labels: Any, source: str | None = None) -> list:
    """Add instances, edges and tracks layers of ``labels`` (no image layer)."""
    from napari.layers import Layer

    from napari_sleap.napari.colormaps import tracks_colormap
    from napari_sleap.napari.sync.skeleton_link import install

    added = []
    for data, kwargs, kind in labels_to_layers(labels):
        if source:
            kwargs["metadata"][META_KEY]["source"] = str(source)
        if kind == "tracks":
            kwargs = tracks_colormap(kwargs)
        added.append(viewer.add_layer(Layer.create(data, kwargs, kind)))
    install(viewer)
    return added


def _model_item(folder: str) -> QListWidgetItem:
    """A list row showing ``<training>/<model>``; the full path in its tooltip."""
    p = Path(folder)
    item = QListWidgetItem(f"{p.parent.name}/{p.name}" if p.parent.name else p.name)
    item.setToolTip(str(p))
    item.setData(Qt.ItemDataRole.UserRole, str(p))
    return item


def open_source(viewer: Any) -> str:
    """The file to predict by default: the open ``.slp``, else the open video.

    Prediction results (``*.predictions.slp``) are skipped: a new run should
    predict the labels or video they came from.
    """
    labels = labels_source(viewer)
    if labels and not labels.endswith(".predictions.slp"):
        return labels
    for layer in reversed(list(viewer.layers)):
        if type(layer).__name__ != "Image":
            continue
        path = layer_meta(layer).get("source") or getattr(layer.source, "path", None)
        if path and Path(str(path)).exists():
            return str(path)
    return labels


class PredictPanel(QWidget):
    """Dock widget that predicts poses (and tracks) with trained models.

    Args:
        napari_viewer: The viewer (napari passes it).
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.result: dict[str, Any] | None = None
        #: The last finished batch job's result (see ``distributed.job``).
        self.batch_result: dict[str, Any] | None = None
        self.live_points: Any = None
        self.live_tracks: Any = None
        self.result_layers: list = []
        #: Called with the loaded result layers after each finished run.
        self.finished: list[Callable[[list], None]] = []
        self._build()
        _PANELS.add(self)
        for dirs in trained_models(napari_viewer)[-1:]:
            self.set_models(dirs)
        on_trained(napari_viewer, self.set_models)
        napari_viewer.layers.events.inserted.connect(lambda e: self._guess_source())
        self._guess_source()

    # ------------------------------------------------------------------ UI

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.addWidget(QLabel("Model folders (ours or SLEAP 1.x)"))
        self.models_list = QListWidget()
        self.models_list.setMaximumHeight(80)
        root.addWidget(self.models_list)
        row = QHBoxLayout()
        self.add_btn = QPushButton("Add folder...")
        self.add_btn.setToolTip(
            "A model folder, or a pipeline's folder (its models are listed first)"
        )
        self.add_btn.clicked.connect(lambda *_: self._browse_model())
        self.clear_btn = QPushButton("Clear")
        self.clear_btn.clicked.connect(lambda *_: self.models_list.clear())
        row.addWidget(self.add_btn)
        row.addWidget(self.clear_btn)
        root.addLayout(row)
        # Confirms a pipeline folder's models before they are added.
        self.confirm_box = QWidget()
        confirm = QHBoxLayout(self.confirm_box)
        confirm.setContentsMargins(0, 0, 0, 0)
        self.confirm_label = QLabel("")
        self.confirm_label.setWordWrap(True)
        self.confirm_yes = QPushButton("Add")
        self.confirm_yes.clicked.connect(lambda *_: self._confirm(True))
        self.confirm_no = QPushButton("Cancel")
        self.confirm_no.clicked.connect(lambda *_: self._confirm(False))
        confirm.addWidget(self.confirm_label, 1)
        confirm.addWidget(self.confirm_yes)
        confirm.addWidget(self.confirm_no)
        self.confirm_box.setVisible(False)
        root.addWidget(self.confirm_box)
        self._pending: list[str] = []

        mode_row = QFormLayout()
        self.mode_combo = QComboBox()
        self.mode_combo.addItems(list(MODES))
        self.mode_combo.setToolTip(
            "one input: a video or labels file, streamed into the viewer; "
            "batch: many videos, one .slp each, in the job process or on dask"
        )
        mode_row.addRow("Mode", self.mode_combo)
        root.addLayout(mode_row)

        self.single_box = QWidget()
        form = QFormLayout(self.single_box)
        form.setContentsMargins(0, 0, 0, 0)
        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText("video or labels (.slp): the open one")
        form.addRow("Input", with_browse(self.source_edit, self._browse_source))
        self.frames_combo = QComboBox()
        self.frames_combo.addItems(list(FRAME_CHOICES))
        self.frames_combo.setCurrentText("all")
        form.addRow("Frames", self.frames_combo)
        self.range_edit = QLineEdit()
        self.range_edit.setPlaceholderText("e.g. 0-499,600")
        form.addRow("Range", self.range_edit)
        self.output_edit = QLineEdit()
        self.output_edit.setPlaceholderText("<input>.predictions.slp")
        form.addRow("Output", with_browse(self.output_edit, self._browse_output))
        root.addWidget(self.single_box)
        self.batch = BatchBox()
        self.batch.table.cellDoubleClicked.connect(
            lambda row, _col: self.job.guard(lambda: self.open_batch_output(row))
        )
        self.batch.setVisible(False)
        root.addWidget(self.batch)
        self.mode_combo.currentTextChanged.connect(self._mode_changed)

        form = QFormLayout()
        self.tracker_combo = QComboBox()
        self.tracker_combo.addItems(["none", *TRACKERS])
        self.tracker_combo.setCurrentText("simple")
        form.addRow("Tracker", self.tracker_combo)
        self.max_tracks_spin = QSpinBox()
        self.max_tracks_spin.setRange(0, 1000)
        self.max_tracks_spin.setValue(2)
        self.max_tracks_spin.setSpecialValueText("no cap")
        form.addRow("Max tracks", self.max_tracks_spin)
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setRange(0.0, 1.0)
        self.threshold_spin.setSingleStep(0.01)
        self.threshold_spin.setValue(0.2)
        self.threshold_spin.setToolTip("Least confidence of a detected node")
        form.addRow("Peak threshold", self.threshold_spin)
        root.addLayout(form)
        self.predict_btn = QPushButton("Predict")
        self.predict_btn.clicked.connect(lambda *_: self.job.guard(self.predict))
        root.addWidget(self.predict_btn)
        self.job = JobView()
        root.addWidget(self.job)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        root.addWidget(self.summary)
        root.addStretch(1)

    def _browse_model(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Model folder")
        if path:
            self.job.guard(lambda: self.add_folder(path))

    def _browse_source(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Video or labels",
            str(Path(self.source_edit.text()).parent)
            if self.source_edit.text()
            else "",
            "Videos and labels (*.slp *.mp4 *.avi *.mov *.mkv *.tif *.tiff *.h5);;"
            "All files (*)",
        )
        if path:
            self.source_edit.setText(path)
            self.job.clear_error()

    def _browse_output(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Predictions", self.output_edit.text(), "SLEAP (*.slp)"
        )
        if path:
            self.output_edit.setText(path if path.endswith(".slp") else path + ".slp")

    def _guess_source(self) -> None:
        if not self.source_edit.text():
            self.source_edit.setText(open_source(self.viewer))

    # ------------------------------------------------------------- settings

    def set_models(self, dirs: list[str]) -> None:
        """Use exactly these model folders."""
        self.models_list.clear()
        self.add_models(dirs)

    def add_models(self, dirs: list[str]) -> list[str]:
        """Add model folders to the list; returns those that were new.

        Raises:
            ValueError: a folder is not a model (see :meth:`add_folder`).
        """
        added = []
        for d in dirs:
            for m in models_in_folder(d).dirs if not is_model_dir(Path(d)) else [d]:
                if m not in self.model_dirs:
                    self.models_list.addItem(_model_item(m))
                    added.append(m)
        return added

    def add_folder(self, folder: str) -> FolderModels:
        """What "Add folder" does: add a model, or list a pipeline's to confirm."""
        found = models_in_folder(folder)
        self._confirm(False)
        if found.confirm:
            self._pending = found.dirs
            self.confirm_label.setText(found.text)
            self.confirm_box.setVisible(True)
            return found
        added = self.add_models(found.dirs)
        self.job.clear_error(found.text if added else f"{found.dirs[0]} is listed")
        return found

    def _confirm(self, yes: bool) -> None:
        """Add the pending pipeline models (or drop them) and say what was added."""
        pending, self._pending = self._pending, []
        self.confirm_box.setVisible(False)
        if yes and pending:
            added = self.add_models(pending)
            names = ", ".join(Path(d).name for d in added) or "nothing new"
            self.job.clear_error(f"added {names} from {Path(pending[0]).parent}")

    @property
    def model_dirs(self) -> list[str]:
        """The listed model folders."""
        return [
            self.models_list.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.models_list.count())
        ]

    def source(self) -> str:
        """The input: the field, else the open labels or video (:func:`open_source`)."""
        text = self.source_edit.text().strip() or open_source(self.viewer)
        if not text:
            raise ValueError("no input: open a .slp or video, or pick one under Input")
        if not Path(text).exists():
            raise FileNotFoundError(f"input {text} not found")
        return text

    def frame_options(self, source: str) -> dict[str, Any]:
        """The job's frame arguments for the chosen frames."""
        choice = self.frames_combo.currentText()
        is_slp = source.endswith(".slp")
        if choice in ("suggested", "labeled") and not is_slp:
            raise ValueError(f"frames '{choice}' need a labels file (.slp) as input")
        if choice == "current":
            return {"frames": [int(self.viewer.dims.current_step[0])]}
        if choice == "range":
            spec = self.range_edit.text().strip()
            if not spec:
                raise ValueError("frames 'range': type a range such as 0-499")
            return {"frames": spec}
        if choice == "suggested":
            return {"only_suggested": True}
        if choice == "labeled":
            return {"only_labeled": True}
        return {}

    def output(self, source: str) -> str:
        """The output ``.slp`` (default: beside the input)."""
        text = self.output_edit.text().strip()
        if text:
            return text
        p = Path(source)
        stem = p.name[: -len(".slp")] if p.name.endswith(".slp") else p.stem
        return str(p.with_name(f"{stem}.predictions.slp"))

    # -------------------------------------------------------------- running

    @property
    def batch_mode(self) -> bool:
        """True when the panel predicts a batch of videos."""
        return self.mode_combo.currentText() == MODES[1]

    def _mode_changed(self, _text: str = "") -> None:
        batch = self.batch_mode
        self.single_box.setVisible(not batch)
        self.batch.setVisible(batch)
        self.predict_btn.setText("Predict all videos" if batch else "Predict")

    def predict(self) -> Any:
        """Start predicting in a job process; returns its handle."""
        if self.batch_mode:
            return self.predict_batch()
        dirs = self.model_dirs
        if not dirs:
            raise ValueError("no model: train one or add a model folder")
        source = self.source()
        tracker = self.tracker_combo.currentText()
        kwargs = {
            "model_dirs": dirs,
            "source": source,
            "output": self.output(source),
            "tracker": None if tracker == "none" else tracker,
            "max_tracks": self.max_tracks_spin.value() or None,
            "peak_threshold": float(self.threshold_spin.value()),
            **self.frame_options(source),
        }
        self._remove_live()
        self.summary.setText("")
        return self.job.start(
            "napari_sleap.jobs.tasks:predict",
            kwargs,
            on_data={"batch": self.add_batch},
            on_end=self._on_end,
            what="prediction",
        )

    def add_batch(self, batch: dict) -> None:
        """Append one streamed batch of poses to the live layers."""
        pts = np.asarray(batch["points"], dtype=np.float64)  # (I, N, 2) xy
        if not len(pts):
            return
        n_nodes = pts.shape[1]
        frame = np.repeat(batch["frame"], n_nodes).astype(np.float64)
        flat = pts.reshape(-1, 2)
        ok = np.isfinite(flat).all(axis=1)
        rows = np.column_stack([frame, flat[:, 1], flat[:, 0]])[ok]
        score = np.asarray(batch["point_scores"], dtype=np.float64).reshape(-1)[ok]
        if self.live_points is None:
            self.live_points = self.viewer.add_points(
                rows,
                name="predictions (live)",
                size=6,
                face_color="#ffd32a",
                border_width=0,
                opacity=0.8,
                features={"score": score},
                metadata={META_KEY: {"role": LIVE_ROLE}},
            )
        else:
            layer = self.live_points
            layer.data = np.concatenate([layer.data, rows])
        cls = np.asarray(batch["class_inds"])
        if (cls >= 0).any():
            self._add_live_tracks(batch, pts, cls)

    def _add_live_tracks(self, batch: dict, pts: np.ndarray, cls: np.ndarray) -> None:
        with np.errstate(invalid="ignore"):
            center = np.nanmean(pts, axis=1)
        keep = (cls >= 0) & np.isfinite(center).all(axis=1)
        rows = np.column_stack(
            [cls[keep], batch["frame"][keep], center[keep, 1], center[keep, 0]]
        ).astype(np.float64)
        if self.live_tracks is None:
            self.live_tracks = self.viewer.add_tracks(
                rows, name="tracks (live)", metadata={META_KEY: {"role": LIVE_ROLE}}
            )
        else:
            data = np.concatenate([self.live_tracks.data, rows])
            order = np.lexsort((data[:, 1], data[:, 0]))
            self.live_tracks.data = data[order]

    def _remove_live(self) -> None:
        for layer in (self.live_points, self.live_tracks):
            if layer is not None and layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        self.live_points = self.live_tracks = None

    def _on_end(self, handle: Any) -> None:
        if handle.status != "done":
            if handle.status in ("stopped", "killed"):
                self.summary.setText(
                    "Stopped. Finished parts are kept: Predict again resumes."
                )
            return
        self.result = r = handle.result
        if not r["instances"]:
            self._remove_live()
            self.summary.setText(
                f"No animal found ({r['seconds']:.0f} s) -> {Path(r['output']).name}:"
                " lower the peak threshold, or train longer (more labels, epochs)."
            )
            return
        self.summary.setText(
            f"{r['instances']} instances in {r['frames']} frames, mean score "
            f"{r['mean_score']:.3f}, {r['tracks']} tracks ({r['seconds']:.0f} s) "
            f"-> {Path(r['output']).name}"
        )
        self.load_result(r["output"])

    def load_result(self, path: str) -> list:
        """Replace the live layers by the saved predictions' layers."""
        from napari_sleap.io.labels import load_labels

        labels = load_labels(path, missing_videos="ignore")
        self._remove_live()
        for layer in self.result_layers:
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        self.result_layers = add_labels_layers(self.viewer, labels, source=path)
        for callback in self.finished:
            callback(self.result_layers)
        return self.result_layers

    # ---------------------------------------------------------------- batch

    def predict_batch(self) -> Any:
        """Start the batch job over the listed videos; returns its handle."""
        dirs = self.model_dirs
        if not dirs:
            raise ValueError("no model: train one or add a model folder")
        tracker = self.tracker_combo.currentText()
        kwargs = {
            "model_dirs": dirs,
            "tracker": None if tracker == "none" else tracker,
            "max_tracks": self.max_tracks_spin.value() or None,
            "peak_threshold": float(self.threshold_spin.value()),
            **self.batch.job_kwargs(),
        }
        self.summary.setText("")
        self.batch_result = None
        self.batch.reset()
        return self.job.start(
            "napari_sleap.distributed.job:predict_videos",
            kwargs,
            on_data={"videos": self.batch.show_rows, "log": self.batch.show_log},
            on_end=self._on_batch_end,
            what="batch prediction",
        )

    def _on_batch_end(self, handle: Any) -> None:
        if handle.status != "done":
            if handle.status in ("stopped", "killed"):
                self.summary.setText(
                    "Stopped. Finished videos and parts are kept: Predict again "
                    "resumes."
                )
            return
        self.batch_result = r = handle.result
        self.batch.show_rows(r["videos"])
        lines = [
            f"{len(r['written'])} written, {len(r['kept'])} already done, "
            f"{len(r['failed'])} failed; {r['frames']} frames in "
            f"{r['seconds']:.0f} s -> {r['out_dir']}"
        ]
        lines += [f"{Path(p).name}" for p in r["written"]]
        lines += [f"failed: {message}" for message in r["failed"].values()]
        self.summary.setText("\n".join(lines))

    def open_batch_output(self, row: int) -> list:
        """Load the predictions of batch row ``row`` (double-click) as layers."""
        rows = self.batch.rows
        if not 0 <= row < len(rows) or rows[row]["state"] not in ("done", "kept"):
            raise ValueError("that video has no predictions yet")
        return self.load_result(rows[row]["output"])
