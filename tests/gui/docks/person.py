"""Acting as a person in the viewer tests: clicks, keys, and napari's error popups.

``error_notifications`` routes exceptions the way napari's application does (into
its notification manager, where a user sees a red popup) and fails the test if
any error notification appeared. Import the fixture into a test module with
``from tests.gui.docks.person import error_notifications  # noqa: F401``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from qtpy.QtCore import QPoint, Qt
from qtpy.QtWidgets import QAbstractButton, QWidget

DOCS = Path(__file__).resolve().parents[3] / "docs" / "images"


@pytest.fixture
def error_notifications() -> Iterator[list]:
    """Every notification napari shows during the test; any error fails it."""
    from napari.utils.notifications import NotificationSeverity, notification_manager

    seen: list = []
    notification_manager.notification_ready.connect(seen.append)
    notification_manager.install_hooks()
    try:
        yield seen
    finally:
        notification_manager.restore_hooks()
        notification_manager.notification_ready.disconnect(seen.append)
    errors = [n for n in seen if n.severity >= NotificationSeverity.ERROR]
    assert not errors, "error notifications: " + "; ".join(
        f"{n.message}" for n in errors
    )


def button(widget: QWidget, text: str) -> QAbstractButton:
    """The visible button of ``widget`` whose text is ``text``."""
    found = [
        b
        for b in widget.findChildren(QAbstractButton)
        if b.text() == text and b.isVisibleTo(widget)
    ]
    assert found, f"no visible button {text!r} in {type(widget).__name__}"
    return found[0]


def click(qtbot, widget: QWidget, text: str) -> None:
    """Click the button labelled ``text`` with the mouse."""
    qtbot.mouseClick(button(widget, text), Qt.MouseButton.LeftButton)


def canvas_of(viewer) -> QWidget:
    """The Qt widget of the viewer's canvas (where mouse events go)."""
    return viewer.window._qt_viewer.canvas.native


def canvas_pos(viewer, y: float, x: float) -> QPoint:
    """Canvas pixel of data position ``(y, x)`` (2D view)."""
    canvas = canvas_of(viewer)
    center = np.asarray(viewer.camera.center)[-2:]
    zoom = viewer.camera.zoom
    ratio = canvas.devicePixelRatioF() if hasattr(canvas, "devicePixelRatioF") else 1
    del ratio  # Qt widget coordinates are logical pixels, like the camera's
    py = canvas.height() / 2 + (y - center[0]) * zoom
    px = canvas.width() / 2 + (x - center[1]) * zoom
    return QPoint(round(px), round(py))


def click_canvas(qtbot, viewer, y: float, x: float) -> None:
    """A left click on the canvas at data position ``(y, x)``."""
    canvas = canvas_of(viewer)
    pos = canvas_pos(viewer, y, x)
    qtbot.mouseMove(canvas, pos)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.wait(30)


def save_shot(image: np.ndarray, name: str) -> Path:
    """Write a screenshot to docs/images/``name``."""
    from imageio.v3 import imwrite

    DOCS.mkdir(parents=True, exist_ok=True)
    out = DOCS / name
    imwrite(out, image)
    return out
