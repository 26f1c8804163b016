"""The seekbar and the labeled-frames table follow edits frame by frame.

Edits by hand (Add by click and key, copy previous, accept prediction, delete,
undo, redo, a track swap and rename) in both orders of opening the docks and the
.slp; after each the Frames dock matches a full pass over the labels, and edits
of a few frames did not refill it (only their rows and marks changed).
"""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio
from qtpy.QtCore import Qt

from napari_sleap.labeling import FrameSets
from napari_sleap.napari.docks.frame_table import frame_rows
from tests.gui.docks.test_frames_workbench import HIGH, LOW, project  # noqa: F401
from tests.gui.person import (
    CTRL,
    SHIFT,
    canvas,
    click,
    click_button,
    key,
    labels_layers,
    labels_of,
    look_at,
    open_in_order,
    select_mode,
    to_screen,
)


def _matches(panel, labels: sio.Labels) -> None:
    """The dock shows what a full pass over ``labels`` gives."""
    video = labels.videos[0]
    assert panel.table.model_.rows == frame_rows(labels, video)
    want = FrameSets.from_labels(labels, video, n_frames=panel.seekbar.n_frames)
    for kind in ("labeled", "predicted", "suggested", "low_score"):
        got = panel.seekbar.sets.frames(kind)
        assert np.array_equal(got, want.frames(kind)), kind


def _settle(qtbot, panel) -> None:
    qtbot.wait(60)
    qtbot.waitUntil(
        lambda: (
            not panel.seekbar._timer.isActive() and not panel.table._timer.isActive()
        ),
        timeout=3000,
    )


@pytest.mark.parametrize("order", ["dock_first", "labels_first"])
def test_frames_dock_follows_edits_incrementally(
    make_napari_viewer,
    qtbot,
    project,  # noqa: F811
    order,
) -> None:
    viewer = make_napari_viewer(show=True)
    docks = open_in_order(
        viewer, project, order == "dock_first", ("Frames", "Labeling", "Proofread")
    )
    panel, lab, proof = docks["Frames"], docks["Labeling"], docks["Proofread"]
    points, _ = labels_layers(viewer)
    labels = labels_of(points)
    qtbot.waitUntil(lambda: panel.seekbar.sets is not None, timeout=3000)
    _matches(panel, labels)
    full = (panel.seekbar.refills, panel.table.refills)
    look_at(qtbot, viewer, 512.0, 512.0, zoom=0.5)

    lab.set_frame(3)  # Add (click) on an unlabeled frame
    click_button(qtbot, lab, "Add (click)")
    click(qtbot, viewer, 500.0, 520.0)
    _settle(qtbot, panel)
    assert 3 in panel.table.frames() and 3 in panel.seekbar.sets.labeled
    _matches(panel, labels)
    lab.set_frame(4)  # Ctrl+I
    qtbot.mouseMove(canvas(viewer), to_screen(viewer, 400.0, 600.0))
    key(qtbot, viewer, Qt.Key.Key_I, CTRL)
    lab.set_frame(5)  # Shift+C copies frame 4
    key(qtbot, viewer, Qt.Key.Key_C, SHIFT)
    _settle(qtbot, panel)
    _matches(panel, labels)
    lab.set_frame(LOW)  # Ctrl+Enter accepts the frame's predictions
    key(qtbot, viewer, Qt.Key.Key_Return, CTRL)
    _settle(qtbot, panel)
    assert LOW not in panel.seekbar.sets.predicted and LOW in panel.seekbar.sets.labeled
    _matches(panel, labels)
    key(qtbot, viewer, Qt.Key.Key_Z, CTRL)  # undo the accept
    key(qtbot, viewer, Qt.Key.Key_Z, CTRL)  # undo the copy: frame 5 gone
    _settle(qtbot, panel)
    assert 5 not in panel.table.frames() and LOW in panel.seekbar.sets.low_score
    _matches(panel, labels)
    key(qtbot, viewer, Qt.Key.Key_Z, CTRL | SHIFT)
    lab.set_frame(HIGH)  # delete a prediction: select its node, Ctrl+Backspace
    select_mode(viewer, points)
    y, x = points.data[lab.sync.instance_rows(lab.sync.frame_instances(HIGH)[0])[1], 1:]
    look_at(qtbot, viewer, y, x, zoom=2.0)
    click(qtbot, viewer, y, x)
    key(qtbot, viewer, Qt.Key.Key_Backspace, CTRL)
    _settle(qtbot, panel)
    assert panel.table.model_.index(panel.table.frames().index(HIGH), 1).data() == "1"
    _matches(panel, labels)
    # edits of a few frames changed rows and marks, never a full refill
    assert (panel.seekbar.refills, panel.table.refills) == full

    # a swap from frame 0 on and a rename retrack every frame's instances
    # (100 frames here: below INCREMENTAL_MAX, so row by row too)
    lab.set_frame(0)
    click_button(qtbot, proof, "Swap from this frame on")
    proof.rename_combo.setCurrentText("male")
    proof.rename_edit.setText("m")
    click_button(qtbot, proof, "Rename")
    _settle(qtbot, panel)
    _matches(panel, labels)
    assert "m" in panel.table.model_.index(0, 2).data().split(", ")
