"""The export panel: the open labels (with their edits) as analysis HDF5, CSV or NWB.

Thin over :mod:`napari_sleap.export`: the instances layer's edits are applied as
the ``.slp`` writer applies them (``layers.edits.layers_to_labels``), then the
chosen writer runs in a worker thread (numpy/h5py, no TensorFlow) and the panel
says what it wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from napari_sleap.export import FORMATS
from napari_sleap.napari.docks.background import start_job
from napari_sleap.napari.docks.train import with_browse
from napari_sleap.napari.layers.convert import layer_meta

if TYPE_CHECKING:
    import napari

#: Panel choices -> ``napari_sleap.export.FORMATS`` keys.
CHOICES = {
    "SLEAP analysis HDF5 (.analysis.h5)": "analysis-h5",
    "CSV table (.csv)": "csv",
    "NWB (.nwb)": "nwb",
}
_FILTERS = {
    "analysis-h5": "Analysis HDF5 (*.h5)",
    "csv": "CSV (*.csv)",
    "nwb": "NWB (*.nwb)",
}


def instances_layers(viewer: Any) -> list:
    """The viewer's napari-sleap instances layers, newest last."""
    return [la for la in viewer.layers if layer_meta(la).get("role") == "instances"]


def default_output(source: str, fmt: str) -> str:
    """``<labels stem><ending>`` beside the labels file (``.slp`` stripped)."""
    p = Path(source)
    stem = p.name[: -len(".slp")] if p.name.endswith(".slp") else p.stem
    return str(p.with_name(stem + FORMATS[fmt]))


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def with_ending(path: str, ending: str) -> str:
    """``path`` with its export ending (``.csv``, ``.analysis.h5``...) swapped."""
    for known in sorted(FORMATS.values(), key=len, reverse=True):
        if path.endswith(known):
            return path[: -len(known)] + ending
    return path if path.endswith(ending) else path + ending


def export_labels(
    labels: Any, fmt: str, out: str, source: str
) -> tuple[list[str], str]:
    """Write ``labels`` in ``fmt`` to ``out``; returns (files written, a summary).

    Raises:
        ValueError: the labels cannot be exported this way (the message says why).
    """
    if fmt == "analysis-h5":
        from napari_sleap.export.analysis_h5 import default_paths, write_analysis_h5

        files = []
        for video, path in default_paths(labels, source, out):
            arrays = write_analysis_h5(labels, path, video=video, labels_path=source)
            files.append(str(path))
        n_tracks = len(arrays.track_names)
        return files, f"{_count(len(files), 'file')}, {_count(n_tracks, 'track')}"
    if fmt == "csv":
        from napari_sleap.export.csv import write_csv

        rows = write_csv(labels, out, source=source)
        return [out], f"{rows} rows"
    if fmt == "nwb":
        from napari_sleap.export.nwb import write_nwb

        written = write_nwb(labels, out, source=source)
        files = [str(p) for p in written] if written else [out]
        per = ", one per animal" if len(files) > 1 else ""
        return files, f"{_count(len(files), 'file')}{per}"
    raise ValueError(f"export format {fmt!r}: expected one of {', '.join(FORMATS)}")


