"""A real mouse drag on the canvas moves a point and its edges, and saves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from napari_sleap.io.labels import compare_labels, load_labels


def test_mouse_drag_moves_point_and_edges(
    make_napari_viewer, qtbot, clip_train_slp: Path, tmp_path: Path
) -> None:
    from qtpy.QtCore import QPoint, Qt

    viewer = make_napari_viewer(show=True)
    viewer.open(str(clip_train_slp), plugin="napari-sleap")
    points, edges = viewer.layers[-1], viewer.layers[-2]
    row = 1  # thorax of the first fly on frame 0
    y, x = points.data[row, 1:]
    viewer.camera.center = (0.0, y, x)
    viewer.camera.zoom = 4.0
    points.mode = "select"
    viewer.layers.selection.active = points
    qtbot.wait(50)
    canvas = viewer.window._qt_viewer.canvas.native
    mid = QPoint(canvas.width() // 2, canvas.height() // 2)  # the thorax
    before = np.array(edges.data)
    old = points.data[row].copy()

    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=mid)
    for step in range(1, 6):
        qtbot.mouseMove(canvas, QPoint(mid.x() + 4 * step, mid.y() + 2 * step))
        qtbot.wait(10)
    qtbot.mouseRelease(
        canvas, Qt.MouseButton.LeftButton, pos=QPoint(mid.x() + 20, mid.y() + 10)
    )
    qtbot.wait(50)

    moved = points.data[row] - old
    assert np.allclose(moved[1:], [10 / 4.0, 20 / 4.0], atol=0.6), moved
    assert np.count_nonzero(np.any(before != edges.data, axis=(1, 2))) >= 3
    ends = np.r_[edges.data[:, 0], edges.data[:, 0] + edges.data[:, 1]]
    assert np.isclose(ends, points.data[row]).all(axis=1).sum() >= 3

    out = tmp_path / "dragged.slp"
    viewer.layers.save(str(out), plugin="napari-sleap")
    diffs = compare_labels(load_labels(clip_train_slp), load_labels(out))
    assert len(diffs) == 1, diffs
