"""The evaluate panel: predictions against ground truth, shown and saved.

Runs :func:`napari_sleap.jobs.tasks.evaluate` in a job process (loading two
large ``.slp`` files and matching every frame would stall the viewer) and shows
OKS mAP, PCK, tracking metrics, the full text report and the per-node error
chart; the report (text, JSON, PNG) is saved in the chosen folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Qt
from qtpy.QtGui import QFont, QPixmap
from qtpy.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from napari_sleap.napari.docks.job_view import JobView
from napari_sleap.napari.docks.train import labels_source, with_browse

if TYPE_CHECKING:
    import napari


class EvaluatePanel(QWidget):
    """Dock widget that scores predictions against ground-truth labels.

    Args:
        napari_viewer: The viewer (napari passes it).
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.result: dict[str, Any] | None = None
        self._pred_auto = True
        self._build()
        napari_viewer.layers.events.inserted.connect(lambda e: self._guess())
        self._guess()

    def _build(self) -> None:
        root = QVBoxLayout(self)
        form = QFormLayout()
        self.gt_edit = QLineEdit()
        self.gt_edit.setPlaceholderText("ground truth (.slp, user instances)")
        form.addRow("Ground truth", with_browse(self.gt_edit, self._pick(self.gt_edit)))
        self.pred_edit = QLineEdit()
        self.pred_edit.setPlaceholderText("predictions (.slp)")
        self.pred_edit.textEdited.connect(lambda *_: setattr(self, "_pred_auto", False))
        form.addRow(
            "Predictions", with_browse(self.pred_edit, self._pick(self.pred_edit))
        )
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("<predictions>.report/")
        form.addRow("Report folder", self.out_edit)
        root.addLayout(form)
        self.eval_btn = QPushButton("Evaluate")
        self.eval_btn.clicked.connect(lambda *_: self.job.guard(self.evaluate))
        root.addWidget(self.eval_btn)
        self.job = JobView()
        root.addWidget(self.job)
        self.headline = QLabel("")
        self.headline.setWordWrap(True)
        font = self.headline.font()
        font.setPointSize(font.pointSize() + 1)
        font.setBold(True)
        self.headline.setFont(font)
        root.addWidget(self.headline)
        self.plot = QLabel()
        scroll = QScrollArea()
        scroll.setWidget(self.plot)
        scroll.setWidgetResizable(True)
        scroll.setMinimumHeight(180)
        root.addWidget(scroll)
        self.report = QTextBrowser()
        self.report.setFont(QFont("Monospace", 8))
        self.report.setLineWrapMode(QTextBrowser.LineWrapMode.NoWrap)
        self.report.setMinimumHeight(200)
        root.addWidget(self.report)

    def _pick(self, edit: QLineEdit) -> Callable[[], None]:
        def pick() -> None:
            path, _ = QFileDialog.getOpenFileName(self, "Labels", "", "SLEAP (*.slp)")
            if path:
                edit.setText(path)

        return pick

    def _guess(self) -> None:
        """Predictions follow the newest instances layer's file until typed in."""
        source = labels_source(self.viewer)
        if source and self._pred_auto and source != self.gt_edit.text():
            self.pred_edit.setText(source)

    def out_dir(self, pred: Path) -> Path:
        """The report folder (made if missing)."""
        text = self.out_edit.text().strip()
        name = pred.name[: -len(".slp")] if pred.name.endswith(".slp") else pred.stem
        out = Path(text) if text else pred.with_name(f"{name}.report")
        out.mkdir(parents=True, exist_ok=True)
        self.out_edit.setText(str(out))
        return out

    def evaluate(self) -> Any:
        """Start the evaluation job; returns its handle."""
        gt, pred = (
            Path(self.gt_edit.text().strip()),
            Path(self.pred_edit.text().strip()),
        )
        for what, p in (("ground truth", gt), ("predictions", pred)):
            if not p.name:
                raise ValueError(f"no {what} file: pick a .slp")
            if not p.exists():
                raise FileNotFoundError(f"{what} file {p} not found")
        out = self.out_dir(pred)
        return self.job.start(
            "napari_sleap.jobs.tasks:evaluate",
            {"gt": str(gt), "pred": str(pred), "out_dir": str(out)},
            on_end=self._on_end,
            what="evaluation",
        )

    def _on_end(self, handle: Any) -> None:
        if handle.status != "done":
            return
        self.show_result(handle.result)

    def show_result(self, r: dict[str, Any]) -> None:
        """Show a finished evaluation's numbers, report and chart."""
        self.result = r
        pck = dict(zip(r["pck_thresholds"], r["pck"], strict=True))
        line = f"OKS mAP {r['oks_map']:.3f}   PCK@5px {pck.get(5.0, float('nan')):.3f}"
        if r.get("mota") is not None:
            line += (
                f"   MOTA {r['mota']:.3f}   IDF1 {r['idf1']:.3f}   "
                f"ID switches {r['id_switches']}"
            )
        self.headline.setText(line)
        self.report.setPlainText(
            r["report"] + f"\n\nsaved: {r['report_path']}\n       {r['json_path']}"
            f"\n       {r['plot_path']}"
        )
        pixmap = QPixmap(r["plot_path"])
        width = max(self.width() - 40, 300)
        if pixmap.width() > width:  # fit the dock; the PNG keeps full size
            pixmap = pixmap.scaledToWidth(
                width, Qt.TransformationMode.SmoothTransformation
            )
        self.plot.setPixmap(pixmap)
