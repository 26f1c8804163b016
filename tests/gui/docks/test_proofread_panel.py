"""The proofreading dock on a real viewer: swap, assign, delete, likely swaps, undo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio
from qtpy.QtCore import Qt

from napari_sleap.io.labels import save_labels
from napari_sleap.napari.docks.proofread import ProofreadPanel
from napari_sleap.napari.layers.convert import META_KEY
from napari_sleap.sample import make_sample

SWAP_AT = 20


def settle_tracks(viewer, timeout: float = 5.0) -> None:
    """Let the Tracks layer's debounced update after edits run (Qt events)."""
    import time

    from qtpy.QtWidgets import QApplication

    from napari_sleap.napari.sync.tracks_follow import follower_for

    followers = [f for la in viewer.layers if (f := follower_for(la)) is not None]
    end = time.monotonic() + timeout
    while any(f.pending for f in followers) and time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)
    assert not any(f.pending for f in followers), "the Tracks update never ran"


@pytest.fixture(scope="module")
def tracked(tmp_path_factory) -> Path:
    """Ground truth as tracked predictions, with the two identities swapped at 20."""
    paths = make_sample(tmp_path_factory.mktemp("proof"), n_frames=40, size=160)
    gt = sio.load_slp(str(paths.gt))
    a, b = gt.tracks
    for lf in gt.labeled_frames:
        new = []
        for inst in lf.instances:
            track = inst.track
            if lf.frame_idx >= SWAP_AT:
                track = b if track is a else a
            new.append(
                sio.PredictedInstance.from_numpy(
                    inst.numpy(),
                    skeleton=gt.skeletons[0],
                    point_scores=np.full(len(inst.points), 0.9),
                    score=0.9,
                    track=track,
                    tracking_score=0.8,
                )
            )
        lf.instances = new
    return save_labels(gt, paths.folder / "tracked.slp")


@pytest.fixture
def opened(make_napari_viewer, tracked):
    viewer = make_napari_viewer()
    viewer.open(str(tracked), plugin="napari-sleap")
    panel = ProofreadPanel(viewer)
    viewer.window.add_dock_widget(panel, name="Proofread")
    return viewer, panel


def _tracks_layer(viewer):
    """The Tracks layer once its scheduled update after an edit has run."""
    settle_tracks(viewer)
    return next(
        la
        for la in viewer.layers
        if la.metadata.get(META_KEY, {}).get("role") == "tracks"
    )


def _track_names_at(labels: sio.Labels, frame: int) -> list[str]:
    lf = next(lf for lf in labels.labeled_frames if lf.frame_idx == frame)
    return [i.track.name for i in lf.instances]


def _check_rows(panel, frame: int) -> None:
    """The layer rows of a frame name and color their instance's current track."""
    sync = panel.sync
    colors = sync.layer.metadata[META_KEY]["track_colors"]
    for inst in sync.frame_instances(frame):
        rows = sync.instance_rows(inst)
        assert set(sync.layer.features["track"].iloc[rows]) == {inst.track.name}
        k = [t.name for t in panel.labels.tracks].index(inst.track.name)
        np.testing.assert_allclose(
            sync.layer.border_color[rows], np.tile(colors[k], (len(rows), 1)), atol=1e-6
        )


def _click(qtbot, panel, text: str) -> None:
    from qtpy.QtWidgets import QPushButton

    button = next(b for b in panel.findChildren(QPushButton) if b.text() == text)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_swap_list_key_and_swap_fix_the_identities(opened, qtbot):
    viewer, panel = opened
    labels = panel.labels
    before = _track_names_at(labels, SWAP_AT)
    tracks = _tracks_layer(viewer)
    old = tracks.data.copy()
    _click(qtbot, panel, "Find likely swaps")
    assert panel.swap_list.count() >= 1
    assert panel.events[0].frame == SWAP_AT and "swap" in panel.events[0].kinds
    canvas = viewer.window._qt_viewer.canvas.native
    qtbot.keyClick(canvas, Qt.Key.Key_J)  # one key jumps to the top-ranked swap
    assert viewer.dims.current_step[0] == SWAP_AT
    assert {panel.track_a.currentText(), panel.track_b.currentText()} == {
        t.name for t in labels.tracks
    }
    _click(qtbot, panel, "Swap from this frame on")
    assert _track_names_at(labels, SWAP_AT) == before[::-1]
    settle_tracks(viewer)
    moved = tracks.data
    # the Tracks layer followed: each track's rows from the swap frame on changed
    later = old[:, 1] >= SWAP_AT
    assert later.any() and moved.shape == old.shape
    assert not np.allclose(moved[later][:, 2:], old[later][:, 2:])
    np.testing.assert_allclose(moved[~later], old[~later])
    ids = np.asarray(panel.sync.layer.features["track"])
    assert len(ids) == len(panel.sync.layer.data)
    # after the fix the motion is consistent: no swap left at that frame
    assert all(
        not (e.frame == SWAP_AT and "swap" in e.kinds) for e in panel.find_swaps()
    )
    _check_rows(panel, SWAP_AT + 5)
    _click(qtbot, panel, "Undo")
    assert _track_names_at(labels, SWAP_AT) == before
    _check_rows(panel, SWAP_AT + 5)
    settle_tracks(viewer)
    np.testing.assert_allclose(tracks.data, old)


def test_assign_selected_instance_to_a_new_track_and_undo(opened, qtbot):
    viewer, panel = opened
    labels = panel.labels
    viewer.dims.set_current_step(0, 5)
    sync = panel.sync
    inst = sync.frame_instances(5)[0]
    sync.layer.selected_data = set(sync.instance_rows(inst).tolist())
    panel.assign_combo.setCurrentText("third")
    _click(qtbot, panel, "Assign selected")
    assert inst.track.name == "third" and len(labels.tracks) == 3
    assert panel.track_a.count() == 3  # the lists know the new track
    tracks = _tracks_layer(viewer)
    assert (tracks.data[:, 0] == 2).sum() == 1
    rows = sync.instance_rows(inst)
    assert set(sync.layer.features["track"].iloc[rows]) == {"third"}
    panel.undo()
    assert inst.track.name != "third"
    settle_tracks(viewer)
    assert (tracks.data[:, 0] == 2).sum() == 0


def test_delete_predicted_in_range_and_undo(opened, qtbot):
    viewer, panel = opened
    labels = panel.labels
    n_before = sum(len(lf.instances) for lf in labels.labeled_frames)
    panel.start_spin.setValue(5)
    panel.stop_spin.setValue(9)
    _click(qtbot, panel, "Delete")
    left = {lf.frame_idx: len(lf.instances) for lf in labels.labeled_frames}
    assert all(left.get(f, 0) == 0 for f in range(5, 10))
    assert sum(left.values()) == n_before - 10
    frames = _tracks_layer(viewer).data[:, 1]
    assert not ((frames >= 5) & (frames <= 9)).any()
    layer = panel.sync.layer
    shown_frames = np.asarray(layer.data[:, 0])[np.asarray(layer.shown)]
    assert not ((shown_frames >= 5) & (shown_frames <= 9)).any()
    panel.undo()
    assert sum(len(lf.instances) for lf in labels.labeled_frames) == n_before
    frames = _tracks_layer(viewer).data[:, 1]
    assert ((frames >= 5) & (frames <= 9)).sum() == 10
    with pytest.raises(ValueError, match="before"):
        panel.delete_range(9, 5)
