"""The windowed instances layer in a real viewer: one frame's rows, every edit kept.

Windowing starts past 50k rows; most tests force it on the small sample
(``window_min_rows``) so they stay quick, and one opens 10,000 tracked frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.io.labels import compare_labels, load_labels
from napari_sleap.labeling import find_frame
from napari_sleap.napari._writer import write_slp
from napari_sleap.napari.docks.labeling import LabelingWidget
from napari_sleap.napari.docks.proofread import ProofreadPanel
from napari_sleap.napari.layers.convert import META_KEY, labels_to_layers, layer_meta
from napari_sleap.napari.sync.tracks_follow import follower_for
from napari_sleap.napari.sync.window import window_for
from napari_sleap.sample import make_sample
from tests.gui.docks.test_proofread_panel import settle_tracks
from tests.gui.person import drag_point, tracked_predictions, with_predictions


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """A 40-frame sample: labels on 0/10/20, predictions on 25 and 30."""
    paths = make_sample(tmp_path_factory.mktemp("window"), n_frames=40, size=160)
    return with_predictions(
        paths.train, paths.gt, paths.folder / "project.slp", [25, 30]
    )


def _add_layers(viewer, labels: sio.Labels, window_min_rows: int) -> tuple:
    """The plugin's layers of ``labels`` in ``viewer``; returns (points, edges)."""
    from napari.layers import Layer

    from napari_sleap.napari.colormaps import tracks_colormap
    from napari_sleap.napari.sync.skeleton_link import install

    for data, kwargs, kind in labels_to_layers(labels, window_min_rows=window_min_rows):
        if kind == "tracks":
            kwargs = tracks_colormap(kwargs)
        viewer.add_layer(Layer.create(data, kwargs, kind))
    install(viewer)
    roles = {layer_meta(la).get("role"): la for la in viewer.layers}
    return roles["instances"], roles["edges"]


def _real_frames(points) -> set[int]:
    rows = layer_meta(points)["window_rows"]
    return {int(f) for f in np.asarray(points.data)[rows >= 0, 0]}


def _save_and_reload(points, path: Path) -> sio.Labels:
    write_slp(str(path), [points.as_layer_data_tuple()])
    return load_labels(path, missing_videos="ignore")


def test_window_steps_drag_undo_save(make_napari_viewer, sample, tmp_path) -> None:
    original = load_labels(sample, missing_videos="ignore")
    labels = load_labels(sample, missing_videos="ignore")
    viewer = make_napari_viewer()
    points, edges = _add_layers(viewer, labels, window_min_rows=50)
    widget = LabelingWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Labeling")
    assert layer_meta(points)["windowed"] and widget.sync.layer is points
    store = layer_meta(points)["store"]
    assert len(points.data) < len(store)
    # stepping the slider refills the layer with that frame's rows (and edges)
    for frame in (10, 20, 25, 10):
        widget.set_frame(frame)
        assert _real_frames(points) == {frame}
        lf = find_frame(labels, labels.videos[0], frame)
        assert (np.asarray(points.features["instance"]) >= 0).sum() == sum(
            len(i.points) for i in lf.instances
        )
        assert len(edges.data) > 0
        assert set(edges.data[:, 0, 0]) == {frame}
    # drag node 3 of the first instance on frame 10; its edges follow
    inst = find_frame(labels, labels.videos[0], 10).instances[0]
    before = inst.numpy().copy()
    row = int(widget.sync.instance_rows(inst)[3])
    drag_point(points, row, (4.0, -3.0))
    assert np.allclose(inst.numpy()[3], before[3] + [-3.0, 4.0])
    ends = np.concatenate(
        [edges.data[:, 0, 1:], edges.data[:, 0, 1:] + edges.data[:, 1, 1:]]
    )
    assert np.isclose(ends, points.data[row, 1:]).all(axis=1).any()
    # away and back: the window shows the moved point from the store
    widget.set_frame(20)
    widget.set_frame(10)
    row = int(widget.sync.instance_rows(inst)[3])
    assert np.allclose(points.data[row, 1:], before[3][::-1] + [4.0, -3.0])
    # undo on another frame puts it back in the store; redo moves it again
    widget.set_frame(20)
    widget.undo()
    assert np.allclose(inst.numpy(), before, equal_nan=True)
    widget.set_frame(10)
    row = int(widget.sync.instance_rows(inst)[3])
    assert np.allclose(points.data[row, 1:], before[3][::-1])
    widget.redo()
    assert np.allclose(points.data[row, 1:], before[3][::-1] + [4.0, -3.0])
    # save from frame 20: the writer takes every row, not the window
    widget.set_frame(20)
    saved = _save_and_reload(points, tmp_path / "saved.slp")
    diffs = compare_labels(original, saved)
    assert len(diffs) == 1 and "frame 10" in diffs[0], diffs
    moved = find_frame(saved, saved.videos[0], 10).instances[0].numpy()
    assert np.allclose(moved[3], before[3] + [-3.0, 4.0])
    assert len(saved.labeled_frames) == len(original.labeled_frames)


