"""Screenshots of the docks in use on the sample (shown viewer, under Xvfb).

The test checks what is on screen (user discs and prediction rings in their
colors); with ``NAPARI_SLEAP_SCREENSHOTS=1`` it also writes docs/images/labeling.png
and docs/images/skeleton.png.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import sleap_io as sio
from imageio.v3 import imwrite

from napari_sleap.napari.docks.labeling import LabelingWidget
from napari_sleap.napari.docks.skeleton import SkeletonWidget
from napari_sleap.sample import make_sample
from tests.gui.person import labels_of, open_labels, with_predictions

DOCS = Path(__file__).resolve().parents[3] / "docs" / "images"


def _centre_matches(viewer, points, labeling, canvas, frame: int):
    """Per shown node: is the canvas pixel at its centre its face color?

    Returns (user instances' nodes, predicted instances' nodes).
    """
    h, w = canvas.shape[:2]
    centre = np.asarray(viewer.camera.center[-2:])
    zoom = viewer.camera.zoom
    shown = np.asarray(points.shown)
    face = np.asarray(points.face_color)
    user, predicted = [], []
    for inst in labeling.sync.frame_instances(frame):
        rows = labeling.sync.instance_rows(inst)
        rows = rows[shown[rows]]
        yx = np.asarray(points.data)[rows, 1:]
        rc = np.rint((yx - centre) * zoom + (h / 2, w / 2)).astype(int)
        inside = (rc >= 0).all(1) & (rc[:, 0] < h) & (rc[:, 1] < w)
        hits = [
            bool(np.abs(canvas[r, c, :3] - face[row, :3] * 255).max() <= 30)
            for (r, c), row in zip(rc[inside], rows[inside], strict=True)
        ]
        is_pred = isinstance(inst, sio.PredictedInstance)
        (predicted if is_pred else user).extend(hits)
    return user, predicted


def test_screenshots(make_napari_viewer, qtbot, tmp_path) -> None:
    paths = make_sample(tmp_path, n_frames=60, size=384)
    project = with_predictions(paths.train, paths.gt, tmp_path / "p.slp", [31, 33])
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1500, 950)
    points, _ = open_labels(viewer, project)
    labeling = LabelingWidget(viewer)
    skeleton = SkeletonWidget(viewer)
    lab_dock = viewer.window.add_dock_widget(labeling, name="Labeling", area="right")
    labeling.suggest("uniform", 6)
    # frame 31: one prediction accepted (discs), one still predicted (rings)
    labeling.set_frame(31)
    first = labeling.sync.frame_instances(31)[0]
    points.selected_data = {int(labeling.sync.instance_rows(first)[0])}
    labeling.accept_selected()
    points.selected_data = set()
    labeling.toggle_help()
    viewer.layers.selection.active = points
    xy = np.concatenate([i.numpy() for i in labeling.sync.frame_instances(31)])
    viewer.camera.center = (float(np.nanmean(xy[:, 1])), float(np.nanmean(xy[:, 0])))
    viewer.camera.zoom = 3.5
    qtbot.wait(200)
    shot = viewer.screenshot(canvas_only=False, flash=False)
    canvas = viewer.screenshot(canvas_only=True, flash=False)
    # On screen: the accepted instance's nodes as filled discs in their node
    # colors, the prediction's as hollow rings (the frame shows at the centre).
    discs, rings = _centre_matches(viewer, points, labeling, canvas, frame=31)
    assert len(discs) >= 5 and np.mean(discs) >= 0.8, f"disc centres {discs}"
    assert len(rings) >= 5 and np.mean(rings) <= 0.2, f"ring centres {rings}"
    labels = labels_of(points)
    assert len(labels.labeled_frames) > 3
    if os.environ.get("NAPARI_SLEAP_SCREENSHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        imwrite(DOCS / "labeling.png", shot)
    viewer.window.remove_dock_widget(lab_dock)
    viewer.window.add_dock_widget(skeleton, name="Skeleton", area="right")
    skeleton.node_list.setCurrentRow(1)
    skeleton.src_combo.setCurrentText("ear_left")
    skeleton.dst_combo.setCurrentText("ear_right")
    qtbot.wait(200)
    shot2 = viewer.screenshot(canvas_only=False, flash=False)
    assert shot2.shape[0] > 500 and not np.array_equal(shot, shot2)
    if os.environ.get("NAPARI_SLEAP_SCREENSHOTS"):
        imwrite(DOCS / "skeleton.png", shot2)
