"""The seekbar, the labeled-frames table, and the workbench on a 1080p screen.

Real clicks and keys on the seekbar, the table and the canvas, on the real fly
clip's labels with predictions and suggestions added; both orders of opening the
dock and the file; any napari error notification fails the test.
"""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio
from qtpy.QtCore import QPoint, Qt

from napari_sleap.napari.docks.frame_table import FrameTable
from napari_sleap.napari.docks.seekbar import STRIPS, SeekBar
from napari_sleap.napari.docks.workbench import Workbench
from tests.gui.person import (
    CTRL,
    PLUGIN,
    WORKBENCH,
    click,
    click_button,
    drag,
    key,
    look_at,
    open_dock,
    open_in_order,
    save_shot,
    select_mode,
)

LOW, HIGH, SUGGESTED = 510, 511, (610, 710)  # none labeled in clip_train


@pytest.fixture
def project(clip_train_slp, clip_all_slp, clip_mp4, tmp_path):
    """The clip's training labels plus predictions (one low-score) and suggestions."""
    labels = sio.load_slp(str(clip_train_slp), open_videos=False)
    truth = sio.load_slp(str(clip_all_slp), open_videos=False)
    video = labels.videos[0]
    video.replace_filename(str(clip_mp4), open=False)
    skel = labels.skeletons[0]
    for frame, score in ((LOW, 0.3), (HIGH, 0.9)):
        src = next(lf for lf in truth.labeled_frames if lf.frame_idx == frame)
        preds = [
            sio.PredictedInstance.from_numpy(
                inst.numpy(),
                skeleton=skel,
                point_scores=np.full(len(skel.nodes), 0.8),
                score=score,
            )
            for inst in src.instances
        ]
        labels.append(sio.LabeledFrame(video=video, frame_idx=frame, instances=preds))
    labels.suggestions = [sio.SuggestionFrame(video, f) for f in SUGGESTED]
    out = tmp_path / "clip_project.slp"
    labels.save(str(out))
    return out


@pytest.fixture
def video_copy(clip_mp4, tmp_path):
    """The clip alone in a folder."""
    import shutil

    out = tmp_path / "alone" / "clip.mp4"
    out.parent.mkdir()
    shutil.copy(clip_mp4, out)
    return out


def _open(viewer, order, path, name="Frames"):
    return open_in_order(viewer, path, order == "dock_first", (name,))[name]


