"""The labeling dock in a real viewer: click, type, drag; assert the Labels and rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio
from qtpy.QtCore import QPoint, Qt

try:  # the writer's half of convert moved to its own module
    from napari_sleap.napari.layers.edits import layers_to_labels
except ImportError:
    from napari_sleap.napari.layers.convert import layers_to_labels
from napari_sleap.io.labels import compare_labels, load_labels
from napari_sleap.labeling import SetPoints, find_frame
from napari_sleap.labeling.autosave import autosave_path
from napari_sleap.napari.docks.labeling import LabelingWidget
from napari_sleap.sample import make_sample
from tests.gui.person import (
    copy_clip,
    drag_point,
    labels_of,
    open_labels,
    with_predictions,
)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A 40-frame synthetic video, labels on 0/10/20, predictions on 25 and 30."""
    paths = make_sample(tmp_path_factory.mktemp("wsample"), n_frames=40, size=160)
    return with_predictions(
        paths.train, paths.gt, paths.folder / "project.slp", [25, 30]
    )


@pytest.fixture
def project(sample, tmp_path) -> Path:
    """A fresh copy of the project for each test (edits are saved)."""
    out = tmp_path / "project.slp"
    out.write_bytes(sample.read_bytes())
    labels = sio.load_slp(str(out), open_videos=False)
    labels.videos[0].replace_filename(str(sample.parent / "sample.mp4"), open=False)
    labels.save(str(out))
    return out


def _setup(make_napari_viewer, project, **kw):
    viewer = make_napari_viewer(show=kw.pop("show", False))
    points, edges = open_labels(viewer, project)
    widget = LabelingWidget(viewer, **kw)
    viewer.window.add_dock_widget(widget, name="Labeling")
    assert widget.sync is not None and widget.sync.layer is points
    return viewer, widget, points, edges


def _canvas(viewer):
    return viewer.window._qt_viewer.canvas.native


