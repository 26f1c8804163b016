"""Analysis HDF5: SLEAP's layout, read back by sleap-io, same numbers as the .slp."""

import h5py
import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.export.analysis_h5 import analysis_arrays, write_analysis_h5


@pytest.fixture(scope="module")
def clip_labels(clip_all_slp):
    return sio.load_slp(str(clip_all_slp), open_videos=False)


def test_layout_matches_sleap(clip_labels, clip_all_slp, tmp_path):
    out = tmp_path / "clip.analysis.h5"
    write_analysis_h5(clip_labels, out, labels_path=str(clip_all_slp))
    with h5py.File(out, "r") as f:
        assert f["tracks"].shape == (2, 2, 13, 1250)
        assert f["track_occupancy"].shape == (1250, 2)
        assert f["track_occupancy"].dtype == np.uint8
        assert f["point_scores"].shape == (2, 13, 1250)
        assert f["instance_scores"].shape == (2, 1250)
        assert f["tracking_scores"].shape == (2, 1250)
        assert [n.decode() for n in f["track_names"][:]] == [
            t.name for t in clip_labels.tracks
        ]
        assert [n.decode() for n in f["node_names"][:]] == clip_labels.skeletons[
            0
        ].node_names
        assert f["edge_names"].shape == (12, 2) and f["edge_inds"].shape == (12, 2)
        assert f["video_path"][()].decode().endswith("clip.mp4")
        assert f["labels_path"][()].decode() == str(clip_all_slp)
        assert f["video_ind"][()] == 0
        # SLEAP's own export stores these as int32.
        assert f["edge_inds"].dtype == np.int32 and f["video_ind"].dtype == np.int32
        assert b"filename" in f["provenance"][()]
        tracks = f["tracks"][:]
        occupancy = f["track_occupancy"][:]
        # User labels carry no scores.
        assert np.isnan(f["point_scores"][:]).all()

    # tracks[track, xy, node, frame] is the point of that track's instance.
    male = [t.name for t in clip_labels.tracks].index("male")
    lf = clip_labels[1100]
    inst = next(i for i in lf.user_instances if i.track.name == "male")
    np.testing.assert_array_equal(tracks[male, :, :, lf.frame_idx].T, inst.numpy())
    assert occupancy.sum() == 2500


def test_sleap_io_reads_it_back(clip_labels, tmp_path):
    out = tmp_path / "clip.analysis.h5"
    write_analysis_h5(clip_labels, out)
    back = sio.load_analysis_h5(str(out))
    a = clip_labels.numpy()
    b = back.numpy()[: len(a)]
    np.testing.assert_allclose(a, b, equal_nan=True)
    assert [t.name for t in back.tracks] == [t.name for t in clip_labels.tracks]
    assert back.skeletons[0].edge_inds == clip_labels.skeletons[0].edge_inds


def test_same_arrays_as_sleap_io_writer(clip_labels, tmp_path):
    ours, theirs = tmp_path / "ours.h5", tmp_path / "theirs.h5"
    write_analysis_h5(clip_labels, ours)
    sio.save_analysis_h5(clip_labels, str(theirs))
    with h5py.File(ours, "r") as f, h5py.File(theirs, "r") as g:
        for key in ("tracks", "track_occupancy", "point_scores", "instance_scores"):
            n = f[key].shape[-1] if key != "track_occupancy" else f[key].shape[0]
            mine = f[key][:]
            other = g[key][..., :n] if key != "track_occupancy" else g[key][:n]
            np.testing.assert_array_equal(mine, other, err_msg=key)


def _one_untracked_animal(clip_labels: sio.Labels) -> sio.Labels:
    """Predictions of one animal per frame, no tracks: the clip's male as scored."""
    skeleton = clip_labels.skeletons[0]
    frames = []
    for lf in list(clip_labels)[:5]:
        inst = next(i for i in lf.user_instances if i.track.name == "male")
        pts = inst.numpy()
        frames.append(
            sio.LabeledFrame(
                video=lf.video,
                frame_idx=lf.frame_idx,
                instances=[
                    sio.PredictedInstance.from_numpy(
                        pts,
                        skeleton=skeleton,
                        point_scores=np.linspace(0.5, 0.9, len(pts)),
                        score=0.8,
                    )
                ],
            )
        )
    return sio.Labels(frames, videos=[clip_labels.videos[0]], skeletons=[skeleton])


def test_untracked_written_as_sleap_does_and_sleap_io_reads_it(clip_labels, tmp_path):
    """One slot and no track names (SLEAP's own untracked file has shape (0,))."""
    labels = _one_untracked_animal(clip_labels)
    out = tmp_path / "one.analysis.h5"
    arrays = write_analysis_h5(labels, out)
    assert arrays.track_names == []
    with h5py.File(out, "r") as f:
        assert f["track_names"].shape == (0,)
        assert f["track_names"].dtype == np.float64  # what h5py makes of SLEAP's []
        assert f["tracks"].shape[:1] == (1,)
        assert f["track_occupancy"].shape[1] == 1
        assert f["edge_inds"].dtype == np.int32
        assert f["video_ind"].dtype == np.int32
    back = sio.load_analysis_h5(str(out))
    assert back.tracks == []
    want = {int(lf.frame_idx): lf.instances[0].numpy() for lf in labels}
    have = {int(lf.frame_idx): lf.instances for lf in back}
    assert set(have) == set(want)
    for frame, insts in have.items():
        assert len(insts) == 1 and insts[0].track is None
        np.testing.assert_allclose(insts[0].numpy(), want[frame])
        np.testing.assert_allclose(insts[0].score, 0.8)


def test_untracked_animals_sharing_a_frame_are_refused(sleap1_models_dir, tmp_path):
    """Several untracked animals do not fit SLEAP's one untracked slot: say the fix."""
    labels = sio.load_slp(
        str(sleap1_models_dir / "minimal_instance.UNet.centroid.labels_pr.val.slp"),
        open_videos=False,
    )
    assert not labels.tracks and len(labels[0].predicted_instances) == 2
    out = tmp_path / "pr.analysis.h5"
    with pytest.raises(ValueError) as err:
        write_analysis_h5(labels, out)
    msg = str(err.value)
    assert "frame 0 has 2 untracked instances" in msg
    assert "napari-sleap track" in msg and "--format csv" in msg
    assert "track_0" not in msg
    assert list(tmp_path.iterdir()) == []


def test_user_instance_preferred_over_prediction_on_same_track(clip_labels):
    lf = clip_labels[0]
    user = lf.user_instances[0]
    pred = sio.PredictedInstance.from_numpy(
        user.numpy() + 10, skeleton=user.skeleton, score=0.9, track=user.track
    )
    lf.instances.append(pred)
    try:
        arrays = analysis_arrays(clip_labels)
        slot = clip_labels.tracks.index(user.track)
        np.testing.assert_array_equal(arrays.tracks[0, slot], user.numpy())
        assert arrays.dropped == 1
    finally:
        lf.instances.remove(pred)


def test_bad_video_index_and_failed_write_leave_nothing(clip_labels, tmp_path):
    with pytest.raises(ValueError, match="--video 3"):
        analysis_arrays(clip_labels, video=3)
    out = tmp_path / "missing_dir" / "x.h5"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_analysis_h5(clip_labels, out)
    assert list(tmp_path.iterdir()) == []
