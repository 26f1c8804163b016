"""Screenshots of the docks in use on the sample (shown viewer, under Xvfb).

The test checks what is on screen (user discs and prediction rings in their
colors); with ``NAPARI_SLEAP_SCREENSHOTS=1`` it also writes docs/images/labeling.png
and docs/images/skeleton.png.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from imageio.v3 import imwrite

from napari_sleap.napari.docks.labeling import LabelingWidget
from napari_sleap.napari.docks.skeleton import SkeletonWidget
from napari_sleap.sample import make_sample
from tests.gui.docks.helpers import labels_of, open_labels, with_predictions

DOCS = Path(__file__).resolve().parents[3] / "docs" / "images"


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
    assert canvas[..., :3].std() > 10  # the frame and the poses are drawn
    # the node colors of both the accepted (disc) and predicted (ring) instances
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
