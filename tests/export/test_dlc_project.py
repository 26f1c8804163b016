"""DeepLabCut project export: written from the fly labels, read straight back."""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap.cli import main
from napari_sleap.export._common import select_frames
from napari_sleap.export.dlc_project import write_dlc_project
from napari_sleap.io.labels import load_labels

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def few(clip_train_slp):
    labels = load_labels(clip_train_slp)
    return select_frames(labels, [int(lf.frame_idx) for lf in labels[:6]])


def test_round_trip_through_the_importer(few, tmp_path):
    out = tmp_path / "flies-dlc"
    assert write_dlc_project(few, out) == 6
    csv_path = out / "labeled-data" / "clip" / "CollectedData_napari-sleap.csv"
    assert (out / "config.yaml").is_file() and csv_path.is_file()
    assert len(list(csv_path.parent.glob("img*.png"))) == 6
    back = load_labels(out)
    assert back.skeletons[0].node_names == few.skeletons[0].node_names
    assert sorted(back.skeletons[0].edge_names) == sorted(few.skeletons[0].edge_names)
    assert [t.name for t in back.tracks] == [t.name for t in few.tracks]
    frames = sorted(few, key=lambda lf: lf.frame_idx)
    for lf_back, lf in zip(
        sorted(back, key=lambda f: f.frame_idx), frames, strict=True
    ):
        want = {i.track.name: i.numpy() for i in lf.user_instances}
        have = {i.track.name: i.numpy() for i in lf_back.instances}
        assert set(have) == set(want)
        for name, pts in want.items():
            np.testing.assert_allclose(have[name], pts, rtol=1e-12)
        image = np.asarray(lf_back.video[lf_back.frame_idx])[..., 0]
        np.testing.assert_array_equal(image, np.asarray(lf.video[lf.frame_idx])[..., 0])


def test_refuses_a_folder_in_use_and_leaves_nothing(few, tmp_path):
    used = tmp_path / "used"
    used.mkdir()
    (used / "mine.txt").write_text("keep")
    with pytest.raises(ValueError, match="not an empty folder"):
        write_dlc_project(few, used)
    assert [p.name for p in used.iterdir()] == ["mine.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["used"]  # no partial


def test_cli_default_folder(clip_train_slp, tmp_path, capsys):
    src = tmp_path / "train.slp"
    src.write_bytes(clip_train_slp.read_bytes())
    (tmp_path / "clip.mp4").symlink_to(clip_train_slp.parent / "clip.mp4")
    frames = "0-100"
    assert main(["export", str(src), "--format", "dlc", "--frames", frames]) == 0
    out = tmp_path / "train-dlc"
    assert "DeepLabCut project" in capsys.readouterr().out
    assert len(load_labels(out)) == len(list(out.glob("labeled-data/*/img*.png")))
