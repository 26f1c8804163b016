"""A .slp whose video moved: the Missing videos panel opens, refuses a wrong video
(both sizes named), relinks the right one from a file or folder dialog typed into
like a person, shows it under the labels, and the save writes the new path.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import sleap_io as sio
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication, QLineEdit

from napari_sleap.io.labels import load_labels, save_labels
from napari_sleap.labeling import find_frame
from napari_sleap.napari.docks.relink import PANEL
from tests.gui.person import (
    PLUGIN,
    click_button,
    differences,
    drag,
    labels_layers,
    look_at,
    open_in_order,
    save_shot,
    select_mode,
    shoot,
)

FRAME = 0  # a labeled frame of clip_train.slp


@pytest.fixture
def moved(tmp_path, clip_train_slp, clip_mp4):
    """Labels saved while the clip sat in orig/, then the clip moved to disk/videos/."""
    orig = tmp_path / "orig"
    orig.mkdir()
    shutil.copy(clip_mp4, orig / "clip.mp4")
    (tmp_path / "labels").mkdir()
    slp = tmp_path / "labels" / "flies.slp"
    save_labels(load_labels(shutil.copy(clip_train_slp, orig / "train.slp")), slp)
    new = tmp_path / "disk" / "videos" / "clip.mp4"
    new.parent.mkdir(parents=True)
    (orig / "clip.mp4").rename(new)
    return slp, new


def _paste_into_dialog(qtbot, dialog, text: str) -> None:
    """Paste a path into the (non-native) file dialog's name field, press Enter.

    Pasted with Ctrl+V, as a person enters a long path. Typed key by key (events
    handled between keys) Qt's non-native dialog selects every folder along the
    way ('/', '/tmp', ...), the field keeps only 'clip.mp4' and Enter opens '/'.
    """
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    edit = dialog.findChild(QLineEdit, "fileNameEdit")
    assert edit is not None and edit.isVisible()
    QApplication.clipboard().setText(text)
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def _images(viewer) -> list:
    return [la for la in viewer.layers if type(la).__name__ == "Image"]


@pytest.mark.parametrize("dock_first", [True, False], ids=["dock-first", "slp-first"])
def test_relink_missing_video_then_label_and_save(
    make_napari_viewer, qtbot, moved, sample_small, tmp_path, dock_first
):
    slp, new_video = moved
    expected = sio.load_slp(str(slp), open_videos=False)
    viewer = make_napari_viewer(show=True)
    with pytest.warns(UserWarning, match="(?s)clip.mp4.*Missing videos panel"):
        docks = open_in_order(viewer, slp, dock_first, ("Labeling", PANEL))
    labeling, panel = docks["Labeling"], docks[PANEL]
    # Opened by the reader where the user had not (as SLEAP asks where the
    # video went), once: the one in the window is the one the user sees.
    assert viewer.window.dock_widgets[f"{PANEL} ({PLUGIN})"] is panel
    points, edges = labels_layers(viewer)
    assert _images(viewer) == []
    assert "clip.mp4" in panel.what.text() and "was not found" in panel.what.text()

    # A wrong video, typed into the panel's field: refused, both sizes named.
    qtbot.mouseClick(panel.path_edit, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(panel.path_edit, str(sample_small.video))
    qtbot.keyClick(panel.path_edit, Qt.Key.Key_Return)
    refusal = panel.status.text()
    assert refusal.startswith("Refused:"), refusal
    assert "192x192 with 60 frames" in refusal and "1024x1024" in refusal
    assert _images(viewer) == [] and len(panel.pending) == 1
    if dock_first:
        shoot(panel, "relink_refused.png")

    # The right one: from the file chooser, or by searching a folder above it.
    if dock_first:
        click_button(qtbot, panel, "Browse...")
        _paste_into_dialog(qtbot, panel.dialog, str(new_video))
    else:
        click_button(qtbot, panel, "Search folder...")
        _paste_into_dialog(qtbot, panel.dialog, str(tmp_path / "disk"))
    qtbot.waitUntil(lambda: len(_images(viewer)) == 1, timeout=10000)
    image = _images(viewer)[0]
    assert viewer.layers.index(image) == 0  # under the labels
    assert image.data.shape[:3] == (1500, 1024, 1024) and image.name == "clip.mp4"
    assert panel.pending == [] and "now points at" in panel.status.text()
    assert labeling.sync is not None and labeling.sync.layer is points

    # Still linked: dragging a node on the shown video edits the labels.
    labeling.set_frame(FRAME)
    assert np.asarray(image.data[FRAME]).std() > 5  # real frame pixels
    labels = labeling.labels
    inst = find_frame(labels, labels.videos[0], FRAME).user_instances[0]
    node = inst.skeleton.node_names.index("thorax")
    rows = labeling.sync.instance_rows(inst)
    y, x = points.data[rows[node], 1:]
    old = inst.numpy()[node].copy()
    select_mode(viewer, points)
    look_at(qtbot, viewer, y, x, zoom=4.0)
    drag(qtbot, viewer, y, x, 3.0, 5.0)
    assert np.allclose(inst.numpy()[node], old + [5.0, 3.0], atol=0.5)
    if dock_first:
        viewer.window._qt_window.resize(1500, 1000)
        qtbot.wait(100)
        look_at(qtbot, viewer, y, x, zoom=0.8)
        save_shot(viewer.screenshot(canvas_only=False, flash=False), "relink_done.png")

    click_button(qtbot, labeling, "Save")
    saved = sio.load_slp(str(slp), open_videos=False)
    assert saved.videos[0].filename == str(new_video.resolve())
    want = find_frame(expected, expected.videos[0], FRAME).user_instances[0]
    want.points["xy"][node] = inst.numpy()[node]
    assert differences(expected, saved) == []


def test_two_missing_videos_one_after_the_other(
    make_napari_viewer, qtbot, sample_small, tmp_path
):
    """Each missing video is offered in turn; each lands under its own labels."""
    labels = load_labels(sample_small.train)
    first = labels.videos[0]
    first.replace_filename(str(tmp_path / "gone" / "a.mp4"), open=False)
    second = sio.Video(filename=str(tmp_path / "gone" / "b.mp4"), open_backend=False)
    labels.videos.append(second)
    for lf in list(labels.labeled_frames)[:3]:
        copy = [sio.Instance.from_numpy(i.numpy(), skeleton=i.skeleton) for i in lf]
        labels.append(
            sio.LabeledFrame(video=second, frame_idx=lf.frame_idx, instances=copy)
        )
    slp = tmp_path / "two.slp"
    save_labels(labels, slp)
    moved = tmp_path / "moved"
    moved.mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.copy(sample_small.video, moved / name)

    viewer = make_napari_viewer(show=True)
    with pytest.warns(UserWarning, match="a.mp4"):
        docks = open_in_order(viewer, slp, False, (PANEL, "Labeling"))
    panel, labeling = docks[PANEL], docks["Labeling"]
    assert len(panel.pending) == 2 and "1 more after it" in panel.what.text()
    for name, index in (("a.mp4", 0), ("b.mp4", 1)):
        assert f"<b>{name}</b>" in panel.what.text()
        qtbot.mouseClick(panel.path_edit, Qt.MouseButton.LeftButton)
        qtbot.keyClicks(panel.path_edit, str(moved / name))
        qtbot.keyClick(panel.path_edit, Qt.Key.Key_Return)
        image = [la for la in _images(viewer) if la.name == name]
        assert (
            len(image) == 1
            and image[0].metadata["napari_sleap"]["video_index"] == index
        )
        assert image[0].visible == (index == 0)  # one video shown at a time
    assert panel.pending == []
    click_button(qtbot, labeling, "Save")
    saved = sio.load_slp(str(slp), open_videos=False)
    assert [v.filename for v in saved.videos] == [
        str((moved / n).resolve()) for n in ("a.mp4", "b.mp4")
    ]
    assert differences(labels, saved) == []  # nothing else changed
