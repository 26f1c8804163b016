"""Hand labeling on the real clip, as a person does it: docks from the Plugins menu
(before and after the .slp), clicks, drags and keys on the canvas, no error shown,
and the saved file holding exactly the edits made.
"""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLineEdit

from napari_sleap.io.labels import load_labels
from napari_sleap.labeling import find_frame
from tests.gui.person import (
    CTRL,
    SHIFT,
    add_expected,
    canvas,
    click,
    copy_clip,
    differences,
    drag,
    edge_touches,
    edges_on,
    key,
    labels_layers,
    look_at,
    open_in_order,
    select_mode,
    to_screen,
)

FRAME = 3  # an unlabeled frame of clip_train.slp (frames 0, 20, 40, ... are)


@pytest.fixture
def slp(clip_train_slp, clip_mp4, tmp_path):
    """The clip's labels and video copied to tmp_path (edits and autosaves go there)."""
    return copy_clip(clip_train_slp, clip_mp4, tmp_path)


def _open(viewer, slp, dock_first: bool, docks=("Labeling",)):
    """Open the docks and the .slp in the order a user might."""
    widgets = open_in_order(viewer, slp, dock_first, docks)
    return widgets, *labels_layers(viewer)


def drawn_edges(inst) -> int:
    """Edges an instance should show: both ends placed and visible."""
    ok = np.isfinite(inst.numpy()).all(axis=1) & np.asarray(inst.points["visible"])
    return sum(bool(ok[a] and ok[b]) for a, b in inst.skeleton.edge_inds)


def _saved(widget, tmp_path, name="edited.slp") -> sio.Labels:
    out = widget.save(tmp_path / name)
    return load_labels(out, video_search_paths=[tmp_path])


@pytest.mark.parametrize("dock_first", [True, False], ids=["dock-first", "slp-first"])
def test_add_by_click_then_drag_its_node(
    make_napari_viewer,
    qtbot,
    slp,
    tmp_path,
    dock_first,
):
    """Add (click) draws the new instance's edges at once; dragging its node works."""
    before = load_labels(slp, video_search_paths=[tmp_path])
    viewer = make_napari_viewer(show=True)
    widgets, points, edges = _open(viewer, slp, dock_first)
    widget = widgets["Labeling"]
    assert widget.sync is not None and widget.sync.layer is points
    widget.set_frame(FRAME)
    assert edges_on(edges, FRAME) == 0
    select_mode(viewer, points)  # a user who just dragged nodes elsewhere

    # Add (click), then click on the animal
    qtbot.mouseClick(widget.add_btn, Qt.MouseButton.LeftButton)
    look_at(qtbot, viewer, 500.0, 500.0, zoom=1.0)
    click(qtbot, viewer, 500.0, 500.0)
    labels = widget.labels
    lf = find_frame(labels, labels.videos[0], FRAME)
    assert lf is not None and len(lf.user_instances) == 1
    inst = lf.user_instances[0]
    n_edges = drawn_edges(inst)
    assert np.isfinite(inst.numpy()).all()  # a node the source lacked is filled
    assert n_edges == 12 and edges_on(edges, FRAME) == n_edges  # drawn at once
    assert not widget.add_btn.isChecked()

    # drag the thorax of the new instance with the mouse
    rows = widget.sync.instance_rows(inst)
    node = inst.skeleton.node_names.index("thorax")
    y, x = points.data[rows[node], 1:]
    old = inst.numpy()[node].copy()
    look_at(qtbot, viewer, y, x, zoom=4.0)
    drag(qtbot, viewer, y, x, 3.0, 5.0)
    assert np.allclose(inst.numpy()[node], old + [5.0, 3.0], atol=0.5)
    assert edge_touches(edges, *points.data[rows[node], 1:]) >= 1  # edges followed
    assert edges_on(edges, FRAME) == n_edges

    # step away and back: still there, edges too
    key(qtbot, viewer, Qt.Key.Key_Right)
    assert widget.frame == FRAME + 1 and edges_on(edges, FRAME) == 0
    key(qtbot, viewer, Qt.Key.Key_Left)
    assert widget.frame == FRAME and edges_on(edges, FRAME) == n_edges

    add_expected(before, FRAME, inst.numpy())
    assert differences(before, _saved(widget, tmp_path)) == []


