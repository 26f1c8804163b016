"""Never-placed nodes are drawn beside their instance and placed by dragging them.

SLEAP shows every node of an instance. Here a fly labeled without its left wing
and left hind leg shows those two nodes as faint markers in a column right of
the fly; a person drags the wing's marker onto the wing: it is placed (visible,
edges drawn), the leg stays unplaced, Ctrl+Z parks the wing again. The saved
file holds exactly that one placed node.
"""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio
from qtpy.QtCore import Qt

from napari_sleap.io.labels import load_labels
from napari_sleap.labeling import find_frame
from tests.gui.person import (
    CTRL,
    SHIFT,
    copy_clip,
    differences,
    drag,
    edge_touches,
    key,
    labels_layers,
    look_at,
    open_in_order,
    save_shot,
    select_mode,
)

UNPLACED = ("wingL", "hindlegL4")


@pytest.fixture
def slp(clip_train_slp, clip_mp4, tmp_path):
    """The clip's labels with the male of frame 0 missing two nodes."""
    out = copy_clip(clip_train_slp, clip_mp4, tmp_path)
    labels = sio.load_slp(str(out), open_videos=False)
    male = labels.labeled_frames[0].instances[0]
    for name in UNPLACED:
        k = male.skeleton.node_names.index(name)
        male.points["xy"][k] = np.nan
        male.points["visible"][k] = False
    labels.save(str(out))
    return out


@pytest.mark.parametrize("dock_first", [True, False], ids=["dock-first", "slp-first"])
def test_unplaced_nodes_are_drawn_and_dragged_into_place(
    make_napari_viewer, qtbot, slp, clip_train_slp, tmp_path, dock_first
):
    expected = load_labels(slp, video_search_paths=[tmp_path])
    original = sio.load_slp(str(clip_train_slp), open_videos=False)
    viewer = make_napari_viewer(show=True)
    widget = open_in_order(viewer, slp, dock_first)["Labeling"]
    points, edges = labels_layers(viewer)
    widget.set_frame(0)
    male = find_frame(widget.labels, widget.labels.videos[0], 0).instances[0]
    names = male.skeleton.node_names
    rows = widget.sync.instance_rows(male)
    wing, leg = (int(rows[names.index(n)]) for n in UNPLACED)
    shown = np.asarray(points.shown)
    assert shown[wing] and shown[leg]  # drawn, not left out
    placed_x = np.nanmax(male.numpy()[:, 0])
    assert points.data[wing, 2] > placed_x and points.data[leg, 2] > placed_x
    assert edge_touches(edges, *points.data[wing, 1:]) == 0
    y, x = points.data[wing, 1:]
    look_at(qtbot, viewer, y + 5, x - 20, zoom=6.0)
    save_shot(viewer.screenshot(canvas_only=True), "unplaced_nodes_parked.png")

    # drag the wing's marker onto the wing (where the full labels have it)
    target = original.labeled_frames[0].instances[0].numpy()[names.index("wingL")]
    select_mode(viewer, points)
    drag(qtbot, viewer, y, x, target[1] - y, target[0] - x)
    got = male.numpy()[names.index("wingL")]
    assert np.allclose(got, target, atol=0.6), (got, target)
    assert male.points["visible"][names.index("wingL")]
    assert np.isnan(male.numpy()[names.index("hindlegL4")]).all()
    row = int(widget.sync.instance_rows(male)[names.index("wingL")])
    assert edge_touches(edges, *points.data[row, 1:]) == 1  # thorax-wingL
    save_shot(viewer.screenshot(canvas_only=True), "unplaced_node_placed.png")

    key(qtbot, viewer, Qt.Key.Key_Z, CTRL)  # one step back: parked again
    assert np.isnan(male.numpy()[names.index("wingL")]).all()
    row = int(widget.sync.instance_rows(male)[names.index("wingL")])
    assert np.asarray(points.shown)[row] and points.data[row, 2] > placed_x
    key(qtbot, viewer, Qt.Key.Key_Z, CTRL | SHIFT)
    assert np.allclose(male.numpy()[names.index("wingL")], got)

    em = find_frame(expected, expected.videos[0], 0).instances[0]
    em.points["xy"][names.index("wingL")] = got
    em.points["visible"][names.index("wingL")] = True
    out = widget.save(tmp_path / "placed.slp")
    assert differences(expected, load_labels(out, video_search_paths=[tmp_path])) == []