def _click_bar(qtbot, bar: SeekBar, frame: int) -> None:
    x = bar.x_of(frame) + 1
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=QPoint(x, bar.height() // 2))


def _click_row(qtbot, table: FrameTable, row: int) -> None:
    rect = table.visualRect(table.model_.index(row, 0))
    table.scrollTo(table.model_.index(row, 0))
    rect = table.visualRect(table.model_.index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


@pytest.mark.parametrize("order", ["dock_first", "labels_first"])
def test_seekbar_and_frame_table(make_napari_viewer, qtbot, project, order) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1400, 950)
    panel = _open(viewer, order, project)
    bar, table = panel.seekbar, panel.table
    labels = sio.load_slp(str(project), open_videos=False)
    user = sorted(lf.frame_idx for lf in labels.labeled_frames if lf.user_instances)
    # the marks: labeled, predicted, low score, suggested (filled once shown)
    qtbot.waitUntil(lambda: bar.sets is not None and bool(table.frames()), timeout=3000)
    sets = bar.sets
    assert list(sets.labeled) == user
    assert list(sets.predicted) == [LOW, HIGH]
    assert list(sets.low_score) == [LOW]
    assert list(sets.suggested) == list(SUGGESTED)
    assert bar.n_frames == 1500
    qtbot.wait(50)
    image = bar.grab().toImage()
    for i, (kind, color, _) in enumerate(STRIPS):
        frames = sets.frames(kind)
        frame = int(frames[len(frames) // 2])  # away from the current-frame line
        assert abs(frame - int(viewer.dims.current_step[0])) > 10
        strip = max((bar.height() - 2) // len(STRIPS), 3)
        px = image.pixelColor(bar.x_of(frame), 1 + i * strip + strip // 2)
        assert px.name() == color, (kind, px.name())

    # click the seekbar on the low-score mark: the viewer goes there
    _click_bar(qtbot, bar, LOW)
    assert abs(int(viewer.dims.current_step[0]) - LOW) <= 1500 / bar.width() + 1
    # drag along the bar: the frame follows the mouse
    start, end = bar.x_of(100), bar.x_of(300)
    qtbot.mousePress(bar, Qt.MouseButton.LeftButton, pos=QPoint(start, 5))
    qtbot.mouseMove(bar, QPoint(end, 5))
    qtbot.mouseRelease(bar, Qt.MouseButton.LeftButton, pos=QPoint(end, 5))
    assert abs(int(viewer.dims.current_step[0]) - 300) <= 1500 / bar.width() + 1

    # the table: every labeled frame; a click jumps, Down + Enter jumps on
    assert table.frames() == sorted(user + [LOW, HIGH])
    row = table.frames().index(LOW)
    _click_row(qtbot, table, row)
    assert int(viewer.dims.current_step[0]) == LOW
    cells = [table.model_.index(row, c).data() for c in range(4)]
    assert cells[0] == str(LOW) and cells[1] == "2" and cells[3] == "2 predicted"
    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.keyClick(table, Qt.Key.Key_Return)
    assert int(viewer.dims.current_step[0]) == HIGH
    first = table.frames()[0]
    first_lf = next(lf for lf in labels.labeled_frames if lf.frame_idx == first)
    names = ", ".join(sorted({i.track.name for i in first_lf.instances}))
    assert table.model_.index(0, 2).data() == names
    # moving the slider selects that frame's row
    viewer.dims.set_current_step(0, user[3])
    assert table.currentIndex().row() == table.frames().index(user[3])

    # an edit by hand shows up in both: add an instance on an unlabeled frame
    labeling = open_dock(viewer, "Labeling")
    new = 1400
    viewer.dims.set_current_step(0, new)
    look_at(qtbot, viewer, 512.0, 512.0, zoom=0.5)
    qtbot.wait(50)
    click_button(qtbot, labeling, "Add (click)")
    click(qtbot, viewer, 500.0, 520.0)
    qtbot.waitUntil(lambda: new in table.frames(), timeout=2000)
    qtbot.waitUntil(lambda: new in list(bar.sets.labeled), timeout=2000)
    if order == "labels_first":
        # the table's row for a labeled frame, clicked: the flies are in view
        row = table.frames().index(1100)
        _click_row(qtbot, table, row)
        lf = next(f for f in labels.labeled_frames if f.frame_idx == 1100)
        xy = np.concatenate([i.numpy() for i in lf.instances])
        viewer.camera.center = (0.0, *np.nanmean(xy[:, ::-1], axis=0))
        viewer.camera.zoom = 1.5
        qtbot.wait(200)
        save_shot(
            viewer.screenshot(canvas_only=False, flash=False), "seekbar_frames.png"
        )


def _window_fits(viewer, qtbot) -> tuple[int, int]:
    window = viewer.window._qt_window
    window.resize(1920, 1000)
    qtbot.wait(100)
    return window.minimumSizeHint().height(), window.height()


def test_workbench_fits_1080p(make_napari_viewer, qtbot, project) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.open(str(project), plugin=PLUGIN)
    bench = open_dock(viewer, WORKBENCH)
    assert isinstance(bench, Workbench)
    tabs = [bench.tabs.tabText(i) for i in range(bench.tabs.count())]
    assert tabs[:6] == [
        "Labeling",
        "Skeleton",
        "Train",
        "Predict",
        "Proofread",
        "Evaluate",
    ]
    assert "Frames" in tabs
    minimum, height = _window_fits(viewer, qtbot)
    print(f"window minimum height {minimum} px, height {height} px")  # -s shows it
    assert minimum <= 1080 and height <= 1080, (minimum, height)
    assert bench.minimumSizeHint().height() <= 400
    # the tabs work by mouse: click the Skeleton tab, then its node list is shown
    bar = bench.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    assert bench.tabs.currentIndex() == 1
    skeleton = bench.docks["Skeleton"]
    assert skeleton.isVisible() and skeleton.node_list.count() == 13
    # the Labeling tab's "new skeleton" choice opens the Skeleton tab
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(0).center())
    assert bench.docks["Labeling"].sync is not None
    # the seekbar on top jumps
    _click_bar(qtbot, bench.seekbar, SUGGESTED[0])
    assert abs(int(viewer.dims.current_step[0]) - SUGGESTED[0]) <= 3
    viewer.window._qt_window.resize(1920, 1080)
    _click_bar(qtbot, bench.seekbar, 1100)  # a labeled stretch: the flies walk
    frame = int(viewer.dims.current_step[0])
    lf = min(
        bench.docks["Labeling"].labels.labeled_frames,
        key=lambda f: abs(f.frame_idx - frame),
    )
    viewer.dims.set_current_step(0, lf.frame_idx)
    xy = np.concatenate([i.numpy() for i in lf.instances])
    viewer.camera.center = (0.0, *np.nanmean(xy[:, ::-1], axis=0))
    viewer.camera.zoom = 1.6
    qtbot.wait(300)
    save_shot(viewer.screenshot(canvas_only=False, flash=False), "workbench_tabs.png")


def test_every_single_dock_open_fits_1080p(make_napari_viewer, qtbot, project) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.open(str(project), plugin=PLUGIN)
    names = [
        "Labeling",
        "Skeleton",
        "Train",
        "Predict and track",
        "Proofread",
        "Evaluate",
        "Export",
        "Frames",
    ]
    for name in names:
        widget = open_dock(viewer, name)
        assert widget.minimumSizeHint().height() <= 160, name
    minimum, height = _window_fits(viewer, qtbot)
    print(f"window minimum height {minimum} px, height {height} px")  # -s shows it
    assert minimum <= 1080 and height <= 1080, (minimum, height)
    # a compact dock keeps its class and its buttons work
    labeling = next(
        w.widget()
        for w in viewer.window._dock_widgets.values()
        if type(w.widget()).__name__ == "LabelingWidgetDock"
    )
    click_button(qtbot, labeling, "labeled >")
    assert int(viewer.dims.current_step[0]) > 0


def test_workbench_and_labeling_dock_share_one_history(
    make_napari_viewer, qtbot, project
) -> None:
    """Both Labeling docks open: a drag is one edit, and one Ctrl+Z undoes it."""
    viewer = make_napari_viewer(show=True)
    bench = open_dock(viewer, WORKBENCH)
    single = open_dock(viewer, "Labeling")
    viewer.open(str(project), plugin=PLUGIN)
    assert single.sync is bench.docks["Labeling"].sync is not None
    points = single.sync.layer
    inst = single.labels.labeled_frames[0].instances[0]
    before = inst.numpy().copy()
    y, x = before[1, 1], before[1, 0]
    look_at(qtbot, viewer, y, x, zoom=4.0)
    select_mode(viewer, points)
    qtbot.wait(50)
    drag(qtbot, viewer, y, x, 0.0, 5.0)
    qtbot.wait(50)
    assert np.allclose(inst.numpy()[1] - before[1], (5.0, 0.0), atol=0.6)
    assert len(single.stack._done) == 1
    key(qtbot, viewer, Qt.Key.Key_Z, CTRL)
    qtbot.wait(50)
    assert np.allclose(inst.numpy(), before, equal_nan=True)


def test_closing_the_workbench_leaves_no_errors(
    make_napari_viewer, qtbot, project, video_copy
) -> None:
    """Close the workbench, then open files, step and edit: no error popups."""
    viewer = make_napari_viewer(show=True)
    dock, bench = viewer.window.add_plugin_dock_widget(PLUGIN, WORKBENCH)
    viewer.open(str(video_copy), plugin=PLUGIN)
    viewer.window.remove_dock_widget(dock)
    del bench, dock
    qtbot.wait(50)
    for layer in list(viewer.layers):
        viewer.layers.remove(layer)
    viewer.open(str(project), plugin=PLUGIN)
    key(qtbot, viewer, Qt.Key.Key_Right)
    labeling = open_dock(viewer, "Labeling")
    click_button(qtbot, labeling, "labeled >")
    viewer.dims.set_current_step(0, 1400)
    look_at(qtbot, viewer, 512.0, 512.0, zoom=0.5)
    qtbot.wait(50)
    click_button(qtbot, labeling, "Add (click)")
    click(qtbot, viewer, 500.0, 520.0)
    key(qtbot, viewer, Qt.Key.Key_Z, CTRL)
    qtbot.wait(300)  # the closed seekbar/table timers would fire here