@pytest.mark.parametrize("dock_first", [True, False], ids=["dock-first", "slp-first"])
def test_add_by_key_copy_previous_and_undo_keys(
    make_napari_viewer,
    qtbot,
    slp,
    tmp_path,
    dock_first,
):
    """Ctrl+I and Shift+C draw edges at once; Ctrl+Z / Ctrl+Shift+Z walk them back."""
    before = load_labels(slp, video_search_paths=[tmp_path])
    viewer = make_napari_viewer(show=True)
    widgets, points, edges = _open(viewer, slp, dock_first)
    widget = widgets["Labeling"]
    labels = widget.labels
    widget.set_frame(FRAME)
    look_at(qtbot, viewer, 500.0, 500.0, zoom=1.0)
    # Ctrl+I with the mouse over the animal
    qtbot.mouseMove(canvas(viewer), to_screen(viewer, 400, 600))
    key(qtbot, viewer, Qt.Key.Key_I, CTRL)
    lf = find_frame(labels, labels.videos[0], FRAME)
    assert len(lf.user_instances) == 1
    n_edges = drawn_edges(lf.user_instances[0])
    assert n_edges == 12 and edges_on(edges, FRAME) == n_edges
    # Shift+C on the next frame copies frame 3's instance
    widget.set_frame(FRAME + 1)
    key(qtbot, viewer, Qt.Key.Key_C, SHIFT)
    lf4 = find_frame(labels, labels.videos[0], FRAME + 1)
    assert len(lf4.user_instances) == 1
    assert edges_on(edges, FRAME + 1) == n_edges
    # undo both, redo one, from the keyboard
    key(qtbot, viewer, Qt.Key.Key_Z, CTRL)
    assert find_frame(labels, labels.videos[0], FRAME + 1) is None
    assert edges_on(edges, FRAME + 1) == 0
    key(qtbot, viewer, Qt.Key.Key_Z, CTRL | SHIFT)
    assert edges_on(edges, FRAME + 1) == n_edges
    add_expected(before, FRAME, lf.user_instances[0].numpy())
    add_expected(before, FRAME + 1, lf.user_instances[0].numpy())
    assert differences(before, _saved(widget, tmp_path)) == []


def _node_row(widget, inst, name: str) -> int:
    return int(widget.sync.instance_rows(inst)[inst.skeleton.node_names.index(name)])


@pytest.mark.parametrize("dock_first", [True, False], ids=["dock-first", "slp-first"])
def test_hidden_node_stays_on_screen_and_shows_again(
    make_napari_viewer, qtbot, slp, tmp_path, dock_first
):
    """H dims a node (still drawn, still clickable); H on it again shows it."""
    from napari_sleap.napari.layers.styles import DEFAULT_STYLE

    expected = load_labels(slp, video_search_paths=[tmp_path])
    viewer = make_napari_viewer(show=True)
    widgets, points, edges = _open(viewer, slp, dock_first)
    widget = widgets["Labeling"]
    widget.set_frame(0)
    select_mode(viewer, points)
    inst = find_frame(widget.labels, widget.labels.videos[0], 0).user_instances[0]
    n_edges = edges_on(edges, 0)
    head = inst.skeleton.node_names.index("head")
    degree = sum(head in e for e in inst.skeleton.edge_inds)

    row = _node_row(widget, inst, "head")
    y, x = points.data[row, 1:]
    look_at(qtbot, viewer, y, x, zoom=4.0)
    click(qtbot, viewer, y, x)
    assert points.selected_data == {row}
    key(qtbot, viewer, Qt.Key.Key_H)
    assert not inst.points["visible"][head]
    row = _node_row(widget, inst, "head")
    assert points.shown[row]  # still drawn ...
    alpha = np.asarray(points.face_color)[row, 3]
    assert np.isclose(alpha, DEFAULT_STYLE.points.hidden_alpha)  # ... dimmed
    assert edges_on(edges, 0) == n_edges - degree
    assert edge_touches(edges, y, x) == 0
    viewer.screenshot(str(_images() / "labeling_hidden_node.png"), canvas_only=True)

    # still clickable: select it with the mouse and show it again with H
    click(qtbot, viewer, 0.0 + y + 30, x)  # click elsewhere first (deselect)
    click(qtbot, viewer, y, x)
    assert points.selected_data == {row}
    key(qtbot, viewer, Qt.Key.Key_H)
    assert inst.points["visible"][head]
    assert edges_on(edges, 0) == n_edges and edge_touches(edges, y, x) == degree

    # hide another node and keep it hidden: the file says so
    row = _node_row(widget, inst, "wingL")
    y, x = points.data[row, 1:]
    click(qtbot, viewer, y, x)
    key(qtbot, viewer, Qt.Key.Key_H)
    wing = inst.skeleton.node_names.index("wingL")
    want = find_frame(expected, expected.videos[0], 0).user_instances[0]
    want.points["visible"][wing] = False
    saved = _saved(widget, tmp_path)
    assert differences(expected, saved) == []
    back = find_frame(saved, saved.videos[0], 0).user_instances[0]
    assert not back.points["visible"][wing]
    assert np.allclose(back.points["xy"][wing], inst.points["xy"][wing])


