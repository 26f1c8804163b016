"""Acting as a person on a real viewer: docks opened from the Plugins menu,
clicks, drags and keys on the canvas, and every napari error notification counted.

Docks are opened the way napari's menu opens them
(``viewer.window.add_plugin_dock_widget``), so they get what napari gives a
plugin: a proxy of the viewer, not the viewer itself.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import QPoint, Qt

PLUGIN = "napari-sleap"
NO_MOD = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


class ErrorLog:
    """napari notifications of severity error (or worse) seen during a test."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def __call__(self, notification: Any) -> None:
        from napari.utils.notifications import NotificationSeverity

        if notification.severity >= NotificationSeverity.ERROR:
            self.errors.append(str(notification.message))

    def check(self) -> None:
        """Fail the test on any error notification."""
        assert self.errors == [], f"napari showed errors: {self.errors}"


@pytest.fixture
def napari_errors():
    """Every error notification napari shows fails the test.

    Exceptions raised in Qt/vispy event handlers are re-raised into the test by
    pytest-qt (their notification path in napari is ``sys.excepthook``).
    """
    from napari.utils.notifications import notification_manager

    log = ErrorLog()
    notification_manager.notification_ready.connect(log)
    yield log
    notification_manager.notification_ready.disconnect(log)
    log.check()


def copy_clip(train_slp: Path, mp4: Path, folder: Path) -> Path:
    """The real clip's labels and video copied to ``folder`` (edits stay there)."""
    shutil.copy(mp4, folder / mp4.name)
    out = folder / train_slp.name
    shutil.copy(train_slp, out)
    return out


def open_dock(viewer: Any, name: str) -> Any:
    """Open one of the plugin's docks as the Plugins menu does; returns the widget."""
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
    return widget


def open_slp(viewer: Any, path: Path) -> tuple[Any, Any]:
    """Open a .slp with the plugin; returns its (points, edges) layers."""
    viewer.open(str(path), plugin=PLUGIN)
    points = [la for la in viewer.layers if type(la).__name__ == "Points"][-1]
    edges = [la for la in viewer.layers if type(la).__name__ == "Vectors"][-1]
    return points, edges


def canvas(viewer: Any) -> Any:
    """The Qt widget of the vispy canvas (where mouse and key events go)."""
    return viewer.window._qt_viewer.canvas.native


def to_screen(viewer: Any, y: float, x: float) -> QPoint:
    """Canvas pixel of data point ``(y, x)`` (2D view, no rotation)."""
    cam = viewer.camera
    cy, cx = cam.center[-2:]
    native = canvas(viewer)
    sx = (x - cx) * cam.zoom + native.width() / 2
    sy = (y - cy) * cam.zoom + native.height() / 2
    return QPoint(round(sx), round(sy))


def look_at(qtbot: Any, viewer: Any, y: float, x: float, zoom: float = 3.0) -> None:
    """Centre the view on ``(y, x)`` at ``zoom`` (as scrolling and panning would)."""
    viewer.camera.center = (0.0, y, x)
    viewer.camera.zoom = zoom
    qtbot.wait(30)


def _on_screen(qtbot: Any, viewer: Any, y: float, x: float) -> QPoint:
    """Pan to ``(y, x)`` if it is off the canvas (as a user would); its pixel."""
    pos = to_screen(viewer, y, x)
    native = canvas(viewer)
    if not (
        10 <= pos.x() < native.width() - 10 and 10 <= pos.y() < native.height() - 10
    ):
        look_at(qtbot, viewer, y, x, zoom=viewer.camera.zoom)
        pos = to_screen(viewer, y, x)
    return pos


def click(qtbot: Any, viewer: Any, y: float, x: float, button=None, mods=NO_MOD):
    """Move to and click the canvas at data point ``(y, x)``."""
    button = button or Qt.MouseButton.LeftButton
    pos = _on_screen(qtbot, viewer, y, x)
    qtbot.mouseMove(canvas(viewer), pos)
    qtbot.mouseClick(canvas(viewer), button, mods, pos)
    qtbot.wait(30)


def drag(qtbot: Any, viewer: Any, y: float, x: float, dy: float, dx: float) -> None:
    """Press on data point ``(y, x)``, move in steps by ``(dy, dx)``, release."""
    native = canvas(viewer)
    _on_screen(qtbot, viewer, y, x)
    _on_screen(qtbot, viewer, y + dy, x + dx)
    start = to_screen(viewer, y, x)
    end = to_screen(viewer, y + dy, x + dx)
    qtbot.mouseMove(native, start)
    qtbot.mousePress(native, Qt.MouseButton.LeftButton, NO_MOD, start)
    for k in range(1, 6):
        t = k / 5
        pos = QPoint(
            round(start.x() + t * (end.x() - start.x())),
            round(start.y() + t * (end.y() - start.y())),
        )
        qtbot.mouseMove(native, pos)
        qtbot.wait(10)
    qtbot.mouseRelease(native, Qt.MouseButton.LeftButton, NO_MOD, end)
    qtbot.wait(30)


def key(qtbot: Any, viewer: Any, k: Any, mods=NO_MOD) -> None:
    """Press a key on the canvas."""
    qtbot.keyClick(canvas(viewer), k, mods)
    qtbot.wait(10)


def select_mode(viewer: Any, points: Any) -> None:
    """Make the instances layer active in select mode (toolbar clicks)."""
    viewer.layers.selection.active = points
    points.mode = "select"


def live_rows(points: Any) -> np.ndarray:
    """Layer rows that belong to an instance (not spare rows)."""
    return np.nonzero(np.asarray(points.features["instance"]) >= 0)[0]


def edges_on(edges: Any, frame: int) -> int:
    """Skeleton edge lines drawn on ``frame``."""
    data = np.asarray(edges.data)
    if not len(data):
        return 0
    return int((np.rint(data[:, 0, 0]) == frame).sum())


def edge_touches(edges: Any, y: float, x: float) -> int:
    """Edge lines starting or ending at ``(y, x)``."""
    data = np.asarray(edges.data)
    if not len(data):
        return 0
    ends = np.concatenate([data[:, 0, 1:], data[:, 0, 1:] + data[:, 1, 1:]])
    return int(np.isclose(ends, [y, x], atol=1e-3).all(axis=1).sum())


def frame_of(labels: Any, frame: int) -> Any:
    """The labeled frame ``frame`` of the first video, made if absent."""
    import sleap_io as sio

    for lf in labels.labeled_frames:
        if lf.video is labels.videos[0] and lf.frame_idx == frame:
            return lf
    lf = sio.LabeledFrame(video=labels.videos[0], frame_idx=frame, instances=[])
    labels.append(lf)
    return lf


def add_expected(labels: Any, frame: int, xy: np.ndarray, track: Any = None) -> Any:
    """Put the user instance a test expects into ``labels`` (the intended edit)."""
    import sleap_io as sio

    inst = sio.Instance.from_numpy(
        np.asarray(xy, dtype=float), skeleton=labels.skeletons[0], track=track
    )
    frame_of(labels, frame).instances.append(inst)
    return inst


def differences(expected: Any, saved: Any) -> list[str]:
    """What the saved file holds beyond (or short of) the intended edits.

    Frames are put in video/frame order first: an edit may append a frame.
    """
    from napari_sleap.io.labels import compare_labels

    for labels in (expected, saved):
        index = {id(v): i for i, v in enumerate(labels.videos)}
        labels.labeled_frames.sort(key=lambda lf: (index[id(lf.video)], lf.frame_idx))
    return compare_labels(expected, saved)
