"""Start labeling a bare video in the Labeling dock, as a person would.

Open a video (File > Open through the plugin), pick a skeleton in the Labeling
dock, press Start, click Add and then the animal, save with File > Save Layers and
with the dock's Save; both files open in sleap-io with the skeleton and video.
Both orders (dock first, video first) and every skeleton source are covered; any
napari error notification fails the test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio
from qtpy.QtCore import Qt

from napari_sleap.labeling.skeleton_io import save_skeleton
from napari_sleap.labeling.templates import make_template
from napari_sleap.napari.docks.labeling import LabelingWidget
from napari_sleap.napari.docks.skeleton import SkeletonWidget
from napari_sleap.napari.docks.skeleton_picker import NEW
from napari_sleap.sample import make_sample
from tests.gui.person import (
    PLUGIN,
    WORKBENCH,
    button,
    click,
    click_button,
    look_at,
    open_dock,
    save_shot,
)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return make_sample(tmp_path_factory.mktemp("start"), n_frames=30, size=192)


@pytest.fixture
def video(sample, tmp_path) -> Path:
    """A copy of the sample video alone in a folder (Save writes beside it)."""
    out = tmp_path / "bare.mp4"
    shutil.copy(sample.video, out)
    return out


def pick(qtbot, combo, key: str) -> None:
    """Choose the item ``key`` of a combo box with the keyboard (Home, Down...)."""
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Home)
    for _ in range(combo.count()):
        if combo.currentData() == key:
            return
        qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert combo.currentData() == key, f"{key!r} not in the combo box"


@pytest.mark.parametrize("order", ["dock_first", "video_first"])
def test_template_add_click_and_save(
    make_napari_viewer, qtbot, video, tmp_path, order
) -> None:
    viewer = make_napari_viewer(show=True)
    if order == "dock_first":
        dock = open_dock(viewer, "Labeling")
        assert not dock.picker.isVisibleTo(dock)  # nothing to label yet
        viewer.open(str(video), plugin=PLUGIN)
    else:
        viewer.open(str(video), plugin=PLUGIN)
        dock = open_dock(viewer, "Labeling")
    assert isinstance(dock, LabelingWidget)
    assert dock.picker.isVisibleTo(dock)

    # Add before a skeleton: a clear message, the button does not stay pressed
    click_button(qtbot, dock, "Add (click)")
    assert not dock.add_btn.isChecked()
    assert "skeleton" in dock.status.text()

    pick(qtbot, dock.picker.combo, "fly")
    if order == "video_first":
        viewer.window._qt_window.resize(1400, 900)
        qtbot.wait(100)
        shot = viewer.screenshot(canvas_only=False, flash=False)
        save_shot(shot, "labeling_from_video.png")
    click_button(qtbot, dock.picker, "Start")
    assert dock.sync is not None
    assert not dock.picker.isVisibleTo(dock)
    qtbot.wait(50)

    viewer.dims.set_current_step(0, 7)
    look_at(qtbot, viewer, 96.0, 96.0, zoom=2.0)
    click_button(qtbot, dock, "Add (click)")
    assert dock.add_btn.isChecked()
    click(qtbot, viewer, 90.0, 100.0)
    assert not dock.add_btn.isChecked()
    labels = dock.labels
    (lf,) = labels.labeled_frames
    assert lf.frame_idx == 7 and len(lf.instances) == 1
    xy = lf.instances[0].numpy()
    assert np.allclose(np.nanmean(xy, axis=0), (100.0, 90.0), atol=2.0)
    if order == "video_first":
        shot = viewer.screenshot(canvas_only=False, flash=False)
        save_shot(shot, "labeling_from_video_added.png")

    # File > Save All Layers... with the plugin's writer
    out = tmp_path / "saved_layers.slp"
    viewer.layers.save(str(out), plugin=PLUGIN)
    # and the dock's Save: beside the video, named after it
    click_button(qtbot, dock, "Save")
    beside = video.with_suffix(".slp")
    for path in (out, beside):
        back = sio.load_slp(str(path), open_videos=False)
        skel = back.skeletons[0]
        assert skel.node_names == make_template("fly").node_names
        assert len(skel.symmetries) == 5 and len(skel.edges) == 12
        assert Path(back.videos[0].filename).resolve() == video.resolve()
        assert [f.frame_idx for f in back.labeled_frames] == [7]
        assert np.allclose(back.labeled_frames[0].instances[0].numpy(), xy)
    opened = sio.load_slp(str(beside))  # the video opens from the saved path
    assert opened.videos[0].shape[:3] == (30, 192, 192)


def test_every_skeleton_source(
    make_napari_viewer, qtbot, sample, video, tmp_path
) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.open(str(video), plugin=PLUGIN)
    dock = open_dock(viewer, "Labeling")
    picker = dock.picker

    def start_with(key: str, file: Path | None = None) -> sio.Labels:
        picker.ask_file = lambda title, pattern: str(file) if file else ""
        pick(qtbot, picker.combo, key)
        click_button(qtbot, picker, "Start")
        assert dock.sync is not None, picker.message.text()
        labels = dock.labels
        for layer in [la for la in viewer.layers if type(la).__name__ != "Image"]:
            viewer.layers.remove(layer)
        assert dock.sync is None and picker.isVisibleTo(dock)
        return labels

    # from a .slp: the sample's 10-node skeleton
    labels = start_with("from_slp", sample.train)
    want = sio.load_slp(str(sample.train), open_videos=False).skeletons[0]
    assert labels.skeletons[0].node_names == want.node_names
    # from a skeleton JSON
    mouse = make_template("mouse")
    path = save_skeleton(mouse, tmp_path / "mouse.json")
    labels = start_with("from_json", path)
    assert labels.skeletons[0].node_names == mouse.node_names
    assert len(labels.skeletons[0].symmetries) == 3
    # a cancelled file dialog starts nothing
    picker.ask_file = lambda title, pattern: ""
    pick(qtbot, picker.combo, "from_json")
    click_button(qtbot, picker, "Start")
    assert dock.sync is None and "No skeleton" in picker.message.text()
    # a broken file: the message names it, no error popup
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    picker.ask_file = lambda title, pattern: str(bad)
    click_button(qtbot, picker, "Start")
    assert dock.sync is None and "bad.json" in picker.message.text()
    # the last used skeleton is offered first
    assert picker.choices()[0] == "last"
    labels = start_with("last")
    assert labels.skeletons[0].node_names == mouse.node_names
    # bee template
    labels = start_with("bee")
    assert "antennaL" in labels.skeletons[0].node_names

    # new: the Skeleton editor opens; its New labels starts the labels
    pick(qtbot, picker.combo, NEW)
    click_button(qtbot, picker, "Start")
    editors = [
        w
        for w in viewer.window._dock_widgets.values()
        if isinstance(getattr(w.widget(), "inner", w.widget()), SkeletonWidget)
    ]
    assert len(editors) == 1
    assert "Skeleton dock" in picker.message.text()


def test_skeleton_dock_remembers(make_napari_viewer, qtbot, video) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.open(str(video), plugin=PLUGIN)
    editor = open_dock(viewer, "Skeleton")
    for name in ("head", "thorax", "tail"):
        editor.name_edit.setFocus()
        qtbot.keyClicks(editor.name_edit, name)
        qtbot.keyClick(editor.name_edit, Qt.Key.Key_Return)
    assert editor.node_list.count() == 3
    # close the dock and open it again: the draft is still there
    viewer.window.remove_dock_widget("all")
    editor = open_dock(viewer, "Skeleton")
    assert editor.node_list.count() == 3
    click_button(qtbot, editor, "New labels")
    dock = open_dock(viewer, "Labeling")
    assert dock.sync is not None
    assert dock.labels.skeletons[0].node_names == ["head", "thorax", "tail"]
    # closing the labels keeps the skeleton in the dock and in the picker
    for layer in [la for la in viewer.layers if type(la).__name__ != "Image"]:
        viewer.layers.remove(layer)
    assert editor.node_list.count() == 3
    assert dock.picker.choices()[0] == "last"
    assert "3 nodes" in dock.picker.combo.itemText(0)
    assert button(editor, "New labels").isEnabled()


def test_workbench_from_a_bare_video(
    make_napari_viewer, qtbot, video, tmp_path
) -> None:
    """In the workbench: new skeleton in the Skeleton tab, then label and save."""
    viewer = make_napari_viewer(show=True)
    bench = open_dock(viewer, WORKBENCH)
    viewer.open(str(video), plugin=PLUGIN)
    labeling = bench.docks["Labeling"]
    assert labeling.picker.isVisibleTo(labeling)
    pick(qtbot, labeling.picker.combo, NEW)
    click_button(qtbot, labeling.picker, "Start")
    assert bench.tabs.currentWidget() is bench.docks["Skeleton"]
    editor = bench.docks["Skeleton"]
    for name in ("nose", "tail"):
        editor.name_edit.setFocus()
        qtbot.keyClicks(editor.name_edit, name)
        qtbot.keyClick(editor.name_edit, Qt.Key.Key_Return)
    click_button(qtbot, editor, "Add edge")  # nose - tail (the combo boxes' first pair)
    click_button(qtbot, editor, "New labels")
    assert labeling.sync is not None
    bar = bench.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(0).center())
    viewer.dims.set_current_step(0, 4)
    look_at(qtbot, viewer, 96.0, 96.0, zoom=2.0)
    click_button(qtbot, labeling, "Add (click)")
    click(qtbot, viewer, 60.0, 80.0)
    # the Frames tab lists it once opened (a hidden table waits to be shown)
    frames_tab = [bench.tabs.tabText(i) for i in range(bench.tabs.count())].index(
        "Frames"
    )
    bench.tabs.setCurrentIndex(frames_tab)
    qtbot.waitUntil(lambda: bench.frame_table.frames() == [4], timeout=2000)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(0).center())
    qtbot.waitUntil(lambda: list(bench.seekbar.sets.labeled) == [4], timeout=2000)
    click_button(qtbot, labeling, "Save")
    back = sio.load_slp(str(video.with_suffix(".slp")), open_videos=False)
    assert back.skeletons[0].node_names == ["nose", "tail"]
    assert [f.frame_idx for f in back.labeled_frames] == [4]


def test_start_on_an_image_folder(make_napari_viewer, qtbot, sample, tmp_path) -> None:
    """A folder of frames (microscopy style) labels and saves like a video."""
    from imageio.v3 import imread, imwrite

    from napari_sleap.io.video import open_video

    folder = tmp_path / "frames"
    folder.mkdir()
    frames = open_video(sample.video).read_frames(range(6))
    for i, frame in enumerate(frames):
        imwrite(folder / f"img_{i:03d}.png", frame[..., 0])
    viewer = make_napari_viewer(show=True)
    viewer.open(str(folder), plugin=PLUGIN)
    dock = open_dock(viewer, "Labeling")
    pick(qtbot, dock.picker.combo, "mouse")
    click_button(qtbot, dock.picker, "Start")
    assert dock.sync is not None
    viewer.dims.set_current_step(0, 2)
    look_at(qtbot, viewer, 96.0, 96.0, zoom=2.0)
    click_button(qtbot, dock, "Add (click)")
    click(qtbot, viewer, 100.0, 90.0)
    out = tmp_path / "frames.slp"
    viewer.layers.save(str(out), plugin=PLUGIN)
    back = sio.load_slp(str(out))
    video = back.videos[0]
    assert [Path(f).name for f in video.filename] == [
        f"img_{i:03d}.png" for i in range(6)
    ]
    assert back.skeletons[0].node_names == make_template("mouse").node_names
    assert [f.frame_idx for f in back.labeled_frames] == [2]
    assert np.array_equal(video[2][..., 0], imread(folder / "img_002.png"))


def test_start_on_a_tiff_stack(make_napari_viewer, qtbot, sample, tmp_path) -> None:
    """A multi-page TIFF stack labels and saves like a video; sleap-io reopens it."""
    import tifffile

    from napari_sleap.io.video import open_video

    frames = open_video(sample.video).read_frames(range(5))[..., 0]
    stack = tmp_path / "stack.tif"
    tifffile.imwrite(stack, frames)
    viewer = make_napari_viewer(show=True)
    viewer.open(str(stack), plugin=PLUGIN)
    dock = open_dock(viewer, "Labeling")
    pick(qtbot, dock.picker.combo, "bee")
    click_button(qtbot, dock.picker, "Start")
    viewer.dims.set_current_step(0, 3)
    look_at(qtbot, viewer, 96.0, 96.0, zoom=2.0)
    click_button(qtbot, dock, "Add (click)")
    click(qtbot, viewer, 100.0, 90.0)
    click_button(qtbot, dock, "Save")
    back = sio.load_slp(str(stack.with_suffix(".slp")))
    assert Path(back.videos[0].filename).name == "stack.tif"
    assert back.videos[0].shape[:3] == (5, 192, 192)
    assert np.array_equal(back.videos[0][3][..., 0], frames[3])
    assert [f.frame_idx for f in back.labeled_frames] == [3]