def _images():
    from pathlib import Path

    out = Path(__file__).resolve().parents[3] / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    return out


def _button(widget, text: str):
    from qtpy.QtWidgets import QPushButton

    found = [b for b in widget.findChildren(QPushButton) if b.text() == text]
    assert found, f"no button {text!r}"
    return found


@pytest.mark.parametrize("dock_first", [True, False], ids=["docks-first", "slp-first"])
def test_one_undo_history_across_docks_and_range_swap(
    make_napari_viewer, qtbot, slp, tmp_path, dock_first
):
    """A frame-range swap in Proofread is one step, confirmed; Ctrl+Z undoes it."""
    from napari.utils.notifications import notification_manager

    expected = load_labels(slp, video_search_paths=[tmp_path])
    viewer = make_napari_viewer(show=True)
    widgets, points, edges = _open(
        viewer, slp, dock_first, docks=("Labeling", "Proofread")
    )
    lab, proof = widgets["Labeling"], widgets["Proofread"]
    infos: list[str] = []
    notification_manager.notification_ready.connect(lambda n: infos.append(n.message))
    labels = lab.labels
    proof.track_a.setCurrentText("male")
    proof.track_b.setCurrentText("female")
    here_from, here_to = _button(proof, "here")
    lab.set_frame(20)
    qtbot.mouseClick(here_from, Qt.MouseButton.LeftButton)
    lab.set_frame(60)
    qtbot.mouseClick(here_to, Qt.MouseButton.LeftButton)
    (swap,) = _button(proof, "Swap frames")

    def tracks_at(frame):
        lf = find_frame(labels, labels.videos[0], frame)
        return [i.track.name for i in lf.instances]

    before = {f: tracks_at(f) for f in (0, 20, 40, 60, 80)}
    qtbot.mouseClick(swap, Qt.MouseButton.LeftButton)
    flip = {"male": "female", "female": "male"}
    for f, names in before.items():
        want = [flip[n] for n in names] if 20 <= f <= 60 else names
        assert tracks_at(f) == want, f
    n_swapped = sum(len(before[f]) for f in range(20, 61, 20))
    said = f"Swapped male and female in frames 20-60: {n_swapped} instances"
    assert said in proof.status.text() and said in viewer.status
    assert any(said in m for m in infos)
    if dock_first:
        inner = getattr(proof, "scroll_area", None)
        inner = inner.widget() if inner is not None else proof
        inner.grab().save(str(_images() / "proofread_range_swap.png"))
    # a labeling edit after it: drag a node on frame 0
    lab.set_frame(0)
    select_mode(viewer, points)
    inst = find_frame(labels, labels.videos[0], 0).user_instances[0]
    row = _node_row(lab, inst, "thorax")
    y, x = points.data[row, 1:]
    old = inst.numpy().copy()
    look_at(qtbot, viewer, y, x, zoom=4.0)
    drag(qtbot, viewer, y, x, 2.0, -3.0)
    assert not np.allclose(inst.numpy(), old, equal_nan=True)
    # Ctrl+Z twice on the canvas: the drag, then the swap
    key(qtbot, viewer, Qt.Key.Key_Z, CTRL)
    assert np.allclose(inst.numpy(), old, equal_nan=True)
    key(qtbot, viewer, Qt.Key.Key_Z, CTRL)
    assert all(tracks_at(f) == names for f, names in before.items())
    assert "Undid swap male and female" in viewer.status
    # Ctrl+Shift+Z: the swap again; the edge colors follow the tracks
    key(qtbot, viewer, Qt.Key.Key_Z, CTRL | SHIFT)
    assert tracks_at(20) == [flip[n] for n in before[20]]
    lab.set_frame(20)
    assert edges_on(edges, 20) > 0
    for f in range(20, 61, 20):
        for i in find_frame(expected, expected.videos[0], f).instances:
            i.track = next(t for t in expected.tracks if t.name == flip[i.track.name])
    assert differences(expected, _saved(lab, tmp_path)) == []


