"""The predict panel's batch mode: a list of videos, an output folder, per-video rows.

:class:`BatchBox` collects the videos (picked one by one or a whole folder),
the frames, the output folder and where to run (in the job process, or a dask
LocalCluster of N workers, or a running scheduler), and shows one row per video
while the job runs: frames done, state (queued, running, done, failed, kept)
and its ``.slp``. The predict panel starts the job and feeds the rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from napari_sleap.io.video import is_video_path

#: Row colors by state (text color), readable on napari's dark theme.
STATE_COLORS = {
    "queued": "#aaaaaa",
    "running": "#4fa3ff",
    "done": "#2ed573",
    "kept": "#7bed9f",
    "failed": "#ff6b81",
}
COLUMNS = ("Video", "Frames", "State", "Output")


def videos_in(folder: str | Path) -> list[str]:
    """The video files directly in ``folder``, sorted by name.

    Raises:
        ValueError: the folder holds no video file.
    """
    folder = Path(folder)
    found = sorted(
        str(p)
        for p in folder.iterdir()
        if p.is_file() and is_video_path(p) and p.suffix.lower() not in (".h5", ".hdf5")
    )
    if not found:
        raise ValueError(
            f"{folder}: no video files (mp4, avi, mov, mkv ...) in this folder; "
            "pick the folder that holds the videos"
        )
    return found


class BatchBox(QWidget):
    """Videos, frames, output folder and workers of a batch; per-video rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        self.videos_list = QListWidget()
        self.videos_list.setMaximumHeight(90)
        self.videos_list.setSelectionMode(
            QAbstractItemView.SelectionMode.ExtendedSelection
        )
        root.addWidget(self.videos_list)
        row = QHBoxLayout()
        buttons = (
            ("Add videos...", self._browse_videos),
            ("Add folder...", self._browse_folder),
            ("Remove", self.remove_selected),
            ("Clear", self.clear),
        )
        for text, slot in buttons:
            button = QPushButton(text)
            button.clicked.connect(lambda *_, slot=slot: slot())
            row.addWidget(button)
        root.addLayout(row)
        form = QFormLayout()
        self.frames_edit = QLineEdit()
        self.frames_edit.setPlaceholderText("all, or e.g. 0-299 (each video)")
        form.addRow("Frames", self.frames_edit)
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("<first video's folder>/predictions")
        form.addRow("Output folder", self.out_edit)
        self.workers_spin = QSpinBox()
        self.workers_spin.setRange(0, 256)
        self.workers_spin.setValue(0)
        self.workers_spin.setSpecialValueText("0: no dask, one video at a time")
        self.workers_spin.setToolTip(
            "0 predicts the videos in turn in the job process; N starts a dask "
            "LocalCluster of N worker processes (one model each)"
        )
        form.addRow("Workers", self.workers_spin)
        self.scheduler_edit = QLineEdit()
        self.scheduler_edit.setPlaceholderText("optional: tcp://host:8786")
        self.scheduler_edit.setToolTip(
            "Address of a running dask scheduler (dask-jobqueue, Kubernetes...); "
            "when given, its workers do the work"
        )
        form.addRow("Scheduler", self.scheduler_edit)
        root.addLayout(form)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setMinimumHeight(120)
        self.table.setToolTip("Double-click a finished video to open its predictions")
        root.addWidget(self.table)
        self.dashboard = QLabel("")
        self.dashboard.setOpenExternalLinks(True)
        self.dashboard.setVisible(False)
        root.addWidget(self.dashboard)
        self.rows: list[dict[str, Any]] = []

    # ------------------------------------------------------------- videos

    def _browse_videos(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Videos", "", "Videos (*.mp4 *.avi *.mov *.mkv *.m4v *.webm)"
        )
        self.add_videos(paths)

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of videos")
        if folder:
            self.add_folder(folder)

    def add_videos(self, paths: list[str]) -> None:
        """Append videos (missing files are refused, duplicates ignored)."""
        for path in paths:
            if not Path(path).is_file():
                raise FileNotFoundError(f"video {path} not found")
            if str(path) not in self.videos:
                self.videos_list.addItem(str(path))

    def add_folder(self, folder: str | Path) -> None:
        """Append every video file of ``folder``."""
        self.add_videos(videos_in(folder))

    def remove_selected(self) -> None:
        """Drop the selected videos from the list."""
        for item in self.videos_list.selectedItems():
            self.videos_list.takeItem(self.videos_list.row(item))

    def clear(self) -> None:
        """Empty the list of videos."""
        self.videos_list.clear()

    @property
    def videos(self) -> list[str]:
        """The listed videos, in order."""
        return [
            self.videos_list.item(i).text() for i in range(self.videos_list.count())
        ]

    # ------------------------------------------------------------ settings

    def out_dir(self) -> str:
        """The output folder (default: ``predictions`` beside the first video)."""
        text = self.out_edit.text().strip()
        if text:
            return text
        if not self.videos:
            raise ValueError("no videos: add videos or a folder of videos")
        return str(Path(self.videos[0]).parent / "predictions")

    def job_kwargs(self) -> dict[str, Any]:
        """The batch job's video, frame, output and worker arguments."""
        if not self.videos:
            raise ValueError("no videos: add videos or a folder of videos")
        return {
            "videos": self.videos,
            "out_dir": self.out_dir(),
            "frames": self.frames_edit.text().strip() or None,
            "workers": int(self.workers_spin.value()),
            "scheduler": self.scheduler_edit.text().strip() or None,
        }

    # ---------------------------------------------------------------- rows

    def show_rows(self, rows: list[dict[str, Any]]) -> None:
        """Show one row per video: name, frames done/total, state, output."""
        self.rows = list(rows)
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            frames = (
                f"{r['frames_done']}/{r['frames_total']}" if r["frames_total"] else "-"
            )
            output = Path(r["output"]).name if r["state"] in ("done", "kept") else ""
            cells = (Path(r["video"]).name, frames, r["state"], output)
            color = QColor(STATE_COLORS.get(r["state"], "#dddddd"))
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setForeground(color)
                tip = r["message"] or (r["output"] if j == 3 else r["video"])
                item.setToolTip(tip)
                if j == 1:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(i, j, item)

    def show_log(self, line: str) -> None:
        """Pick the dask dashboard link out of the job's log lines."""
        prefix = "dask dashboard: "
        if str(line).startswith(prefix):
            link = str(line)[len(prefix) :].strip()
            self.dashboard.setText(f'dask dashboard: <a href="{link}">{link}</a>')
            self.dashboard.setVisible(True)

    def reset(self) -> None:
        """Forget the rows and the dashboard link of the last run."""
        self.show_rows([])
        self.dashboard.setText("")
        self.dashboard.setVisible(False)

    def outputs(self) -> list[str]:
        """The ``.slp`` of every video predicted (or kept) so far."""
        return [r["output"] for r in self.rows if r["state"] in ("done", "kept")]
