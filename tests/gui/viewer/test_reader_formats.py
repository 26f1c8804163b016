"""Other tools' labels open in a real viewer like a .slp (DeepLabCut project, CSV).

A napari-deeplabcut user drops the project folder (or its CSV) on napari and gets
the frames, the points of every animal and the skeleton in one step.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from napari_sleap.io.labels import load_labels
from napari_sleap.napari._reader import get_reader, read_slp
from napari_sleap.napari.layers.convert import META_KEY
from tests.io.foreign_files import dlc_project

pytestmark = pytest.mark.shared_data

DOCS = Path(__file__).resolve().parents[3] / "docs" / "images"


@pytest.fixture
def project(clip_train_slp, tmp_path):
    labels = load_labels(clip_train_slp)
    frames = [(lf.video[lf.frame_idx], lf) for lf in labels.labeled_frames[:3]]
    root = tmp_path / "flies-tester"
    dlc_project(root, labels, frames, ["male", "female"])
    return root, frames


def test_dlc_project_opens_in_the_viewer(
    make_napari_viewer,
    project,
    napari_errors,
):
    root, frames = project
    csv_path = root / "labeled-data" / "clip" / "CollectedData_tester.csv"
    for path in (root, root / "config.yaml", csv_path):
        assert get_reader(str(path)) is read_slp
    viewer = make_napari_viewer(show=True)
    viewer.open(str(root), plugin="napari-sleap")
    kinds = {type(layer).__name__ for layer in viewer.layers}
    assert {"Image", "Points", "Vectors", "Tracks"} <= kinds
    image = next(la for la in viewer.layers if type(la).__name__ == "Image")
    assert image.data.shape[0] == len(frames)  # the PNGs are the frames
    points = next(la for la in viewer.layers if type(la).__name__ == "Points")
    meta = points.metadata[META_KEY]
    got = meta["labels"]
    assert [t.name for t in got.tracks] == ["male", "female"]
    want = np.concatenate([i.numpy() for _, lf in frames for i in lf.user_instances])
    have = np.concatenate([i.numpy() for lf in got for i in lf.instances])
    np.testing.assert_allclose(
        np.sort(have[np.isfinite(have)]), np.sort(want[np.isfinite(want)])
    )
    frame_of_row = np.rint(np.asarray(points.data)[:, 0]).astype(int)
    assert set(frame_of_row) == set(range(len(frames)))
    shot = viewer.screenshot(canvas_only=False, flash=False)
    assert shot.shape[0] > 100 and np.asarray(shot)[..., :3].std() > 5  # not black
    if os.environ.get("NAPARI_SLEAP_SCREENSHOTS") == "1":
        from imageio.v3 import imwrite

        DOCS.mkdir(parents=True, exist_ok=True)
        imwrite(DOCS / "dlc_project.png", shot)