def _menu_click(qtbot, menu, text: str):
    """Choose the item of an open menu whose text starts with ``text``, by keys.

    Arrow keys and Enter, as a person may: under Xvfb (no window manager) a popup
    opened where the previous one closed sometimes misses synthetic hovers and
    clicks, which made a pointer-driven version of this flaky. The right click that
    opens the menu stays a real mouse event on the canvas.
    """
    qtbot.waitUntil(menu.isVisible, timeout=2000)
    qtbot.wait(50)  # the popup settles where it opens
    items = [a for a in menu.actions() if not a.isSeparator() and a.isEnabled()]
    action = next((a for a in items if a.text().startswith(text)), None)
    assert action is not None, [a.text() for a in menu.actions()]
    # A submenu opened by keys starts on its first item; a popup on none.
    at = items.index(menu.activeAction()) if menu.activeAction() in items else -1
    for _ in range(items.index(action) - at):
        qtbot.keyClick(menu, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: menu.activeAction() is action, timeout=2000)
    if action.menu() is not None:  # a submenu opens with the right arrow
        qtbot.keyClick(menu, Qt.Key.Key_Right)
        qtbot.waitUntil(action.menu().isVisible, timeout=2000)
        return action.menu()
    with qtbot.waitSignal(action.triggered, timeout=2000):
        qtbot.keyClick(menu, Qt.Key.Key_Return)
    qtbot.wait(30)
    return None


def _right_click(qtbot, viewer, widget, points, inst, node: str):
    row = _node_row(widget, inst, node)
    y, x = points.data[row, 1:]
    click(qtbot, viewer, y, x, button=Qt.MouseButton.RightButton)
    menu = widget.instance_menu.menu
    assert menu is not None
    qtbot.waitUntil(menu.isVisible, timeout=2000)
    return menu


