"""Naming tracks by hand: "New track..." asks for a name; the Proofread dock renames.

Right click on a fly, Set track > New track..., type a name, Enter: the fly is on
the new track in one undo step (Ctrl+Z takes the track away again). In the
Proofread dock a track is renamed by choosing it, typing and pressing Rename;
the names on the canvas follow, Ctrl+Z / Ctrl+Shift+Z walk it. The saved file
holds exactly those edits.
"""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLineEdit

from napari_sleap.io.labels import load_labels
from napari_sleap.labeling import find_frame
from tests.gui.docks.test_edit_by_hand import _menu_click, _node_row
from tests.gui.person import (
    CTRL,
    SHIFT,
    click,
    click_button,
    copy_clip,
    differences,
    key,
    labels_layers,
    look_at,
    open_in_order,
    shoot,
)


@pytest.fixture
def slp(clip_train_slp, clip_mp4, tmp_path):
    return copy_clip(clip_train_slp, clip_mp4, tmp_path)


def _names_on(points, rows) -> set[str]:
    return set(np.asarray(points.features["track"])[rows])


@pytest.mark.parametrize("dock_first", [True, False], ids=["dock-first", "slp-first"])
def test_new_track_is_named_and_tracks_rename(
    make_napari_viewer, qtbot, slp, tmp_path, dock_first
):
    expected = load_labels(slp, video_search_paths=[tmp_path])
    viewer = make_napari_viewer(show=True)
    docks = open_in_order(viewer, slp, dock_first, ("Labeling", "Proofread"))
    widget, proof = docks["Labeling"], docks["Proofread"]
    points, _ = labels_layers(viewer)
    labels = widget.labels
    widget.set_frame(0)
    lf = find_frame(labels, labels.videos[0], 0)
    male, female = lf.instances
    y, x = points.data[_node_row(widget, male, "thorax"), 1:]
    look_at(qtbot, viewer, y, x, zoom=3.0)

    # right click > Set track > New track...: a name box, typed, Enter
    click(qtbot, viewer, y, x, button=Qt.MouseButton.RightButton)
    menu = widget.instance_menu.menu
    sub = _menu_click(qtbot, menu, "Set track")
    _menu_click(qtbot, sub, "New track...")
    box = widget.instance_menu.rename_box
    qtbot.waitUntil(box.isVisible, timeout=2000)
    edit = box.findChild(QLineEdit)
    qtbot.keyClicks(edit, "courting")  # the offered name is selected: typed over
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert male.track.name == "courting" and female.track.name == "female"
    assert sorted(t.name for t in labels.tracks) == ["courting", "female", "male"]
    rows = widget.sync.instance_rows(male)
    assert _names_on(points, rows) == {"courting"}
    # one undo step: the instance and the track list as before
    key(qtbot, viewer, Qt.Key.Key_Z, CTRL)
    assert male.track.name == "male" and len(labels.tracks) == 2
    key(qtbot, viewer, Qt.Key.Key_Z, CTRL | SHIFT)
    assert male.track.name == "courting"

    # Proofread dock: rename "female" to "F1" (typed, Rename clicked)
    proof.rename_combo.setCurrentText("female")
    qtbot.mouseClick(proof.rename_edit, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(proof.rename_edit, "F1")
    click_button(qtbot, proof, "Rename")
    assert female.track.name == "F1" and "Renamed female to F1" in proof.status.text()
    assert _names_on(points, widget.sync.instance_rows(female)) == {"F1"}
    assert "F1" in [widget.track_combo.itemText(i) for i in range(3)]
    shoot(proof.rename_edit.parentWidget(), "proofread_rename_track.png")
    # a taken name is refused in the status line, nothing changes
    proof.rename_combo.setCurrentText("F1")
    qtbot.keyClicks(proof.rename_edit, "courting")
    qtbot.keyClick(proof.rename_edit, Qt.Key.Key_Return)
    assert "already named 'courting'" in proof.status.text()
    assert female.track.name == "F1"
    proof.rename_edit.clear()
    key(qtbot, viewer, Qt.Key.Key_Z, CTRL)
    assert female.track.name == "female"
    assert _names_on(points, widget.sync.instance_rows(female)) == {"female"}
    key(qtbot, viewer, Qt.Key.Key_Z, CTRL | SHIFT)
    assert female.track.name == "F1"

    em, ef = find_frame(expected, expected.videos[0], 0).instances
    courting = type(em.track)("courting")
    expected.tracks.append(courting)
    em.track = courting
    ef.track.name = "F1"
    out = widget.save(tmp_path / "named.slp")
    assert differences(expected, load_labels(out, video_search_paths=[tmp_path])) == []
