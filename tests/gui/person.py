"""Acting as a person on a real viewer: the one set of test helpers of tests/gui.

Docks are opened the way napari's menu opens them
(``viewer.window.add_plugin_dock_widget``), so they get what napari gives a
plugin: a proxy of the viewer, not the viewer itself. Buttons are clicked and
the canvas is clicked, dragged and keyed with real Qt events; screenshots go to
docs/images. Every napari error notification fails a test: the ``napari_errors``
fixture of tests/gui/conftest.py is used by every viewer test.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import sleap_io as sio
from qtpy.QtCore import QPoint, Qt
from qtpy.QtWidgets import QAbstractButton, QWidget

from napari_sleap.io.labels import save_labels
from napari_sleap.napari.layers.convert import META_KEY

PLUGIN = "napari-sleap"
NO_MOD = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
WORKBENCH = "napari-sleap (all docks as tabs)"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "images"


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


def button(widget: QWidget, text: str) -> QAbstractButton:
    """The visible button of ``widget`` whose text is ``text``."""
    found = [
        b
        for b in widget.findChildren(QAbstractButton)
        if b.text() == text and b.isVisibleTo(widget)
    ]
    assert found, f"no visible button {text!r} in {type(widget).__name__}"
    return found[0]


def click_button(qtbot: Any, widget: QWidget, text: str) -> None:
    """Click the button labelled ``text`` with the mouse."""
    qtbot.mouseClick(button(widget, text), Qt.MouseButton.LeftButton)


def open_in_order(
    viewer: Any, path: Path, dock_first: bool, docks: tuple[str, ...] = ("Labeling",)
) -> dict[str, Any]:
    """Open the plugin's ``docks`` and a file in a user's order; docks by name."""
    widgets = {name: open_dock(viewer, name) for name in docks} if dock_first else {}
    viewer.open(str(path), plugin=PLUGIN)
    if not dock_first:
        widgets = {name: open_dock(viewer, name) for name in docks}
    return widgets


def labels_layers(viewer: Any) -> tuple[Any, Any]:
    """The last opened labels' (points, edges) layers."""
    points = [la for la in viewer.layers if type(la).__name__ == "Points"][-1]
    edges = [la for la in viewer.layers if type(la).__name__ == "Vectors"][-1]
    return points, edges


def open_labels(viewer: Any, path: Path) -> tuple[Any, Any]:
    """Open a .slp with the plugin; returns its (points, edges) layers."""
    viewer.open(str(path), plugin=PLUGIN)
    return labels_layers(viewer)


def labels_of(points: Any) -> sio.Labels:
    """The Labels object behind an instances layer."""
    return points.metadata[META_KEY]["labels"]


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
    for lf in labels.labeled_frames:
        if lf.video is labels.videos[0] and lf.frame_idx == frame:
            return lf
    lf = sio.LabeledFrame(video=labels.videos[0], frame_idx=frame, instances=[])
    labels.append(lf)
    return lf


def add_expected(labels: Any, frame: int, xy: np.ndarray, track: Any = None) -> Any:
    """Put the user instance a test expects into ``labels`` (the intended edit)."""
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


def save_shot(image: np.ndarray, name: str) -> Path:
    """Write a screenshot (``viewer.screenshot(...)``) to docs/images/``name``."""
    from imageio.v3 import imwrite

    DOCS.mkdir(parents=True, exist_ok=True)
    out = DOCS / name
    imwrite(out, image)
    return out


def shoot(widget: QWidget, name: str) -> None:
    """Save ``widget`` as docs/images/<name> when NAPARI_SLEAP_SCREENSHOTS=1."""
    if os.environ.get("NAPARI_SLEAP_SCREENSHOTS") == "1":
        from qtpy.QtWidgets import QApplication

        for _ in range(3):  # let layouts settle (a folded box, wrapped labels)
            QApplication.processEvents()
        assert widget.grab().save(str(DOCS / name)), name


def drag_point(points, row: int, delta: tuple[float, float]) -> None:
    """Move one point through napari's drag calls (no mouse; benches, quick tests)."""
    points.selected_data = {row}
    start = np.array(points.data[row], dtype=float)
    points._set_drag_start({row}, start)
    points._move({row}, start + np.array([0.0, *delta]) / 2)
    points._move({row}, start + np.array([0.0, *delta]))
    points._drag_start = None


def with_predictions(train: Path, gt: Path, out: Path, frames: list[int]) -> Path:
    """Train labels plus predicted copies (score 0.3 / 0.9) of GT on ``frames``."""
    labels = sio.load_slp(str(train))
    truth = sio.load_slp(str(gt))
    video = labels.videos[0]
    for k, f in enumerate(frames):
        src = next(lf for lf in truth.labeled_frames if lf.frame_idx == f)
        lf = sio.LabeledFrame(video=video, frame_idx=f, instances=[])
        for inst in src.instances:
            lf.instances.append(
                sio.PredictedInstance.from_numpy(
                    inst.numpy() + 1.5,
                    skeleton=labels.skeletons[0],
                    point_scores=np.full(len(inst.points), 0.8),
                    score=0.3 if k == 0 else 0.9,
                )
            )
        labels.append(lf)
    labels.labeled_frames.sort(key=lambda lf: lf.frame_idx)
    return save_labels(labels, out)


def tracked_predictions(
    n_frames: int,
    swap_at: int,
    *,
    size: int = 512,
    seed: int = 1,
    track_names: tuple[str, str] = ("a", "b"),
    video_name: str = "long.mp4",
    tracking_score: float | None = None,
) -> sio.Labels:
    """Tracked predictions of the sample's motion, identities swapped at one frame."""
    from napari_sleap.sample import make_skeleton, simulate_poses

    poses = simulate_poses(n_frames, size, seed=seed)
    skeleton = make_skeleton()
    video = sio.Video(filename=video_name, open_backend=False)
    tracks = [sio.Track(name) for name in track_names]
    scores = np.full(poses.shape[2], 0.9)
    extra = {} if tracking_score is None else {"tracking_score": tracking_score}
    frames = []
    for f in range(n_frames):
        order = (1, 0) if f >= swap_at else (0, 1)
        instances = [
            sio.PredictedInstance.from_numpy(
                poses[f, a],
                skeleton=skeleton,
                point_scores=scores,
                score=0.9,
                track=tracks[order[a]],
                **extra,
            )
            for a in range(2)
        ]
        frames.append(sio.LabeledFrame(video=video, frame_idx=f, instances=instances))
    return sio.Labels(frames, videos=[video], skeletons=[skeleton], tracks=tracks)