@pytest.mark.parametrize("dock_first", [True, False], ids=["dock-first", "slp-first"])
def test_right_click_menu_on_an_instance(
    make_napari_viewer, qtbot, slp, tmp_path, dock_first
):
    """Right click: hide/show a node, new track, swap with the other, delete."""
    expected = load_labels(slp, video_search_paths=[tmp_path])
    viewer = make_napari_viewer(show=True)
    widgets, points, edges = _open(viewer, slp, dock_first)
    widget = widgets["Labeling"]
    labels = widget.labels
    widget.set_frame(0)
    lf = find_frame(labels, labels.videos[0], 0)
    m, f = lf.instances
    assert (m.track.name, f.track.name) == ("male", "female")
    thorax = m.skeleton.node_names.index("thorax")
    y, x = points.data[_node_row(widget, m, "thorax"), 1:]
    look_at(qtbot, viewer, y, x, zoom=3.0)
    n_edges = edges_on(edges, 0)

    menu = _right_click(qtbot, viewer, widget, points, m, "thorax")
    texts = [a.text() for a in menu.actions()]
    assert texts[:2] == ["Hide node 'thorax'", "Delete instance"]
    assert "Swap track with female (this frame)" in texts
    if dock_first:
        _menu_picture(viewer, menu, _images() / "labeling_context_menu.png")
    _menu_click(qtbot, menu, "Hide node")
    assert not m.points["visible"][thorax]
    assert edges_on(edges, 0) < n_edges
    menu = _right_click(qtbot, viewer, widget, points, m, "thorax")  # still there
    _menu_click(qtbot, menu, "Show node 'thorax'")
    assert m.points["visible"][thorax] and edges_on(edges, 0) == n_edges

    menu = _right_click(qtbot, viewer, widget, points, m, "thorax")
    sub = _menu_click(qtbot, menu, "Set track")
    names = [t.name for t in labels.tracks]
    assert [a.text() for a in sub.actions()] == [
        *names,
        "No track",
        "New track...",
    ]
    assert sub.actions()[names.index("male")].isChecked()
    _menu_click(qtbot, sub, "New track")
    box = widget.instance_menu.rename_box  # named first; Enter keeps the offer
    qtbot.waitUntil(box.isVisible, timeout=2000)
    assert box.textValue() == "track_3"
    qtbot.keyClick(box.findChild(QLineEdit), Qt.Key.Key_Return)
    assert m.track.name == "track_3" and f.track.name == "female"

    menu = _right_click(qtbot, viewer, widget, points, m, "thorax")
    _menu_click(qtbot, menu, "Swap track with female")
    assert m.track.name == "female" and f.track.name == "track_3"
    rows = widget.sync.instance_rows(m)
    assert set(points.features["track"].iloc[rows]) == {"female"}

    menu = _right_click(qtbot, viewer, widget, points, f, "thorax")
    _menu_click(qtbot, menu, "Delete instance")
    assert list(lf.instances) == [m] and edges_on(edges, 0) == drawn_edges(m)
    key(qtbot, viewer, Qt.Key.Key_Z, CTRL)
    assert list(lf.instances) == [m, f] and edges_on(edges, 0) == n_edges

    new = sio.Track("track_3")
    expected.tracks.append(new)
    em, ef = find_frame(expected, expected.videos[0], 0).instances
    em.track, ef.track = ef.track, new
    assert differences(expected, _saved(widget, tmp_path)) == []


