"""NWB pose files read back with pynwb + ndx-pose the way movement reads them.

movement's ``load_poses.from_nwb_file`` defaults: ``processing["behavior"]
["PoseEstimation"]``, the individual named after the file's identifier, one
series per keypoint whose frame ``i`` is time ``i / rate``. :func:`read_like_movement`
does exactly that with pynwb, so these tests hold the files to movement's
defaults without installing movement (heavy: xarray, numba, cartopy ...).
"""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.export._common import representatives
from napari_sleap.export.nwb import write_nwb
from napari_sleap.io.labels import load_labels

PRED = "minimal_instance.UNet.centroid.labels_pr.val.slp"


def read_like_movement(path):
    """``(identifier, fps, keypoints, points (T, K, 2), confidence (T, K))``."""
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        pose = nwb.processing["behavior"]["PoseEstimation"]
        # Series come back sorted by name; the skeleton keeps the node order.
        names = list(pose.skeleton.nodes)
        assert sorted(pose.pose_estimation_series) == sorted(names)
        series = [pose.pose_estimation_series[n] for n in names]
        rates = {s.rate for s in series}
        assert len(rates) == 1 and all(s.starting_time == 0.0 for s in series)
        pts = np.stack([np.asarray(s.data) for s in series], axis=1)
        conf = np.stack([np.asarray(s.confidence) for s in series], axis=1)
        assert nwb.subject.subject_id == nwb.identifier
        return nwb.identifier, rates.pop(), names, pts, conf


def _expected(labels, track_slot):
    """``{frame: points}`` of the representative instance on one track."""
    out = {}
    for lf in labels:
        chosen, _ = representatives(lf, list(labels.tracks))
        if track_slot in chosen:
            out[int(lf.frame_idx)] = chosen[track_slot].numpy()
    return out


@pytest.fixture
def predictions(sleap1_models_dir):
    """SLEAP's predictions, tracked, skeleton unnamed as `predict` wrote it."""
    labels = load_labels(sleap1_models_dir / PRED)
    tracks = [sio.Track("male"), sio.Track("female")]
    for inst, track in zip(labels[0].predicted_instances, tracks, strict=True):
        inst.track = track
    labels.tracks = tracks
    labels.skeletons[0].name = None
    return labels


@pytest.mark.shared_data
def test_tracked_predictions_one_file_per_animal(predictions, tmp_path):
    written = write_nwb(predictions, tmp_path / "pr.nwb")
    assert [p.name for p in written] == ["pr.male.nwb", "pr.female.nwb"]
    video = predictions.videos[0]
    for slot, path in enumerate(written):
        name, fps, nodes, pts, conf = read_like_movement(path)
        assert name == predictions.tracks[slot].name
        assert fps == pytest.approx(video.fps) and fps != 1.0  # real timestamps
        assert nodes == ["A", "B"] and len(pts) == video.shape[0]
        want = _expected(predictions, slot)
        for f in range(len(pts)):
            if f in want:
                np.testing.assert_allclose(pts[f], want[f], rtol=1e-12)
            else:
                assert np.isnan(pts[f]).all() and np.isnan(conf[f]).all()
        inst = [i for i in predictions[0].predicted_instances if i.track.name == name]
        frame = int(predictions[0].frame_idx)
        np.testing.assert_allclose(conf[frame], inst[0].numpy(scores=True)[:, 2])


@pytest.mark.shared_data
def test_fps_override_and_unknown_rate(predictions, tmp_path):
    written = write_nwb(predictions, tmp_path / "pr.nwb", fps=29.97)
    assert read_like_movement(written[0])[1] == pytest.approx(29.97)  # no truncation
    gone = sio.Labels(
        labeled_frames=[
            sio.LabeledFrame(
                video=sio.Video(filename=str(tmp_path / "gone.mp4")),
                frame_idx=lf.frame_idx,
                instances=lf.instances,
            )
            for lf in predictions
        ],
        tracks=predictions.tracks,
    )
    with pytest.raises(ValueError, match=r"gone\.mp4 is unknown.*--fps"):
        write_nwb(gone, tmp_path / "x.nwb")
    assert not (tmp_path / "x.nwb").exists()
    written = write_nwb(gone, tmp_path / "x.nwb", fps=10)
    assert read_like_movement(written[0])[1] == 10.0