class ExportPanel(QWidget):
    """Dock widget that exports the open labels for analysis outside SLEAP.

    Args:
        napari_viewer: The viewer (napari passes it).
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        #: Files of the last finished export.
        self.written: list[str] = []
        self._worker: Any = None
        self._auto_out = ""
        self._build()
        napari_viewer.layers.events.inserted.connect(lambda e: self._refresh())
        napari_viewer.layers.events.removed.connect(lambda e: self._refresh())
        self._refresh()

    def _build(self) -> None:
        root = QVBoxLayout(self)
        form = QFormLayout()
        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("The labels to export, with their unsaved edits")
        self.layer_combo.currentIndexChanged.connect(lambda *_: self._fill_out())
        form.addRow("Labels", self.layer_combo)
        self.format_combo = QComboBox()
        self.format_combo.addItems(list(CHOICES))
        self.format_combo.currentIndexChanged.connect(lambda *_: self._fill_out())
        form.addRow("Format", self.format_combo)
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("output file (beside the labels)")
        form.addRow("Output", with_browse(self.out_edit, self._browse_out))
        root.addLayout(form)
        self.export_btn = QPushButton("Export")
        self.export_btn.clicked.connect(lambda *_: self._guard(self.export))
        root.addWidget(self.export_btn)
        self.status = QLabel("open a .slp to export its poses")
        self.status.setWordWrap(True)
        root.addWidget(self.status)
        root.addStretch(1)

    @property
    def fmt(self) -> str:
        """The chosen format's key (``analysis-h5``, ``csv`` or ``nwb``)."""
        return CHOICES[self.format_combo.currentText()]

    def layer(self) -> Any:
        """The chosen instances layer (None if there is none)."""
        layers = {la.name: la for la in instances_layers(self.viewer)}
        return layers.get(self.layer_combo.currentText())

    def _source(self) -> str:
        layer = self.layer()
        return str(layer_meta(layer).get("source", "")) if layer is not None else ""

    def _refresh(self) -> None:
        names = [la.name for la in instances_layers(self.viewer)]
        current = self.layer_combo.currentText()
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        self.layer_combo.addItems(names)
        if current in names:
            self.layer_combo.setCurrentText(current)
        elif names:
            self.layer_combo.setCurrentIndex(len(names) - 1)
        self.layer_combo.blockSignals(False)
        self._fill_out()
        if names and not self.written:
            self._say("ready: choose a format and press Export")

    def _fill_out(self) -> None:
        """Default output beside the labels; a chosen file gets the format's ending."""
        text = self.out_edit.text().strip()
        if text and text != self._auto_out:
            self.out_edit.setText(with_ending(text, FORMATS[self.fmt]))
            return
        source = self._source()
        self._auto_out = default_output(source, self.fmt) if source else ""
        self.out_edit.setText(self._auto_out)

    def _browse_out(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export to", self.out_edit.text(), _FILTERS[self.fmt]
        )
        if path:
            ending = FORMATS[self.fmt]
            if not path.endswith("." + ending.rsplit(".", 1)[-1]):
                path += ending
            self.out_edit.setText(path)
            self._auto_out = ""

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #ff6b6b;" if error else "")

    def _guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (ValueError, FileNotFoundError, OSError) as err:
            self._say(str(err), error=True)
            return None

    def export(self) -> Any:
        """Export the chosen labels in a worker thread; returns the worker."""
        from napari_sleap.napari.layers.edits import layers_to_labels

        if self._worker is not None:
            raise ValueError("an export is still running")
        layer = self.layer()
        if layer is None:
            raise ValueError("no labels to export: open a .slp (File > Open)")
        out = self.out_edit.text().strip()
        if not out:
            raise ValueError("no output file: pick one under Output")
        fmt, source = self.fmt, self._source() or layer.name
        if Path(out).resolve() == Path(source).resolve():
            raise ValueError(f"{out} is the labels file itself; choose another output")
        labels = layers_to_labels([layer.as_layer_data_tuple()])
        self.export_btn.setEnabled(False)
        self._say(f"exporting {Path(out).name}...")

        def job(progress, stop) -> dict[str, Any]:
            # Bad input is the panel's message, not napari's error notification.
            try:
                files, summary = export_labels(labels, fmt, out, source)
            except (ValueError, FileNotFoundError, OSError) as err:
                return {"error": str(err)}
            return {"files": files, "summary": summary}

        self._worker, _ = start_job(
            self,
            job,
            desc=f"export {fmt}",
            on_result=self._done,
            on_error=lambda err: self._say(f"export failed: {err}", error=True),
            on_finished=self._finished,
        )
        return self._worker

    def _done(self, result: dict[str, Any]) -> None:
        if "error" in result:
            self._say(f"Not exported: {result['error']}", error=True)
            return
        files, summary = result["files"], result["summary"]
        self.written = files
        names = ", ".join(Path(f).name for f in files)
        self._say(f"Done: wrote {names} ({summary}) in {Path(files[0]).parent}")

    def _finished(self) -> None:
        self._worker = None
        self.export_btn.setEnabled(True)

    @property
    def running(self) -> bool:
        """True while an export runs."""
        return self._worker is not None
