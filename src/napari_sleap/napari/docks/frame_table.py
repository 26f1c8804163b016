"""The labeled frames as a table, and the Frames dock (seekbar + table).

One row per labeled frame of the open video: frame, instances, track names and
how many are user-labeled or predicted. A click or Enter on a row jumps there;
the row of the current frame is selected as the slider moves. A Qt model over
plain lists keeps 100,000 frames cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sleap_io as sio
from qtpy.QtCore import QAbstractTableModel, QModelIndex, Qt
from qtpy.QtGui import QKeyEvent
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from napari_sleap.napari.docks.seekbar import STRIPS, FollowsLabels, SeekBar
from napari_sleap.napari.docks.skeleton_picker import real
from napari_sleap.napari.layers.convert import layer_meta

if TYPE_CHECKING:
    import napari

COLUMNS = ("frame", "instances", "tracks", "kind")


@dataclass(frozen=True)
class FrameRow:
    """What the table shows of one labeled frame."""

    frame: int
    instances: int
    tracks: str
    user: int
    predicted: int

    def cells(self) -> tuple[Any, ...]:
        """The row's cells, in :data:`COLUMNS` order."""
        kinds = [
            f"{n} {what}"
            for n, what in ((self.user, "user"), (self.predicted, "predicted"))
            if n
        ]
        return (self.frame, self.instances, self.tracks, ", ".join(kinds))


def frame_rows(labels: sio.Labels, video: sio.Video) -> list[FrameRow]:
    """One row per labeled frame of ``video``, sorted by frame.

    Several ``LabeledFrame`` objects of one frame (as merged files may hold)
    make one row.
    """
    by_frame: dict[int, list[sio.LabeledFrame]] = {}
    for lf in labels.labeled_frames:
        if lf.video is video and lf.instances:
            by_frame.setdefault(int(lf.frame_idx), []).append(lf)
    rows = (frame_row(f, by_frame[f]) for f in sorted(by_frame))
    return [r for r in rows if r is not None]


def frame_row(frame: int, frames: list[sio.LabeledFrame]) -> FrameRow | None:
    """The row of one frame index from its labeled frames (None: no instances)."""
    insts = [i for lf in frames for i in lf.instances]
    if not insts:
        return None
    pred = sum(isinstance(i, sio.PredictedInstance) for i in insts)
    names = sorted({i.track.name for i in insts if i.track is not None})
    return FrameRow(
        frame=frame,
        instances=len(insts),
        tracks=", ".join(names),
        user=len(insts) - pred,
        predicted=pred,
    )


class FrameTableModel(QAbstractTableModel):
    """Rows of :func:`frame_rows` for a Qt view."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[FrameRow] = []

    def set_rows(self, rows: list[FrameRow]) -> None:
        """Replace every row."""
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def set_frame(self, frame: int, row: FrameRow | None) -> None:
        """Put one frame's row in, change it, or take it out (None)."""
        lo = self._at(frame)
        there = lo < len(self.rows) and self.rows[lo].frame == frame
        if row is None:
            if there:
                self.beginRemoveRows(QModelIndex(), lo, lo)
                del self.rows[lo]
                self.endRemoveRows()
        elif there:
            self.rows[lo] = row
            self.dataChanged.emit(self.index(lo, 0), self.index(lo, len(COLUMNS) - 1))
        else:
            self.beginInsertRows(QModelIndex(), lo, lo)
            self.rows.insert(lo, row)
            self.endInsertRows()

    def _at(self, frame: int) -> int:
        """Where ``frame``'s row is or would go (binary search)."""
        lo, hi = 0, len(self.rows)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.rows[mid].frame < frame:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def rowCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802
        """Labeled frames listed."""
        return len(self.rows)

    def columnCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802
        """The columns of :data:`COLUMNS`."""
        return len(COLUMNS)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """The cell text (and the frame under UserRole)."""
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return str(row.cells()[index.column()])
        if role == Qt.ItemDataRole.UserRole:
            return row.frame
        return None

    def headerData(  # noqa: N802 (Qt)
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Column titles."""
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
        ):
            return COLUMNS[section]
        return None

    def row_of_frame(self, frame: int) -> int:
        """The row listing ``frame`` (-1: not labeled)."""
        lo = self._at(frame)
        return lo if lo < len(self.rows) and self.rows[lo].frame == frame else -1


class FrameTable(FollowsLabels, QTableView):
    """The labeled frames of the open labels; click or Enter jumps to one.

    Args:
        viewer: The viewer.
    """

    TRACKS_MATTER = True  # the tracks column

    def __init__(self, viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = viewer = real(viewer)
        self.model_ = FrameTableModel()
        self.setModel(self.model_)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(
                column,
                QHeaderView.ResizeMode.Stretch
                if COLUMNS[column] == "tracks"
                else QHeaderView.ResizeMode.ResizeToContents,
            )
        self.setMinimumHeight(80)
        self.clicked.connect(self._on_clicked)
        self.follow_labels(viewer, interval_ms=200)

    def recompute(self) -> None:
        """Refill from the labels of the newest instances layer."""
        rows: list[FrameRow] = []
        if self.points is not None:
            meta = layer_meta(self.points)
            labels = meta["labels"]
            rows = frame_rows(labels, labels.videos[meta.get("video_index", 0)])
        self.model_.set_rows(rows)
        self._on_step()

    def update_frames(self, frames: dict[int, list[Any]]) -> None:
        """Rewrite only the rows of the edited frames."""
        for frame, lfs in frames.items():
            self.model_.set_frame(frame, frame_row(frame, lfs))
        self._on_step()

    def frames(self) -> list[int]:
        """The frames listed, in order."""
        return [r.frame for r in self.model_.rows]

    def _on_step(self, event: Any = None) -> None:
        frame = int(self.viewer.dims.current_step[0]) if self.viewer.dims.ndim else 0
        row = self.model_.row_of_frame(frame)
        if row >= 0 and self.currentIndex().row() != row:
            self.setCurrentIndex(self.model_.index(row, 0))
            self.scrollTo(self.model_.index(row, 0))

    def _on_clicked(self, index: QModelIndex) -> None:
        self.jump(index)

    def jump(self, index: QModelIndex | None = None) -> int | None:
        """Go to the frame of ``index`` (default: the current row)."""
        index = index if index is not None else self.currentIndex()
        if not index.isValid():
            return None
        frame = int(self.model_.data(index, Qt.ItemDataRole.UserRole))
        self.viewer.dims.set_current_step(0, frame)
        return frame

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt)
        """Enter (or Return) jumps to the selected row's frame."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.jump()
            return
        super().keyPressEvent(event)


def legend() -> QLabel:
    """A line naming the seekbar's colors (wraps in a narrow dock)."""
    text = " &nbsp; ".join(
        f'<span style="color:{color}">&#9632;</span>&nbsp;{what}'
        for _, color, what in STRIPS
    )
    label = QLabel(text)
    label.setWordWrap(True)
    return label


class FramesPanel(QWidget):
    """The Frames dock: the seekbar over the table of labeled frames.

    Args:
        napari_viewer: The viewer (napari passes it).
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = real(napari_viewer)
        lay = QVBoxLayout(self)
        self.seekbar = SeekBar(self.viewer)
        lay.addWidget(self.seekbar)
        lay.addWidget(legend())
        self.table = FrameTable(self.viewer)
        lay.addWidget(self.table, 1)