def _menu_picture(viewer, menu, path) -> None:
    """The canvas with the open menu drawn where it pops up (a screen grab
    misses the OpenGL canvas under Xvfb)."""
    from qtpy.QtGui import QImage, QPainter

    img = np.ascontiguousarray(viewer.screenshot(canvas_only=True, flash=False))
    h, w = img.shape[:2]
    qimg = QImage(img.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
    native = canvas(viewer)
    scale = w / max(native.width(), 1)
    at = native.mapFromGlobal(menu.pos())
    painter = QPainter(qimg)
    painter.scale(scale, scale)
    painter.drawPixmap(at, menu.grab())
    painter.end()
    qimg.save(str(path))


@pytest.fixture(scope="module")
def predicted_sample(tmp_path_factory):
    """The synthetic two-animal sample: labels on 0/10/20, predictions on 25, 30."""
    from napari_sleap.sample import make_sample
    from tests.gui.person import with_predictions

    paths = make_sample(tmp_path_factory.mktemp("hand"), n_frames=40, size=160)
    out = with_predictions(paths.train, paths.gt, paths.folder / "p.slp", [25, 30])
    labels = sio.load_slp(str(out), open_videos=False)
    labels.videos[0].replace_filename(str(paths.folder / "sample.mp4"), open=False)
    labels.save(str(out))
    return out


@pytest.mark.parametrize("dock_first", [True, False], ids=["dock-first", "slp-first"])
def test_accept_track_and_delete_by_hand(
    make_napari_viewer, qtbot, predicted_sample, tmp_path, dock_first
):
    """Add (click) on a predicted frame accepts the prediction under the click;
    Ctrl+Enter accepts the rest; Ctrl+1 sets a track; Ctrl+Backspace deletes."""
    import shutil

    slp = tmp_path / "p.slp"
    shutil.copy(predicted_sample, slp)
    expected = load_labels(slp, missing_videos="ignore")
    viewer = make_napari_viewer(show=True)
    widgets, points, edges = _open(viewer, slp, dock_first)
    widget = widgets["Labeling"]
    labels = widget.labels
    widget.set_frame(25)
    lf = find_frame(labels, labels.videos[0], 25)
    p0, p1 = lf.predicted_instances
    assert edges_on(edges, 25) == 2 * len(p0.skeleton.edges)
    cy, cx = np.nanmean(p1.numpy(), axis=0)[::-1]
    look_at(qtbot, viewer, 80.0, 80.0, zoom=2.0)
    qtbot.mouseClick(widget.add_btn, Qt.MouseButton.LeftButton)
    click(qtbot, viewer, cy, cx)
    (u1,) = lf.user_instances
    assert u1.from_predicted is p1 and np.allclose(u1.numpy(), p1.numpy())
    assert "accepted the prediction" in widget.status.text()
    assert not points.shown[widget.sync.instance_rows(p1)].any()  # replaced
    assert edges_on(edges, 25) == 2 * len(p0.skeleton.edges)  # u1's, p0's
    key(qtbot, viewer, Qt.Key.Key_Return, CTRL)  # the other one
    assert len(lf.user_instances) == 2
    u0 = next(u for u in lf.user_instances if u.from_predicted is p0)
    # Ctrl+1 on a node of u0 (selected with the mouse): track 1
    select_mode(viewer, points)
    row = _node_row(widget, u0, "neck")
    click(qtbot, viewer, *points.data[row, 1:])
    key(qtbot, viewer, Qt.Key.Key_1, CTRL)
    assert u0.track is labels.tracks[0]
    # Ctrl+Backspace on a node of u1 (the one farthest from u0): deleted
    gap = np.linalg.norm(u1.numpy()[:, None] - u0.numpy()[None], axis=2).min(axis=1)
    row = int(widget.sync.instance_rows(u1)[int(np.argmax(gap))])
    click(qtbot, viewer, *points.data[row, 1:])
    key(qtbot, viewer, Qt.Key.Key_Backspace, CTRL)
    assert lf.user_instances == [u0]
    # its prediction is no longer used: drawn again (u0's edges and p1's)
    assert points.shown[widget.sync.instance_rows(p1)].all()
    assert edges_on(edges, 25) == 2 * len(p0.skeleton.edges)

    e25 = find_frame(expected, expected.videos[0], 25)
    e0 = next(i for i in e25.instances if np.allclose(i.numpy(), p0.numpy()))
    want = sio.Instance.from_numpy(
        p0.numpy(), skeleton=expected.skeletons[0], track=expected.tracks[0]
    )
    want.from_predicted = e0
    e25.instances.insert(e25.instances.index(e0), want)
    out = widget.save(tmp_path / "edited.slp")
    assert differences(expected, load_labels(out, missing_videos="ignore")) == []


def test_mean_pose_turned_to_the_fly(
    make_napari_viewer, qtbot, slp, clip_all_slp, tmp_path
):
    """No earlier labeled frame: the mean pose lands on the fly, along its body."""
    from napari_sleap.labeling.placement import axis_angle

    labels = sio.load_slp(str(slp), open_videos=False)
    labels.labeled_frames = [lf for lf in labels.labeled_frames if lf.frame_idx >= 20]
    labels.save(str(slp))
    truth = sio.load_slp(str(clip_all_slp), open_videos=False)
    viewer = make_napari_viewer(show=True)
    widgets, points, edges = _open(viewer, slp, True)
    widget = widgets["Labeling"]
    widget.set_frame(5)
    gt = find_frame(truth, truth.videos[0], 5).instances[0].numpy()
    cx, cy = np.nanmean(gt, axis=0)
    look_at(qtbot, viewer, cy, cx, zoom=2.0)
    qtbot.mouseClick(widget.add_btn, Qt.MouseButton.LeftButton)
    click(qtbot, viewer, cy, cx)
    (inst,) = find_frame(widget.labels, widget.labels.videos[0], 5).instances
    assert "mean pose, turned" in widget.status.text()
    got, _ = axis_angle(inst.numpy())
    want, _ = axis_angle(gt)
    off = np.degrees((got - want + np.pi / 2) % np.pi - np.pi / 2)
    assert abs(off) < 20, off
    assert edges_on(edges, 5) > 0
    shot = _images() / "labeling_mean_pose_turned.png"
    viewer.screenshot(str(shot), canvas_only=True)
