"""A seekbar that marks labeled, predicted, suggested and low-score frames.

One thin strip per kind of frame (as SLEAP's GUI seekbar does), with the current
frame as a white line; a click or drag jumps there. The marks come from
:class:`napari_sleap.labeling.FrameSets` of the newest instances layer and are
recomputed, coalesced, after edits.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QRect, QSize, Qt, QTimer
from qtpy.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent
from qtpy.QtWidgets import QSizePolicy, QWidget

from napari_sleap.labeling import FrameSets
from napari_sleap.napari.docks.display import instances_layer
from napari_sleap.napari.docks.skeleton_picker import real
from napari_sleap.napari.layers.convert import layer_meta

if TYPE_CHECKING:
    import napari

#: Strips from top to bottom: (kind, color, what a person reads).
STRIPS: tuple[tuple[str, str, str], ...] = (
    ("labeled", "#3ddc84", "labeled by a person"),
    ("predicted", "#5aa9e6", "predicted"),
    ("suggested", "#ffd23f", "suggested"),
    ("low_score", "#ff5964", "low-score prediction"),
)


def frame_count(viewer: Any) -> int:
    """Frames on the viewer's first axis (the video's length where one is open)."""
    for layer in viewer.layers:
        if type(layer).__name__ == "Image" and layer.ndim >= 3:
            return int(layer.data.shape[0])
    return int(viewer.dims.nsteps[0]) if viewer.dims.ndim else 0


def frame_sets(viewer: Any, score_threshold: float = 0.5) -> FrameSets | None:
    """Frame sets of the newest instances layer's video (None: no labels open)."""
    points = instances_layer(viewer)
    if points is None:
        return None
    meta = layer_meta(points)
    labels = meta["labels"]
    video = labels.videos[meta.get("video_index", 0)]
    return FrameSets.from_labels(
        labels, video, score_threshold=score_threshold, n_frames=frame_count(viewer)
    )


def listen_to_edits(viewer: Any, slot: Any) -> None:
    """Call ``slot()`` after every edit in the viewer's undo history.

    Every labeling edit (any dock, undo, redo) passes through that history; the
    listener drops itself once ``slot``'s widget is gone.
    """
    from napari_sleap.napari.docks.edit_history import undo_stack

    stack = undo_stack(viewer)
    ref = weakref.WeakMethod(slot)

    def listener(command: Any) -> None:
        method = ref()
        try:
            if method is None:
                raise RuntimeError("gone")
            method()
        except RuntimeError:  # the widget was deleted
            if listener in stack.listeners:
                stack.listeners.remove(listener)

    stack.listeners.append(listener)


class FollowsLabels:
    """Mixin of a Qt widget that recomputes from the newest instances layer.

    It refills after layer changes and, coalesced by a single-shot timer, after
    every edit in the undo history (not on the layer's data events: a windowed
    layer refills its rows on every frame step). The pass over the labeled
    frames runs only while the widget is shown; a hidden one (a closed tab)
    catches up when shown. Widgets set ``viewer``, call :meth:`follow_labels`
    and define ``recompute()`` and ``_on_step()``.
    """

    viewer: Any
    points: Any = None
    _stale = True

    def follow_labels(self, viewer: Any, interval_ms: int) -> None:
        """Connect to ``viewer``'s layers, frame slider and edit history."""
        self._timer = QTimer(self)  # type: ignore[arg-type]
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.refresh)
        viewer.dims.events.current_step.connect(self._on_step)
        viewer.layers.events.inserted.connect(self._on_layers)
        viewer.layers.events.removed.connect(self._on_layers)
        listen_to_edits(viewer, self.schedule)
        self._on_layers()

    def _on_layers(self, event: Any = None) -> None:
        self.points = instances_layer(self.viewer)
        self.refresh()

    def schedule(self, event: Any = None) -> None:
        """Recompute soon (edits come in bursts while dragging)."""
        self._timer.start()

    def refresh(self) -> None:
        """Recompute now (once shown, if hidden now)."""
        if not self.isVisible():  # type: ignore[attr-defined]
            self._stale = True
            return
        self._stale = False
        self.recompute()

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt)
        """Catch up with edits made while hidden."""
        super().showEvent(event)  # type: ignore[misc]
        if self._stale:
            self.refresh()

    def recompute(self) -> None:
        """Refill the widget from ``self.points`` (subclasses)."""
        raise NotImplementedError

    def _on_step(self, event: Any = None) -> None:
        raise NotImplementedError


class SeekBar(FollowsLabels, QWidget):
    """Marks of labeled, predicted, suggested and low-score frames; click to jump.

    Args:
        viewer: The viewer (its frame slider moves with the bar).
        score_threshold: Predictions scoring below this mark a low-score frame.
    """

    def __init__(self, viewer: napari.Viewer, score_threshold: float = 0.5) -> None:
        super().__init__()
        self.viewer = viewer = real(viewer)
        self.score_threshold = score_threshold
        self.sets: FrameSets | None = None
        self.n_frames = 0
        self.setMinimumHeight(36)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(False)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        tips = "; ".join(f"{text}: {color}" for _, color, text in STRIPS)
        self.setToolTip(f"Click or drag to go to a frame. Marks: {tips}")
        self.follow_labels(viewer, interval_ms=150)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt)
        """A bar: wide, one strip per kind."""
        return QSize(400, 40)

    def recompute(self) -> None:
        """Recompute the marks and repaint (a pass over every labeled frame).

        About 15 ms per 1,000 labeled frames.
        """
        self.n_frames = frame_count(self.viewer)
        self.sets = frame_sets(self.viewer, self.score_threshold)
        self.update()

    def _on_step(self, event: Any = None) -> None:
        self.update()

    @property
    def frame(self) -> int:
        """The viewer's current frame."""
        return int(self.viewer.dims.current_step[0]) if self.viewer.dims.ndim else 0

    def frame_at(self, x: float) -> int:
        """The frame under the horizontal position ``x`` (widget pixels)."""
        n = max(self.n_frames, 1)
        f = int(np.floor(x / max(self.width(), 1) * n))
        return int(np.clip(f, 0, n - 1))

    def x_of(self, frame: int) -> int:
        """The horizontal pixel where ``frame`` starts."""
        n = max(self.n_frames, 1)
        return int(frame / n * self.width())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt)
        """Draw the strips and the current frame."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#262930"))
        h = self.height()
        strip = max((h - 2) // len(STRIPS), 3)
        if self.sets is not None and self.n_frames:
            for i, (kind, color, _) in enumerate(STRIPS):
                frames = self.sets.frames(kind)
                if not len(frames):
                    continue
                xs = np.unique((frames / self.n_frames * self.width()).astype(int))
                width = max(2, int(np.ceil(self.width() / self.n_frames)))
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(QColor(color))
                y = 1 + i * strip
                for x in xs:
                    painter.drawRect(QRect(int(x), y, width, strip - 1))
        x = self.x_of(self.frame)
        painter.setPen(QColor("white"))
        painter.drawLine(x, 0, x, h)
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt)
        """Jump to the clicked frame."""
        if event.button() == Qt.MouseButton.LeftButton:
            self._jump(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt)
        """Scrub while the button is held."""
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._jump(event)

    def _jump(self, event: QMouseEvent) -> None:
        if not self.n_frames:
            return
        x = event.position().x() if hasattr(event, "position") else event.x()
        self.viewer.dims.set_current_step(0, self.frame_at(x))
