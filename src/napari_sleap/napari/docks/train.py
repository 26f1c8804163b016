"""The train panel: pick a pipeline and a few settings, train in a job process.

Everything not on the panel comes from the built-in profiles; the "Advanced"
view shows the full resolved config of each model as YAML and may be edited.
Training runs in a separate process (:func:`napari_sleap.jobs.tasks.train`) with a
progress bar, a progress line and loss curves that move every few steps, and
Stop. Stop leaves every model trained so far as its best checkpoint; the result
line says which models are usable, and a complete set is offered to the predict
panel through :func:`trained_models`, as finished ones are.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from napari_sleap.config.roles import CENTERED_ROLES, PIPELINES
from napari_sleap.config.training import config_dict, pipeline_configs
from napari_sleap.napari.compat import unproxied
from napari_sleap.napari.docks.job_view import JobView
from napari_sleap.napari.layers.convert import layer_meta

if TYPE_CHECKING:
    import napari

BACKBONES = ("unet", "leap", "hourglass", "encoder")
#: Roles that take a crop (the second stage of top-down).
#: Augmentation switches turned off by the "augmentation" box.
AUG_OFF = {
    "rotation": False,
    "scale": False,
    "translate_max": 0.0,
    "flip_probability": 0.0,
    "uniform_noise": False,
    "gaussian_noise": False,
    "contrast": False,
    "brightness": False,
}

_MODELS: dict[int, list[list[str]]] = {}
_LISTENERS: dict[int, list[Callable[[list[str]], None]]] = {}


def trained_models(viewer: Any) -> list[list[str]]:
    """Model folder sets trained in ``viewer`` this session, newest last.

    Keyed by the real viewer: each dock gets its own proxy of it.
    """
    return _MODELS.setdefault(id(unproxied(viewer)), [])


def on_trained(viewer: Any, callback: Callable[[list[str]], None]) -> None:
    """Call ``callback(model_dirs)`` whenever a training in ``viewer`` finishes."""
    _LISTENERS.setdefault(id(unproxied(viewer)), []).append(callback)


def _announce(viewer: Any, dirs: list[str]) -> None:
    trained_models(viewer).append(dirs)
    for callback in _LISTENERS.get(id(unproxied(viewer)), []):
        callback(dirs)


def labels_source(viewer: Any) -> str:
    """The ``.slp`` of the newest instances layer in ``viewer`` ('' if none)."""
    for layer in reversed(list(viewer.layers)):
        meta = layer_meta(layer)
        if meta.get("role") == "instances" and meta.get("source"):
            return str(meta["source"])
    return ""


class TrainPanel(QWidget):
    """Dock widget that trains the models of a pipeline on a labels file.

    Args:
        napari_viewer: The viewer (napari passes it).
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.model_dirs: list[str] = []
        #: The job's account of the last Stop (see ``jobs.tasks.stopped_report``).
        self.stopped_report: dict | None = None
        self._running: tuple[str, tuple[str, ...]] = ("", ())
        self._advanced_edited = False
        self._filling = False
        self._build()
        napari_viewer.layers.events.inserted.connect(lambda e: self._guess_labels())
        self._guess_labels()
        self.refresh_advanced()

    # ------------------------------------------------------------------ UI

    def _build(self) -> None:
        root = QVBoxLayout(self)
        form = QFormLayout()
        self.labels_edit = QLineEdit()
        self.labels_edit.setPlaceholderText("labels file (.slp)")
        form.addRow("Labels", with_browse(self.labels_edit, self._browse_labels))
        self.pipeline_combo = QComboBox()
        self.pipeline_combo.addItems(list(PIPELINES))
        self.pipeline_combo.setCurrentText("top-down")
        form.addRow("Pipeline", self.pipeline_combo)
        self.backbone_combo = QComboBox()
        self.backbone_combo.addItems(list(BACKBONES))
        form.addRow("Backbone", self.backbone_combo)
        self.scale_spin = _dspin(0.0, 4.0, 0.05, 0.0, "profile / auto")
        form.addRow("Input scale", self.scale_spin)
        self.sigma_spin = _dspin(0.0, 50.0, 0.5, 0.0, "profile")
        form.addRow("Sigma (px)", self.sigma_spin)
        self.crop_spin = QSpinBox()
        self.crop_spin.setRange(0, 2048)
        self.crop_spin.setSingleStep(16)
        self.crop_spin.setSpecialValueText("auto")
        form.addRow("Crop size", self.crop_spin)
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(0, 10000)
        self.epochs_spin.setSpecialValueText("profile")
        form.addRow("Epochs", self.epochs_spin)
        self.aug_check = QCheckBox("augmentation")
        self.aug_check.setChecked(True)
        form.addRow("", self.aug_check)
        self.restart_check = QCheckBox("start over (else resume or skip finished)")
        form.addRow("", self.restart_check)
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("folder for the model folders")
        form.addRow("Output", with_browse(self.out_edit, self._browse_out))
        root.addLayout(form)

        row = QHBoxLayout()
        self.advanced_btn = QPushButton("Advanced (YAML)...")
        self.advanced_btn.setCheckable(True)
        self.advanced_btn.toggled.connect(self._toggle_advanced)
        reset = QPushButton("Reset YAML")
        reset.setToolTip("Rebuild the YAML from the settings above (drops edits)")
        reset.clicked.connect(lambda *_: self.refresh_advanced(force=True))
        row.addWidget(self.advanced_btn)
        row.addWidget(reset)
        root.addLayout(row)
        self.advanced = QPlainTextEdit()
        self.advanced.setVisible(False)
        self.advanced.setMinimumHeight(220)
        self.advanced.textChanged.connect(self._on_advanced_edit)
        root.addWidget(self.advanced)

        self.train_btn = QPushButton("Train")
        self.train_btn.clicked.connect(lambda *_: self.job.guard(self.train))
        root.addWidget(self.train_btn)
        # Stop lets the step finish, validate and save: give it time on a slow CPU.
        self.job = JobView(losses=True, stop_grace_s=120.0)
        root.addWidget(self.job)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        root.addWidget(self.result_label)
        root.addStretch(1)
        for signal in (
            self.pipeline_combo.currentTextChanged,
            self.backbone_combo.currentTextChanged,
            self.scale_spin.valueChanged,
            self.sigma_spin.valueChanged,
            self.crop_spin.valueChanged,
            self.epochs_spin.valueChanged,
            self.aug_check.toggled,
        ):
            signal.connect(lambda *_: self.refresh_advanced())

    def _browse_labels(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Labels", "", "SLEAP (*.slp)")
        if path:
            self.labels_edit.setText(path)

    def _browse_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder")
        if path:
            self.out_edit.setText(path)

    def _guess_labels(self) -> None:
        if not self.labels_edit.text():
            self.labels_edit.setText(labels_source(self.viewer))

    def _toggle_advanced(self, on: bool) -> None:
        self.advanced.setVisible(on)

    def _on_advanced_edit(self) -> None:
        if not self._filling:
            self._advanced_edited = True

    # ------------------------------------------------------------- settings

    def key_overrides(self) -> dict[str, Any]:
        """The panel's settings as a partial config (empty fields: the profile's)."""
        out: dict[str, Any] = {}
        pipeline = self.pipeline_combo.currentText()
        backbone = self.backbone_combo.currentText()
        if backbone != "unet":
            out.setdefault("model", {})["backbone"] = {backbone: {}}
        if self.sigma_spin.value() > 0:
            heads = out.setdefault("model", {}).setdefault("heads", {})
            heads["confmaps"] = {"sigma": float(self.sigma_spin.value())}
        if self.scale_spin.value() > 0:
            out.setdefault("data", {})["input_scale"] = float(self.scale_spin.value())
        if self.epochs_spin.value() > 0:
            out.setdefault("optim", {})["epochs"] = int(self.epochs_spin.value())
        if not self.aug_check.isChecked():
            out["augment"] = dict(AUG_OFF)
        if self.crop_spin.value() > 0:
            for role in PIPELINES[pipeline]:
                if role in CENTERED_ROLES:
                    out[role] = {"data": {"crop_size": int(self.crop_spin.value())}}
        return out

    def refresh_advanced(self, force: bool = False) -> None:
        """Show the resolved config of every model as YAML (unless edited)."""
        if self._advanced_edited and not force:
            return
        pipeline = self.pipeline_combo.currentText()
        try:
            configs = pipeline_configs(pipeline, self.key_overrides())
        except ValueError as err:
            text = f"# {err}"
        else:
            full = {}
            for role, cfg in configs.items():
                d = config_dict(cfg)
                d.pop("role", None)
                full[role] = d
            text = yaml.safe_dump(full, sort_keys=False, default_flow_style=None)
        self._filling = True
        try:
            self.advanced.setPlainText(text)
        finally:
            self._filling = False
        self._advanced_edited = False

    def overrides(self) -> dict[str, Any]:
        """What training gets: the edited YAML if any, else the key settings."""
        if not self._advanced_edited:
            return self.key_overrides()
        try:
            data = yaml.safe_load(self.advanced.toPlainText()) or {}
        except yaml.YAMLError as err:
            raise ValueError(f"advanced YAML: not valid YAML ({err})") from err
        roles = PIPELINES[self.pipeline_combo.currentText()]
        if not isinstance(data, dict) or set(data) - set(roles):
            raise ValueError(
                f"advanced YAML: top-level keys must be the pipeline's roles "
                f"({', '.join(roles)}); press Reset YAML to start again"
            )
        for cfg in data.values():
            if isinstance(cfg, dict):
                cfg.pop("role", None)
        return data

    # -------------------------------------------------------------- running

    def out_dir(self, labels: Path) -> Path:
        """The output folder (default: ``models/<pipeline>-<time>`` by the labels)."""
        text = self.out_edit.text().strip()
        if text:
            return Path(text)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        pipeline = self.pipeline_combo.currentText()
        path = labels.parent / "models" / f"{pipeline}-{stamp}"
        self.out_edit.setText(str(path))
        return path

    def train(self) -> Any:
        """Start training in a job process; returns its handle."""
        labels = Path(self.labels_edit.text().strip())
        if not labels.name:
            raise ValueError("no labels file: open a .slp or pick one under Labels")
        if not labels.exists():
            raise FileNotFoundError(f"labels file {labels} not found; pick another")
        pipeline = self.pipeline_combo.currentText()
        overrides = self.overrides()
        pipeline_configs(pipeline, overrides)  # bad settings fail here, not later
        out = self.out_dir(labels)
        self.result_label.setText("")
        self.stopped_report = None
        self._running = (str(out), PIPELINES[pipeline])
        return self.job.start(
            "napari_sleap.jobs.tasks:train",
            {
                "labels": str(labels),
                "pipeline": pipeline,
                "out_dir": str(out),
                "overrides": overrides,
                "restart": self.restart_check.isChecked(),
            },
            on_data={"stopped": self._on_stopped},
            on_end=self._on_end,
            what="training",
        )

    def _on_stopped(self, report: dict) -> None:
        """Keep the job's account of a stop (which models are usable)."""
        self.stopped_report = report

    def _on_end(self, handle: Any) -> None:
        if handle.status != "done":
            if handle.status in ("stopped", "killed"):
                self.result_label.setText(self._stopped_text())
            return
        self.model_dirs = list(handle.result["model_dirs"])
        self.result_label.setText(
            "Models: "
            + ", ".join(Path(d).name for d in self.model_dirs)
            + f" in {handle.result['out_dir']} (offered to the predict panel)"
        )
        _announce(self.viewer, self.model_dirs)

    def _stopped_text(self) -> str:
        """The result line after Stop: each model usable or not, and what next."""
        report = self.stopped_report
        if not report:
            # Ended without its report (terminated after the grace): read the disk.
            from napari_sleap.jobs.tasks import stopped_report_on_disk

            out, roles = self._running
            report = stopped_report_on_disk(out, list(roles))
        text = f"Stopped. In {report['out_dir']}:\n{report['text']}\n"
        if report["model_dirs"]:
            self.model_dirs = list(report["model_dirs"])
            _announce(self.viewer, self.model_dirs)
            return text + "These models are offered to Predict; Train again resumes."
        return text + "Predict needs every model of the pipeline: Train again resumes."


def _dspin(
    lo: float, hi: float, step: float, value: float, zero: str
) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(lo, hi)
    spin.setSingleStep(step)
    spin.setDecimals(2)
    spin.setValue(value)
    spin.setSpecialValueText(zero)
    return spin


def with_browse(edit: QLineEdit, slot: Callable[[], None]) -> QWidget:
    """``edit`` with a "..." button after it that calls ``slot`` (a file chooser)."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit, 1)
    btn = QPushButton("...")
    btn.setObjectName("browse")
    btn.setToolTip("Choose with a file dialog")
    btn.setMaximumWidth(30)
    btn.clicked.connect(lambda *_: slot())
    row.addWidget(btn)
    return box