def test_window_add_delete_accept_and_tracks(make_napari_viewer, sample) -> None:
    labels = load_labels(sample, missing_videos="ignore")
    viewer = make_napari_viewer()
    points, edges = _add_layers(viewer, labels, window_min_rows=50)
    widget = LabelingWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Labeling")
    # a new instance on an unlabeled frame appears at once, and after steps
    widget.set_frame(5)
    assert _real_frames(points) == set()
    inst = widget.add_instance(60.0, 60.0)
    assert _real_frames(points) == {5} and len(edges.data) == 9
    widget.set_frame(6)
    widget.set_frame(5)
    assert len(widget.sync.instance_rows(inst)) == 10
    # delete it (select a node) and undo
    points.selected_data = {int(widget.sync.instance_rows(inst)[0])}
    widget.delete_selected()
    assert _real_frames(points) == set() and len(edges.data) == 0
    widget.undo()
    assert _real_frames(points) == {5}
    # accept a prediction on frame 25: rings become a disc instance
    widget.set_frame(25)
    widget.accept_selected()
    user = [i for i in find_frame(labels, labels.videos[0], 25).instances]
    assert any(not isinstance(i, sio.PredictedInstance) for i in user)
    pred = np.asarray(points.features["predicted"], bool)
    shown = np.asarray(points.shown)
    assert not (pred & shown).any()  # accepted predictions are hidden
    # a labeling edit reaches the Tracks layer: give the new instance a track
    widget.set_frame(5)
    points.selected_data = {int(widget.sync.instance_rows(inst)[0])}
    follower = follower_for(points)
    assert follower is not None
    widget.track_combo.setCurrentText("new_track")
    widget.assign_track()
    assert follower.pending  # once the edits pause
    settle_tracks(viewer)
    k = [t.name for t in labels.tracks].index("new_track")
    tracks = follower.layer()
    assert tracks is not None
    here = tracks.data[tracks.data[:, 0] == k]
    assert len(here) == 1 and here[0, 1] == 5
    assert np.allclose(here[0, 2:], inst.numpy().mean(axis=0)[::-1])
    widget.undo()
    settle_tracks(viewer)
    assert not (follower.layer().data[:, 0] == k).any()


@pytest.mark.slow
def test_10k_frames_proofread_windowed(make_napari_viewer, qtbot, tmp_path) -> None:
    """10,000 tracked frames (200k rows): steps, a swap, its undo and a save."""
    n, swap_at = 10_000, 6_000
    labels = tracked_predictions(n, swap_at)
    original = tracked_predictions(n, swap_at)
    viewer = make_napari_viewer()
    points, edges = _add_layers(viewer, labels, window_min_rows=50_000)
    panel = ProofreadPanel(viewer)
    viewer.window.add_dock_widget(panel, name="Proofread")
    window = window_for(points)
    assert window is not None and window.windowed
    assert len(points.data) == 2 * 10 + 2 and len(window.store) == n * 2 * 10
    assert viewer.dims.range[0].stop == n - 1  # anchors keep the slider's range
    for frame in (0, 7_777, 7_778, 123, n - 1):
        viewer.dims.set_current_step(0, frame)
        assert _real_frames(points) == {frame}
    follower = follower_for(points)
    assert follower.windowed and len(follower.data) == 2 * n
    assert len(follower.layer().data) < 2 * n  # the Tracks layer holds a window
    # a jump out of the held window refills it a moment later (points draw first)
    qtbot.waitUntil(lambda: not follower.pending, timeout=3000)
    held = follower.layer().data[:, 1]
    assert held.min() <= n - 1 - 30 and held.max() == n - 1  # around the frame
    # hidden, it isn't refilled as the slider moves; shown again, it catches up
    follower.layer().visible = False
    viewer.dims.set_current_step(0, 2_000)
    assert follower.layer().data[:, 1].min() > 2_000
    follower.layer().visible = True
    held = follower.layer().data[:, 1]
    assert held.min() <= 2_000 - 30 and held.max() >= 2_000
    # swap the tracks back from the planted frame on (100k retracked instances)
    viewer.dims.set_current_step(0, swap_at)
    panel.track_a.setCurrentText("a")
    panel.track_b.setCurrentText("b")
    panel.swap_from_here()
    assert compare_labels(original, labels)  # something changed
    tab = window.store.table
    first = tab.track[(tab.frame >= swap_at)][::2]
    assert (first == 0).all()  # animal 0 is on track a again
    here = np.asarray(points.features["track"])[layer_meta(points)["window_rows"] >= 0]
    assert here[0] == "a"
    panel.undo()
    assert compare_labels(original, labels) == []
    panel.redo()
    saved = _save_and_reload(points, tmp_path / "long.slp")
    assert len(saved.labeled_frames) == n
    diffs = compare_labels(labels, saved)
    assert diffs == []
    lf = find_frame(saved, saved.videos[0], n - 1)
    assert lf.instances[0].track.name == "a"
    assert META_KEY in points.metadata


