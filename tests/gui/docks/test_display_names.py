"""Track names and node names on the canvas, the node legend, visible tails.

Opened both ways (dock first, labels first) on the real fly clip's labels, driven
with the mouse and keys; any napari error notification fails the test.
"""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio
from qtpy.QtCore import QPoint, Qt
from qtpy.QtWidgets import QCheckBox

from napari_sleap.napari.docks.display import UNTRACKED, _hex
from napari_sleap.napari.layers.convert import layer_meta
from tests.gui.person import drag, key, look_at, open_in_order, save_shot


@pytest.fixture
def project(clip_train_slp, clip_mp4, tmp_path):
    """A private copy of the clip's training labels (no stray autosave beside it)."""
    labels = sio.load_slp(str(clip_train_slp), open_videos=False)
    labels.videos[0].replace_filename(str(clip_mp4), open=False)
    out = tmp_path / "clip_train.slp"
    labels.save(str(out))
    return out


def tick(qtbot, box: QCheckBox) -> None:
    """Click a checkbox on its tick mark."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def names_on(names, frame: int):
    """The names layer's (labels, colors, (y, x)) on ``frame``."""
    rows = np.nonzero(np.rint(names.data[:, 0]) == frame)[0]
    return (
        list(names.features["label"][rows]),
        list(names.features["color"][rows]),
        names.data[rows, 1:],
    )


def _layer(viewer, role: str):
    return next(la for la in viewer.layers if layer_meta(la).get("role") == role)


def _open(viewer, order: str, path):
    return open_in_order(viewer, path, order == "dock_first")["Labeling"]


@pytest.mark.parametrize("order", ["dock_first", "labels_first"])
def test_names_legend_and_tails(make_napari_viewer, qtbot, project, order) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1500, 1000)
    dock = _open(viewer, order, project)
    points = _layer(viewer, "instances")
    names = _layer(viewer, "names")
    labels = dock.labels
    assert viewer.layers[-1] is points  # names sit under the points and edges
    assert viewer.layers.index(names) < viewer.layers.index(_layer(viewer, "edges"))

    # napari's "display text" is not ticked with nothing to show
    controls = viewer.window._qt_viewer.controls.widgets[points]
    text_box = next(
        b
        for b in controls.findChildren(QCheckBox)
        if b.toolTip() == "Toggle text visibility"
    )
    assert not points.text.visible
    assert not text_box.isChecked()

    # a frame with both flies: their track names in their track colors
    lf = next(lf for lf in labels.labeled_frames if len(lf.instances) == 2)
    viewer.layers.selection.active = points
    viewer.dims.set_current_step(0, lf.frame_idx)
    qtbot.wait(50)
    texts, hexes, anchors = names_on(names, lf.frame_idx)
    assert sorted(texts) == sorted(i.track.name for i in lf.instances)
    colors = layer_meta(points)["track_colors"]
    for inst in lf.instances:
        k = texts.index(inst.track.name)
        want = _hex(colors[labels.tracks.index(inst.track)])
        assert hexes[k] == want != UNTRACKED
        xy = inst.numpy()
        y, x = anchors[k]
        assert y < np.nanmin(xy[:, 1])  # above the animal
        assert abs(x - np.nanmean(xy[:, 0])) < 30
    assert names.text.visible and sorted(names._view_text) == sorted(texts)

    # next frame with the keyboard: the names follow
    before = names_on(names, lf.frame_idx)[2]
    nxt = next(f for f in labels.labeled_frames if f.frame_idx > lf.frame_idx)
    viewer.dims.set_current_step(0, nxt.frame_idx - 1)
    key(qtbot, viewer, Qt.Key.Key_Right)
    qtbot.wait(20)
    assert int(viewer.dims.current_step[0]) == nxt.frame_idx
    assert len(names._view_text) == len(nxt.instances)
    assert not np.allclose(names_on(names, nxt.frame_idx)[2], before)
    viewer.dims.set_current_step(0, lf.frame_idx)

    # drag the topmost node of one fly up with the mouse: its name follows
    inst = lf.instances[0]
    texts, _, anchors = names_on(names, lf.frame_idx)
    k = texts.index(inst.track.name)
    xy = inst.numpy()
    node = int(np.nanargmin(xy[:, 1]))
    y, x = xy[node, 1], xy[node, 0]
    look_at(qtbot, viewer, y, x, zoom=4.0)
    points.mode = "select"
    qtbot.wait(20)
    drag(qtbot, viewer, y, x, -15.0, 0.0)
    assert inst.numpy()[node, 1] < y - 10  # moved up 15 data px
    qtbot.waitUntil(
        lambda: names_on(names, lf.frame_idx)[2][k][0] < anchors[k][0] - 10,
        timeout=2000,
    )

    # node names on request (the dock's checkbox, clicked)
    box = dock.display.node_names
    tick(qtbot, box)
    assert box.isChecked() and points.text.visible
    assert text_box.isChecked()
    shown = points._view_text
    assert "head" in set(shown) and "thorax" in set(shown)
    # and off again through the track-names box: names layer hides
    tbox = dock.display.track_names
    tick(qtbot, tbox)
    assert not names.visible
    tick(qtbot, tbox)
    assert names.visible and len(names._view_text) == 2

    # the legend: one entry per node, in the color of that node's points
    entries = dict(dock.display.legend.entries)
    assert list(entries) == labels.skeletons[0].node_names
    nodes = np.asarray(points.features["node"])
    for name in ("head", "wingL", "eyeR"):
        row = int(np.nonzero(nodes == name)[0][0])
        face = points.face_color[row]
        assert _hex(face) == entries[name]

    # tails: wide, long, drawn over the video (not additive), and adjustable
    tracks = _layer(viewer, "tracks")
    assert tracks.tail_width >= 6 and tracks.tail_length >= 60
    assert str(tracks.blending) == "translucent"
    spin = dock.display.tail_width
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "8")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert tracks.tail_width == 8


