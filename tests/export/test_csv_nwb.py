"""Tidy CSV and NWB exports of real labels and predictions."""

import csv

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.export.csv import COLUMNS, write_csv
from napari_sleap.export.nwb import write_nwb
from napari_sleap.io.labels import load_labels
from napari_sleap.progress import Cancelled


@pytest.fixture(scope="module")
def train_labels(clip_train_slp):
    return load_labels(clip_train_slp)  # finds clip.mp4 beside the .slp


def test_csv_one_row_per_frame_track_node(train_labels, tmp_path):
    out = tmp_path / "train.csv"
    rows = write_csv(train_labels, out)
    assert rows == 100 * 2 * 13
    with open(out, newline="") as fh:
        table = list(csv.DictReader(fh))
    assert tuple(table[0]) == COLUMNS and len(table) == rows
    lf = train_labels[5]
    inst = lf.user_instances[0]
    mine = [
        r
        for r in table
        if int(r["frame_idx"]) == lf.frame_idx and r["track"] == inst.track.name
    ]
    pts = inst.numpy()
    for r, (x, y) in zip(mine, pts, strict=True):
        if np.isnan(x):
            assert r["x"] == "" and r["y"] == ""
        else:
            assert float(r["x"]) == x and float(r["y"]) == y
        assert r["source"] == "user" and r["score"] == ""


def test_csv_predictions_have_scores(sleap1_models_dir, tmp_path):
    labels = sio.load_slp(
        str(sleap1_models_dir / "minimal_instance.UNet.centroid.labels_pr.val.slp"),
        open_videos=False,
    )
    out = tmp_path / "pr.csv"
    assert write_csv(labels, out) == 4
    with open(out, newline="") as fh:
        table = list(csv.DictReader(fh))
    assert {r["instance"] for r in table} == {"0", "1"}
    assert all(
        r["source"] == "predicted" and float(r["instance_score"]) > 0 for r in table
    )


def test_csv_cancel_leaves_no_file(train_labels, tmp_path):
    class Stop:
        def is_set(self):
            return True

    out = tmp_path / "x.csv"
    with pytest.raises(Cancelled):
        write_csv(train_labels, out, stop=Stop())
    assert list(tmp_path.iterdir()) == []


def test_nwb_annotations_round_trip(train_labels, tmp_path):
    out = tmp_path / "train.nwb"
    # Annotations (PoseTraining) on request; auto gives pose files per animal.
    assert write_nwb(train_labels, out, flavour="annotations") == [out]
    back = sio.load_nwb(str(out))
    assert len(back) == len(train_labels)
    a = np.stack([i.numpy() for lf in train_labels for i in lf.user_instances])
    b = np.stack([i.numpy() for lf in back for i in lf.instances])
    np.testing.assert_allclose(np.sort(a.ravel()), np.sort(b.ravel()), equal_nan=True)


def test_nwb_annotations_need_their_video(train_labels, tmp_path):
    moved = sio.Labels(
        labeled_frames=[
            sio.LabeledFrame(
                video=sio.Video(filename=str(tmp_path / "gone.mp4")),
                frame_idx=lf.frame_idx,
                instances=lf.instances,
            )
            for lf in train_labels[:3]
        ]
    )
    with pytest.raises(ValueError, match="gone.mp4 not found"):
        write_nwb(moved, tmp_path / "x.nwb", flavour="annotations")


def test_nwb_refuses_untracked_multi_animal_predictions(sleap1_models_dir, tmp_path):
    labels = sio.load_slp(
        str(sleap1_models_dir / "minimal_instance.UNet.centroid.labels_pr.val.slp"),
        open_videos=False,
    )
    with pytest.raises(ValueError, match="napari-sleap track"):
        write_nwb(labels, tmp_path / "pr.nwb")
    with pytest.raises(ValueError, match=r"must end in \.nwb"):
        write_nwb(labels, tmp_path / "pr.h5")
    assert list(tmp_path.iterdir()) == []


# Tracked predictions as pose files per animal: tests/export/test_nwb_poses.py.
