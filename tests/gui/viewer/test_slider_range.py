"""The frame slider of a viewer with labels open starts at frame 0.

An engineer saw the slider start at -3 with labels open; these open labels the
ways a user does (plain, under the workbench, a windowed layer past
WINDOW_MIN_ROWS rows) and step frames, checking napari's dims range each time.
"""

from __future__ import annotations

import pytest

from napari_sleap.io.labels import save_labels
from napari_sleap.napari.layers.store import WINDOW_MIN_ROWS
from tests.gui.person import PLUGIN, WORKBENCH, key, open_dock


def _assert_starts_at_zero(viewer) -> None:
    start = viewer.dims.range[0].start
    layers = {la.name: la.extent.world[:, 0].tolist() for la in viewer.layers}
    assert start == 0, f"slider starts at {start}; frame extents: {layers}"
    assert int(viewer.dims.current_step[0]) >= 0


@pytest.mark.parametrize("workbench_first", [False, True], ids=["plain", "workbench"])
def test_slider_starts_at_zero_with_labels(
    make_napari_viewer, qtbot, sample_small, workbench_first
) -> None:
    from qtpy.QtCore import Qt

    viewer = make_napari_viewer(show=True)
    if workbench_first:
        open_dock(viewer, WORKBENCH)
    viewer.open(str(sample_small.gt), plugin=PLUGIN)
    _assert_starts_at_zero(viewer)
    viewer.dims.set_current_step(0, 0)
    key(qtbot, viewer, Qt.Key.Key_Left)  # stepping back from 0 stays at 0
    assert int(viewer.dims.current_step[0]) == 0
    key(qtbot, viewer, Qt.Key.Key_Right)
    _assert_starts_at_zero(viewer)


def test_slider_starts_at_zero_with_a_windowed_layer(
    make_napari_viewer, qtbot, tmp_path
) -> None:
    from qtpy.QtCore import Qt

    from tests.gui.person import tracked_predictions

    labels = tracked_predictions(5000, 2500)
    n_rows = sum(len(i.points) for lf in labels.labeled_frames for i in lf.instances)
    assert n_rows > WINDOW_MIN_ROWS  # the layer holds one frame plus two anchors
    path = save_labels(labels, tmp_path / "long.slp")
    viewer = make_napari_viewer(show=True)
    open_dock(viewer, WORKBENCH)
    viewer.open(str(path), plugin=PLUGIN)
    _assert_starts_at_zero(viewer)
    viewer.dims.set_current_step(0, 0)
    key(qtbot, viewer, Qt.Key.Key_Right)
    qtbot.wait(100)
    _assert_starts_at_zero(viewer)
