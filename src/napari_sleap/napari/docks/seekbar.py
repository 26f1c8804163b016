"""A seekbar that marks labeled, predicted, suggested and low-score frames.

One thin strip per kind of frame (as SLEAP's GUI seekbar does), with the current
frame as a white line; a click or drag jumps there. The marks come from
:class:`napari_sleap.labeling.FrameSets` of the newest instances layer and are
updated, coalesced, after edits: only the frames an edit touched.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QRect, QSize, Qt, QTimer
from qtpy.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent
from qtpy.QtWidgets import QSizePolicy, QWidget

from napari_sleap.labeling import FrameSets
from napari_sleap.labeling.commands import command_changes
from napari_sleap.labeling.navigation import frame_kinds
from napari_sleap.napari.compat import unproxied
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
    """Call ``slot(command)`` after every edit in the viewer's undo history.

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
            method(command)
        except RuntimeError:  # the widget was deleted
            if listener in stack.listeners:
                stack.listeners.remove(listener)

    stack.listeners.append(listener)


class FollowsLabels:
    """Mixin of a Qt widget that follows the newest instances layer's labels.

    It refills after layer changes. After edits in the undo history (coalesced
    by a single-shot timer; not on the layer's data events: a windowed layer
    refills its rows on every frame step) it updates only the frames the edits
    touched (:meth:`update_frames`), unless they touched more than
    :attr:`INCREMENTAL_MAX` frames. Work runs only while the widget is shown; a
    hidden one (a closed tab) catches up when shown. Widgets set ``viewer``,
    call :meth:`follow_labels` and define ``recompute()``, ``update_frames()``
    and ``_on_step()``.
    """

    viewer: Any
    points: Any = None
    _stale = True
    #: Edits touching more frames than this refill everything (a swap of tracks
    #: from mid-clip touches most of them; one pass is then cheaper).
    INCREMENTAL_MAX = 2000
    #: Whether track changes matter to the widget (names listed per frame).
    TRACKS_MATTER = False
    #: Full refills so far (edits of a few frames should add none).
    refills = 0

    def follow_labels(self, viewer: Any, interval_ms: int) -> None:
        """Connect to ``viewer``'s layers, frame slider and edit history."""
        self._timer = QTimer(self)  # type: ignore[arg-type]
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.refresh)
        #: Labeled frames touched since the last refresh (None: refill all).
        self._touched: dict[int, Any] | None = None
        #: The video's labeled frames by frame index, as of the last refill.
        self._by_frame: dict[int, list[Any]] = {}
        viewer.dims.events.current_step.connect(self._on_step)
        viewer.layers.events.inserted.connect(self._on_layers)
        viewer.layers.events.removed.connect(self._on_layers)
        listen_to_edits(viewer, self._on_command)
        self._on_layers()

    def _on_layers(self, event: Any = None) -> None:
        self.points = instances_layer(self.viewer)
        self._touched = None
        self.refresh()

    def _on_command(self, command: Any = None) -> None:
        self._note(command)
        self.schedule()

    def _note(self, command: Any) -> None:
        """Remember the labeled frames ``command`` changed (for the next refresh)."""
        if self._touched is None:
            return
        if command is None:
            self._touched = None
            return
        changes = command_changes(command)
        if not (changes.frames or changes.retracked or changes.moved):
            self._touched = None  # e.g. new suggestions: refill (rare, cheap)
            return
        touched = {id(lf): lf for lf in changes.frames}
        if self.TRACKS_MATTER and changes.retracked:
            if len(changes.retracked) > self.INCREMENTAL_MAX:
                self._touched = None
                return
            sync = self._sync()
            if sync is None:
                self._touched = None
                return
            for inst in changes.retracked:
                try:
                    lf = sync.frame_of(inst)
                except ValueError:
                    continue
                touched[id(lf)] = lf
        self._touched.update(touched)
        if len(self._touched) > self.INCREMENTAL_MAX:
            self._touched = None

    def _sync(self) -> Any:
        """The labeling docks' layer sync of ``self.points`` (None: none open)."""
        from napari_sleap.napari.docks.edit_history import live_syncs

        mine = unproxied(self.points)
        return next(
            (s for s in live_syncs(self.viewer) if unproxied(s.layer) is mine), None
        )

    def schedule(self, event: Any = None) -> None:
        """Refresh soon (edits come in bursts while dragging)."""
        self._timer.start()

    def refresh(self) -> None:
        """Bring the widget up to date now (once shown, if hidden now)."""
        if not self.isVisible():  # type: ignore[attr-defined]
            self._stale = True
            return
        self._stale = False
        touched, self._touched = self._touched, {}
        if touched is None or self.points is None:
            self._by_frame = self._index()
            self.recompute()
            self.refills += 1
            return
        if not touched:
            return
        meta = layer_meta(self.points)
        video = meta["labels"].videos[meta.get("video_index", 0)]
        frames: set[int] = set()
        for lf in touched.values():
            if lf.video is not video:
                continue
            group = self._by_frame.setdefault(int(lf.frame_idx), [])
            if not any(x is lf for x in group):
                group.append(lf)
            frames.add(int(lf.frame_idx))
        self.update_frames({f: self._by_frame[f] for f in sorted(frames)})

    def _index(self) -> dict[int, list[Any]]:
        """The labeled frames of the layer's video by frame index (one pass)."""
        if self.points is None:
            return {}
        meta = layer_meta(self.points)
        labels = meta["labels"]
        video = labels.videos[meta.get("video_index", 0)]
        out: dict[int, list[Any]] = {}
        for lf in labels.labeled_frames:
            if lf.video is video:
                out.setdefault(int(lf.frame_idx), []).append(lf)
        return out

    def showEvent(self, event: Any) -> None:  # noqa: N802 (Qt)
        """Catch up with edits made while hidden."""
        super().showEvent(event)  # type: ignore[misc]
        if self._stale:
            self.refresh()

    def recompute(self) -> None:
        """Refill the widget from ``self.points`` (subclasses)."""
        raise NotImplementedError

    def update_frames(self, frames: dict[int, list[Any]]) -> None:
        """Update the widget for edited frames: ``{frame: its labeled frames}``."""
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

    def update_frames(self, frames: dict[int, list[Any]]) -> None:
        """Re-mark only the edited frames (and re-read the suggestions)."""
        if self.sets is None:
            self.recompute()
            return
        meta = layer_meta(self.points)
        labels = meta["labels"]
        video = labels.videos[meta.get("video_index", 0)]
        for frame, lfs in frames.items():
            self.sets.set_frame(frame, *frame_kinds(lfs, self.score_threshold))
        self.sets.suggested = np.unique(
            np.asarray(
                [s.frame_idx for s in labels.suggestions if s.video is video],
                dtype=np.int64,
            )
        )
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