def _key(qtbot, viewer, key, mods=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(_canvas(viewer), key, mods)


def _live(points) -> int:
    """Rows that belong to an instance (the rest are hidden spare rows)."""
    return int((np.asarray(points.features["instance"]) >= 0).sum())


def _saved_equals_live(points) -> None:
    """The writer path (layers -> Labels) agrees with the live Labels."""
    kw = {"features": points.features, "metadata": points.metadata}
    out = layers_to_labels([(points.data, kw, "points")])
    assert compare_labels(out, labels_of(points)) == []


def test_add_by_click_drag_and_undo_keys(make_napari_viewer, qtbot, project) -> None:
    viewer, widget, points, edges = _setup(make_napari_viewer, project, show=True)
    labels = labels_of(points)
    widget.set_frame(5)
    n_rows, n_edges = _live(points), len(edges.data)
    qtbot.mouseClick(widget.add_btn, Qt.MouseButton.LeftButton)
    canvas = _canvas(viewer)
    centre = QPoint(canvas.width() // 2, canvas.height() // 2)
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=centre)
    lf = find_frame(labels, labels.videos[0], 5)
    assert lf is not None and len(lf.instances) == 1
    inst = lf.instances[0]
    # placed around the click, from the mean pose of the labels
    click = np.asarray(viewer.cursor.position)[-2:][::-1]
    assert np.allclose(inst.numpy().mean(axis=0), click, atol=1.0)
    assert _live(points) == n_rows + 10 and len(edges.data) == n_edges + 9
    _saved_equals_live(points)

    row = int(widget.sync.instance_rows(inst)[3])  # neck: hub of the edges
    before = inst.numpy()[3].copy()
    drag_point(points, row, (6.0, -4.0))
    assert np.allclose(inst.numpy()[3], before + [-4.0, 6.0])
    # edges followed the dragged node
    ends = edges.data[:, 0, 1:]
    assert np.isclose(ends, points.data[row, 1:]).all(axis=1).any()
    _saved_equals_live(points)

    _key(qtbot, viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.allclose(inst.numpy()[3], before)  # one drag = one undo step
    assert np.allclose(points.data[row, 1:], before[::-1])
    _key(qtbot, viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert find_frame(labels, labels.videos[0], 5) is None
    assert _live(points) == n_rows and len(edges.data) == n_edges
    shift_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    _key(qtbot, viewer, Qt.Key.Key_Z, shift_ctrl)
    _key(qtbot, viewer, Qt.Key.Key_Z, shift_ctrl)
    assert np.allclose(inst.numpy()[3], before + [-4.0, 6.0])
    _saved_equals_live(points)


def test_copy_hide_delete_track(make_napari_viewer, qtbot, project) -> None:
    viewer, widget, points, _ = _setup(make_napari_viewer, project)
    labels = labels_of(points)
    widget.set_frame(13)
    _key(qtbot, viewer, Qt.Key.Key_C, Qt.KeyboardModifier.ShiftModifier)
    lf = find_frame(labels, labels.videos[0], 13)
    assert [i.track.name for i in lf.instances] == ["animal_a", "animal_b"]
    a, b = lf.instances
    # hide the nose of the copy with H
    row = int(widget.sync.instance_rows(a)[0])
    points.selected_data = {row}
    _key(qtbot, viewer, Qt.Key.Key_H)
    # hidden, yet still drawn (dimmed) so it can be clicked and shown again
    assert not a.points["visible"][0] and points.shown[row]
    assert not points.features["visible"].iloc[row]
    # swap tracks by assigning b to track 1 (Ctrl+1): a takes b's track
    points.selected_data = {int(widget.sync.instance_rows(b)[2])}
    _key(qtbot, viewer, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert b.track.name == "animal_a" and a.track.name == "animal_b"
    rows_b = widget.sync.instance_rows(b)
    assert set(points.features["track"].iloc[rows_b]) == {"animal_a"}
    # a brand-new track typed in the box
    widget.track_combo.setCurrentText("intruder")
    points.selected_data = {int(rows_b[0])}
    qtbot.mouseClick(
        next(
            w
            for w in widget.findChildren(type(widget.add_btn))
            if w.text() == "Assign track"
        ),
        Qt.MouseButton.LeftButton,
    )
    assert b.track.name == "intruder" and labels.tracks[-1].name == "intruder"
    # delete a with Ctrl+Backspace
    points.selected_data = {int(widget.sync.instance_rows(a)[1])}
    _key(qtbot, viewer, Qt.Key.Key_Backspace, Qt.KeyboardModifier.ControlModifier)
    assert lf.instances == [b]
    _saved_equals_live(points)
    for _ in range(5):
        widget.undo()
    assert find_frame(labels, labels.videos[0], 13) is None
    _saved_equals_live(points)


def test_predictions_hollow_accept_and_low_score(
    make_napari_viewer, qtbot, project
) -> None:
    viewer, widget, points, _ = _setup(make_napari_viewer, project)
    labels = labels_of(points)
    pred_rows = np.asarray(points.features["predicted"], bool)
    assert pred_rows.sum() == 2 * 2 * 10
    assert {str(s) for s in points.symbol[pred_rows]} == {"ring"}
    assert {str(s) for s in points.symbol[~pred_rows]} == {"disc"}
    alpha = np.asarray(points.face_color)[:, 3]
    assert alpha[pred_rows].max() < alpha[~pred_rows].min()  # dimmer
    # low-score navigation finds frame 25 (score 0.3), not 30 (0.9)
    widget.set_frame(0)
    _key(
        qtbot,
        viewer,
        Qt.Key.Key_Right,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert widget.frame == 25
    assert widget.go("low_score", 1) is None and widget.frame == 25
    preds = list(find_frame(labels, labels.videos[0], 25).instances)
    _key(qtbot, viewer, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    lf25 = find_frame(labels, labels.videos[0], 25)
    users = lf25.user_instances
    assert len(users) == 2 and len(lf25.instances) == 4  # predictions are kept
    for u, p in zip(users, preds, strict=True):
        assert np.allclose(u.numpy(), p.numpy()) and u.from_predicted is p
    rows = widget.sync.instance_rows(users[0])
    assert {str(s) for s in points.symbol[rows]} == {"disc"}
    assert not points.features["predicted"].iloc[rows].any()
    # the used predictions are no longer drawn, and their edges neither
    hidden = widget.sync.instance_rows(preds[0])
    assert not points.shown[hidden].any()
    assert points.features["visible"].iloc[hidden].all()  # their data is kept
    # labeled-frame navigation now stops at 25
    widget.set_frame(21)
    _key(qtbot, viewer, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert widget.frame == 25
    _key(qtbot, viewer, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert widget.frame == 20
    _key(qtbot, viewer, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert widget.frame == 21  # unlabeled
    widget.undo()
    assert find_frame(labels, labels.videos[0], 25).instances == preds
    assert points.shown[widget.sync.instance_rows(preds[0])].all()
    _saved_equals_live(points)


def test_suggestions_list_navigates(make_napari_viewer, qtbot, project) -> None:
    viewer, widget, points, _ = _setup(make_napari_viewer, project)
    labels = labels_of(points)
    widget.method_combo.setCurrentText("uniform")
    widget.count_spin.setValue(4)
    qtbot.mouseClick(
        next(
            w
            for w in widget.findChildren(type(widget.add_btn))
            if w.text() == "Suggest"
        ),
        Qt.MouseButton.LeftButton,
    )
    assert [s.frame_idx for s in labels.suggestions] == [5, 15, 25, 35]
    assert widget.sugg_list.count() == 4
    item = widget.sugg_list.item(2)
    rect = widget.sugg_list.visualItemRect(item)
    qtbot.mouseClick(
        widget.sugg_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center()
    )
    assert widget.frame == 25
    widget.set_frame(0)
    _key(qtbot, viewer, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert widget.frame == 5
    picks = widget.suggest("image_features", 3)  # worker thread, waited for
    assert 1 <= len(picks) <= 3 and widget.sugg_list.count() == len(picks)
    # without waiting: the list fills when the worker returns
    widget.method_combo.setCurrentText("image_features")
    widget.count_spin.setValue(2)
    assert widget.suggest(wait=False) is None
    qtbot.waitUntil(lambda: widget.suggestions.worker is None, timeout=60_000)
    assert 1 <= widget.sugg_list.count() <= 2
    widget.undo()
    widget.undo()
    assert [s.frame_idx for s in labels.suggestions] == [5, 15, 25, 35]


def test_save_reopen_and_autosave_recovery(make_napari_viewer, project) -> None:
    viewer, widget, points, _ = _setup(make_napari_viewer, project)
    labels = labels_of(points)
    inst = labels.labeled_frames[0].instances[0]
    widget.set_frame(0)
    widget.sync.push(SetPoints(labels, instance=inst, xy=inst.numpy() + 2.0))
    widget.add_instance(50.0, 60.0, frame=7)
    assert widget.autosaver.dirty
    side = widget.autosaver.maybe_save(force=True)
    assert side == autosave_path(project) and side.exists()
    edited = labels
    # "crash": a new viewer opens the project; the widget offers the autosave
    asked = []
    viewer3 = make_napari_viewer()
    open_labels(viewer3, project)
    w3 = _widget_with_confirm(viewer3, lambda t, text: asked.append(text) or True)
    assert asked and "project.autosave.slp" in asked[0]
    recovered = labels_of(w3.sync.layer)
    assert compare_labels(recovered, edited) == []
    out = w3.save()
    assert out == project and not side.exists()
    back = load_labels(project)
    assert compare_labels(back, edited) == []
    assert find_frame(back, back.videos[0], 7) is not None


def _widget_with_confirm(viewer, confirm) -> LabelingWidget:
    """A LabelingWidget whose yes/no questions are answered by ``confirm``."""

    class Answering(LabelingWidget):
        def _ask(self, title: str, text: str) -> bool:  # type: ignore[override]
            return confirm(title, text)

    widget = Answering(viewer)
    return widget


def test_help_lists_every_shortcut(make_napari_viewer, project) -> None:
    from napari_sleap.napari.docks.shortcuts import SHORTCUTS

    viewer, widget, _, _ = _setup(make_napari_viewer, project)
    widget.toggle_help()
    text = widget.help.toPlainText()
    for s in SHORTCUTS:
        if not s.action.startswith("assign_track_"):
            assert s.label in text, s.label
    assert widget.help.isVisibleTo(widget)
    doc = Path(__file__).resolve().parents[3] / "docs" / "shortcuts.md"
    from napari_sleap.napari.docks.shortcuts import markdown_table

    assert markdown_table() in doc.read_text()


def _link_index_is_exact(link) -> None:
    """The incrementally kept edge indexes equal a fresh sort of every edge."""
    got = (
        np.lexsort((link._order, link._sorted_rows)),
        link._order.copy(),
        link._sorted_rows.copy(),
        link._by_frame.copy(),
        link._sorted_frames.copy(),
    )
    link._index()
    pairs_got = sorted(zip(got[2].tolist(), got[1].tolist(), strict=True))
    pairs_new = sorted(
        zip(link._sorted_rows.tolist(), link._order.tolist(), strict=True)
    )
    assert pairs_got == pairs_new
    assert np.array_equal(got[4], link._sorted_frames)
    assert sorted(zip(got[4].tolist(), got[3].tolist(), strict=True)) == sorted(
        zip(link._sorted_frames.tolist(), link._by_frame.tolist(), strict=True)
    )


def test_edges_kept_exact_through_edits(make_napari_viewer, project) -> None:
    from napari_sleap.napari.sync.skeleton_link import link_layers

    viewer, widget, points, edges = _setup(make_napari_viewer, project)
    labels = labels_of(points)
    link = link_layers(points, edges)
    widget.add_instance(40.0, 40.0, frame=3)
    widget.add_instance(80.0, 60.0, frame=3)
    widget.set_frame(10)
    first = labels.labeled_frames[1].instances[0]
    points.selected_data = {int(widget.sync.instance_rows(first)[0])}
    widget.toggle_visibility()
    widget.delete_selected()
    widget.set_frame(25)
    widget.accept_selected()
    _link_index_is_exact(link)
    for _ in range(3):
        widget.undo()
    _link_index_is_exact(link)
    # what is drawn on frame 3 is exactly its two new instances' edges
    widget.set_frame(3)
    assert len(edges.data) == 2 * 9
    _saved_equals_live(points)


def test_napari_own_point_edits_are_kept_consistent(
    make_napari_viewer, qtbot, project
) -> None:
    """Delete key and napari's delete button hide nodes; add mode adds nothing."""
    viewer, widget, points, _ = _setup(make_napari_viewer, project)
    labels = labels_of(points)
    widget.set_frame(10)
    inst = labels.labeled_frames[1].instances[0]
    n_live = _live(points)
    # the Delete key on the layer hides the node (no row removed)
    viewer.layers.selection.active = points
    points.selected_data = {int(widget.sync.instance_rows(inst)[2])}
    _key(qtbot, viewer, Qt.Key.Key_Delete)
    assert not inst.points["visible"][2] and _live(points) == n_live
    # napari's own "delete selected points" (layer controls button)
    points.selected_data = {int(widget.sync.instance_rows(inst)[4])}
    points.remove_selected()
    assert not inst.points["visible"][4] and _live(points) == n_live
    widget.undo()
    assert inst.points["visible"][4]
    # a lone point from napari's add mode is dropped again
    points.add(np.array([[10.0, 30.0, 30.0]]))
    assert _live(points) == n_live
    assert "Add (click)" in widget.status.text()
    _saved_equals_live(points)


def test_real_clip_label_and_save(
    make_napari_viewer, qtbot, clip_train_slp, clip_mp4, tmp_path
):
    """On the real two-fly labels: copy a frame, move a node, save, reopen."""
    viewer = make_napari_viewer()
    # a copy: the dock autosaves beside the .slp it edits (never in ../shared/data)
    slp = copy_clip(clip_train_slp, clip_mp4, tmp_path)
    points, _ = open_labels(viewer, slp)
    widget = LabelingWidget(viewer)
    labels = labels_of(points)
    widget.set_frame(21)
    _key(qtbot, viewer, Qt.Key.Key_C, Qt.KeyboardModifier.ShiftModifier)
    lf = find_frame(labels, labels.videos[0], 21)
    assert {i.track.name for i in lf.instances} == {"male", "female"}
    inst = lf.instances[0]
    row = int(widget.sync.instance_rows(inst)[0])
    drag_point(points, row, (3.0, 2.0))
    assert widget.go("labeled", 1) == 40 and widget.go("unlabeled", -1) == 39
    _saved_equals_live(points)
    out = widget.save(tmp_path / "clip_edit.slp")
    back = load_labels(out, video_search_paths=[slp.parent])
    assert compare_labels(back, labels) == []
    assert len(back.labeled_frames) == 101


def test_closing_unsaved_writes_the_autosave(make_napari_viewer, project) -> None:
    viewer, widget, points, _ = _setup(make_napari_viewer, project)
    widget.add_instance(30.0, 30.0, frame=2)
    side = autosave_path(project)
    assert not side.exists()  # not due yet (30 s interval)
    viewer.layers.remove(points)  # what closing the viewer does to the layers
    assert side.exists() and widget.sync is None
    back = load_labels(side)
    assert find_frame(back, back.videos[0], 2) is not None