def test_window_copy_hide_and_napari_delete(
    make_napari_viewer, qtbot, sample, tmp_path
):
    """Copy previous, show/hide, napari's own delete: all on the windowed layer."""
    original = load_labels(sample, missing_videos="ignore")
    labels = load_labels(sample, missing_videos="ignore")
    viewer = make_napari_viewer()
    points, edges = _add_layers(viewer, labels, window_min_rows=50)
    widget = LabelingWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Labeling")
    widget.set_frame(12)
    widget.copy_previous()  # frame 10's two instances
    copies = find_frame(labels, labels.videos[0], 12).instances
    assert len(copies) == 2 and _real_frames(points) == {12}
    assert len(edges.data) == 2 * 9
    # hide a node of the first copy: its row stays, hidden
    row = int(widget.sync.instance_rows(copies[0])[4])
    points.selected_data = {row}
    widget.toggle_visibility()
    assert not copies[0].points["visible"][4] and points.shown[row]  # dimmed
    assert not points.features["visible"].iloc[row]
    assert len(edges.data) < 2 * 9
    # napari's own delete of a point hides that node (one undoable step)
    viewer.layers.selection.active = points
    row = int(widget.sync.instance_rows(copies[1])[2])
    points.selected_data = {row}
    points.remove_selected()
    assert not copies[1].points["visible"][2]
    assert _real_frames(points) == {12}
    widget.undo()
    assert copies[1].points["visible"][2]
    saved = _save_and_reload(points, tmp_path / "copied.slp")
    assert compare_labels(labels, saved) == []  # the file holds the live labels
    assert len(saved.labeled_frames) == len(original.labeled_frames) + 1
    lf = find_frame(saved, saved.videos[0], 12)
    assert len(lf.instances) == 2 and not lf.instances[0].points["visible"][4]


def test_window_without_a_dock_keeps_raw_edits(make_napari_viewer, sample, tmp_path):
    """No labeling dock: drags and deletes on the window still reach the save."""
    original = load_labels(sample, missing_videos="ignore")
    labels = load_labels(sample, missing_videos="ignore")
    viewer = make_napari_viewer()
    points, _ = _add_layers(viewer, labels, window_min_rows=50)
    viewer.dims.set_current_step(0, 20)
    assert _real_frames(points) == {20}
    rows = layer_meta(points)["window_rows"]
    drag_point(points, 0, (5.0, 5.0))
    moved_store_row = int(rows[0])
    store = layer_meta(points)["store"]
    assert np.allclose(store.data[moved_store_row], points.data[0])
    points.selected_data = {3}
    points.remove_selected()
    viewer.dims.set_current_step(0, 10)  # away: the window refills from the store
    viewer.dims.set_current_step(0, 20)
    assert np.allclose(points.data[0], store.data[moved_store_row])
    saved = _save_and_reload(points, tmp_path / "raw.slp")
    diffs = compare_labels(original, saved)
    assert diffs and all("frame 20" in d for d in diffs), diffs
    inst = find_frame(saved, saved.videos[0], 20).instances[0]
    truth = find_frame(original, original.videos[0], 20).instances[0]
    assert np.allclose(inst.numpy()[0], truth.numpy()[0] + 5.0)
    assert not inst.points["visible"][3]
