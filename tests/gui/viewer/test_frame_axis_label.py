"""The frame slider is labeled "frame", not napari's axis number ("-3")."""

from __future__ import annotations

import pytest

from tests.gui.person import PLUGIN, open_dock, save_shot


def _slider_label(viewer) -> str:
    return viewer.window._qt_viewer.dims.slider_widgets[0].axis_label.text()


@pytest.mark.parametrize("what", ["labels", "video"])
@pytest.mark.parametrize("dock_first", [True, False], ids=["dock-first", "file-first"])
def test_frame_slider_says_frame(
    make_napari_viewer, qtbot, sample_small, what, dock_first
) -> None:
    viewer = make_napari_viewer(show=True)
    if dock_first:
        open_dock(viewer, "Labeling")
    path = sample_small.gt if what == "labels" else sample_small.video
    viewer.open(str(path), plugin=PLUGIN)
    if not dock_first:
        open_dock(viewer, "Labeling")
    assert viewer.dims.axis_labels[0] == "frame"
    qtbot.waitUntil(lambda: _slider_label(viewer) == "frame", timeout=2000)
    if what == "labels" and not dock_first:
        save_shot(viewer.screenshot(canvas_only=False, flash=False), "frame_slider.png")


def test_a_users_own_axis_name_is_kept(make_napari_viewer, sample_small) -> None:
    viewer = make_napari_viewer()
    viewer.open(str(sample_small.video), plugin=PLUGIN)
    viewer.dims.axis_labels = ("time", "y", "x")
    viewer.open(str(sample_small.gt), plugin=PLUGIN)
    assert viewer.dims.axis_labels[0] == "time"