def test_screenshot_names_tails_legend(
    make_napari_viewer, qtbot, clip_all_slp, clip_mp4, tmp_path
) -> None:
    """The tracked clip mid-way: names, node names, tails and the legend."""
    labels = sio.load_slp(str(clip_all_slp), open_videos=False)
    labels.videos[0].replace_filename(str(clip_mp4), open=False)
    path = tmp_path / "clip_all.slp"
    labels.save(str(path))
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1500, 1000)
    dock = _open(viewer, "labels_first", path)
    tick(qtbot, dock.display.node_names)
    frame = 1160  # the male walks across frames 1100..1160
    viewer.dims.set_current_step(0, frame)
    lf = next(f for f in dock.labels.labeled_frames if f.frame_idx == frame)
    xy = np.concatenate([i.numpy() for i in lf.instances])
    viewer.camera.center = (float(np.nanmean(xy[:, 1])), float(np.nanmean(xy[:, 0])))
    viewer.camera.zoom = 2.0
    qtbot.wait(300)
    tracks = _layer(viewer, "tracks")
    assert len(tracks.data) > 1000
    track_rgb = np.asarray(layer_meta(_layer(viewer, "instances"))["track_colors"])

    def track_colored() -> int:
        canvas = viewer.screenshot(canvas_only=True, flash=False)
        diff = canvas[..., None, :3].astype(int) - track_rgb[:, :3] * 255
        return int((np.abs(diff).max(-1) < 40).any(-1).sum())

    with_tails = track_colored()
    tracks.visible = False
    qtbot.wait(100)
    without = track_colored()
    tracks.visible = True
    qtbot.wait(200)
    assert with_tails - without > 150, (with_tails, without)  # a visible tail
    save_shot(
        viewer.screenshot(canvas_only=False, flash=False), "labeling_names_legend.png"
    )