@pytest.mark.shared_data
def test_one_untracked_animal_is_one_file(predictions, tmp_path):
    for lf in predictions:
        lf.instances = lf.instances[:1]
        for inst in lf.instances:
            inst.track = None
    predictions.tracks = []
    written = write_nwb(predictions, tmp_path / "one.nwb")
    assert written == [tmp_path / "one.nwb"]
    assert read_like_movement(written[0])[0] == "id_0"  # movement's own default


@pytest.mark.shared_data
def test_labeled_tracked_file_reads_as_poses(clip_train_slp, tmp_path):
    """User labels (proofread, tracked) export per animal too, user points first."""
    labels = load_labels(clip_train_slp)
    written = write_nwb(labels, tmp_path / "train.nwb")
    assert sorted(p.name for p in written) == ["train.female.nwb", "train.male.nwb"]
    for path in written:
        name, fps, nodes, pts, conf = read_like_movement(path)
        slot = [t.name for t in labels.tracks].index(name)
        assert fps == pytest.approx(labels.videos[0].fps)
        assert nodes == labels.skeletons[0].node_names
        want = _expected(labels, slot)
        assert len(want) > 50
        got = {f for f in range(len(pts)) if not np.isnan(pts[f]).all()}
        assert got == {f for f, p in want.items() if not np.isnan(p).all()}
        for f, p in want.items():
            np.testing.assert_allclose(pts[f], p, rtol=1e-12)
            assert np.isnan(conf[f]).all()  # placed by a person: no confidence


@pytest.mark.shared_data
def test_untracked_labeled_frames_fall_back_to_annotations(clip_train_slp, tmp_path):
    labels = load_labels(clip_train_slp)
    for lf in labels:
        for inst in lf.instances:
            inst.track = None
    labels.tracks = []
    written = write_nwb(labels, tmp_path / "ann.nwb")
    assert written == [tmp_path / "ann.nwb"]
    back = sio.load_nwb(str(written[0]))
    assert len(back) == len(labels)


@pytest.mark.shared_data
def test_read_back_by_movement_when_installed(predictions, tmp_path):
    """movement itself, where it is installed (not a test dependency: too heavy)."""
    load_poses = pytest.importorskip("movement.io.load_poses")
    import xarray as xr

    written = write_nwb(predictions, tmp_path / "pr.nwb")
    ds = xr.merge(
        [load_poses.from_nwb_file(p) for p in written],
        join="outer",
        compat="no_conflicts",
    )
    assert sorted(ds.individuals.values) == ["female", "male"]
    assert ds.attrs["fps"] == pytest.approx(predictions.videos[0].fps)
    frame = int(predictions[0].frame_idx)
    for inst in predictions[0].predicted_instances:
        got = ds.position.sel(individuals=inst.track.name).isel(time=frame).values
        np.testing.assert_allclose(got.T, inst.numpy(), rtol=1e-12)


@pytest.mark.shared_data
def test_predict_then_export_end_to_end(sleap1_models_dir, tmp_path, capsys):
    """What `napari-sleap predict` writes exports to NWB (it used to crash)."""
    from pynwb import NWBHDF5IO

    from napari_sleap.cli import main

    d = sleap1_models_dir
    pred = tmp_path / "pred.slp"
    args = [
        "predict",
        str(d / "minimal_instance.UNet.centroid"),
        str(d / "minimal_instance.UNet.centered_instance"),
        str(d / "centered_pair_low_quality.mp4"),
        "--frames",
        "0-5",
        "--max-instances",
        "2",
        "--tracker",
        "simple",
        "--max-tracks",
        "2",
        "-o",
        str(pred),
    ]
    assert main(args) == 0
    assert main(["export", str(pred), "--format", "nwb"]) == 0
    labels = load_labels(pred)
    written = sorted(tmp_path.glob("pred.*.nwb"))
    assert [p.name for p in written] == [f"pred.{t.name}.nwb" for t in labels.tracks]
    for path in written:
        name, fps, nodes, pts, _ = read_like_movement(path)
        assert fps == 15.0  # the video's frame rate
        slot = [t.name for t in labels.tracks].index(name)
        for f, want in _expected(labels, slot).items():
            np.testing.assert_allclose(pts[f], want, rtol=1e-12)
        with NWBHDF5IO(str(path), "r") as io:
            pose = io.read().processing["behavior"]["PoseEstimation"]
            assert pose.skeleton.name == "Skeleton-0"  # the SLEAP 1.x config's
