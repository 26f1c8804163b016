"""Predictor, predict() and the predict command on real SLEAP 1.x models/videos."""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap.infer.predict import predict
from napari_sleap.infer.predictor import Predictor, PredictorOptions
from napari_sleap.progress import Cancelled

pytestmark = pytest.mark.shared_data

CENTROID = "minimal_instance.UNet.centroid"
CENTERED = "minimal_instance.UNet.centered_instance"
VIDEO = "centered_pair_low_quality.mp4"


@pytest.fixture(scope="module")
def model_dirs(sleap1_models_dir):
    return [sleap1_models_dir / CENTROID, sleap1_models_dir / CENTERED]


@pytest.fixture(scope="module")
def topdown(model_dirs):
    options = PredictorOptions(batch_size=4, max_instances=2)
    return Predictor.from_model_dirs(model_dirs, options)


@pytest.fixture(scope="module")
def video(sleap1_models_dir):
    from napari_sleap.io.video import open_video

    return open_video(sleap1_models_dir / VIDEO)


def _arrays(labels):
    out = {}
    for lf in labels.labeled_frames:
        pts = np.stack([i.numpy() for i in lf.instances])
        out[lf.frame_idx] = pts[np.lexsort((pts[:, 0, 1], pts[:, 0, 0]))]
    return out


def test_run_streams_batches_in_order(topdown, video):
    seen = []
    results = list(
        topdown.run(video, list(range(10)), progress=lambda d, t: seen.append((d, t)))
    )
    inds = [i for batch, _ in results for i in batch]
    assert inds == list(range(10))
    assert [len(b) for b, _ in results] == [4, 4, 2]
    assert seen[-1] == (10, 10)
    poses = [p for _, ps in results for p in ps]
    assert all(len(p) == 2 for p in poses)
    assert all(np.isfinite(p.points).all() for p in poses)
    # The single-frame path gives the same poses as the batched one.
    single = topdown.predict_frame(video[3])
    np.testing.assert_allclose(single.points, poses[3].points, atol=1e-3)


def test_corrupt_frame_is_reported_and_skipped(topdown, video):
    class Flaky:
        def __getitem__(self, i):
            if i == 2:
                raise OSError("damaged packet")
            return video[i]

    topdown.bad_frames.clear()
    results = list(topdown.run(Flaky(), [0, 1, 2, 3, 4]))
    inds = [i for batch, _ in results for i in batch]
    assert inds == [0, 1, 3, 4]
    assert topdown.bad_frames and topdown.bad_frames[0][0] == 2
    assert "damaged packet" in topdown.bad_frames[0][1]
    topdown.bad_frames.clear()


def test_stop_flag_cancels(topdown, video):
    class StopAfter:
        def __init__(self):
            self.calls = 0

        def is_set(self):
            self.calls += 1
            return self.calls > 2

    with pytest.raises(Cancelled):
        list(topdown.run(video, list(range(40)), stop=StopAfter()))


def test_predict_writes_slp_and_resumes(
    tmp_path, model_dirs, sleap1_models_dir, topdown
):
    import sleap_io as sio

    src = sleap1_models_dir / VIDEO
    out = tmp_path / "pred.slp"

    class StopAfterFirstPart:
        def __init__(self):
            self.done = 0

        def is_set(self):
            return self.done >= 4

    flag = StopAfterFirstPart()

    def progress(done, total):
        flag.done = done

    with pytest.raises(Cancelled):
        predict(
            model_dirs,
            src,
            out,
            frames="0-11",
            chunk_frames=4,
            progress=progress,
            stop=flag,
            predictor=topdown,
        )
    parts = tmp_path / "pred.slp.parts"
    assert not out.exists()
    assert sorted(p.name for p in parts.glob("*.npz")) == ["v000-000000.npz"]

    totals = []
    labels = predict(
        model_dirs,
        src,
        out,
        frames="0-11",
        chunk_frames=4,
        progress=lambda d, t: totals.append(t),
        predictor=topdown,
    )
    assert set(totals) == {8}  # only the two missing parts ran
    assert out.exists() and not parts.exists()
    back = sio.load_slp(str(out))
    assert [lf.frame_idx for lf in back.labeled_frames] == list(range(12))
    inst = back.labeled_frames[0].instances[0]
    assert isinstance(inst, sio.PredictedInstance) and inst.score > 0.5
    assert np.all(inst.numpy(scores=True)[:, 2] > 0)
    assert back.skeletons[0].node_names == ["A", "B"]

    fresh = predict(model_dirs, src, None, frames="0-11", predictor=topdown)
    a, b = _arrays(labels), _arrays(fresh)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=1e-4)


def test_resume_refuses_other_settings(
    tmp_path, model_dirs, sleap1_models_dir, topdown
):
    out = tmp_path / "p.slp"
    parts = tmp_path / "p.slp.parts"
    parts.mkdir()
    (parts / "manifest.json").write_text('{"fingerprint": "other"}')
    with pytest.raises(ValueError, match="delete that folder"):
        predict(
            model_dirs, sleap1_models_dir / VIDEO, out, frames="0-3", predictor=topdown
        )


def test_labels_input_only_labeled_frames(
    tmp_path, model_dirs, sleap1_models_dir, topdown
):
    src = sleap1_models_dir / f"{CENTERED}.labels_gt.train.slp"
    labels = predict(model_dirs, src, None, only_labeled=True, predictor=topdown)
    assert [lf.frame_idx for lf in labels.labeled_frames] == [1]
    assert len(labels.labeled_frames[0].instances) == 2


def test_model_skeleton_mismatch(model_dirs, clip_train_slp, topdown):
    with pytest.raises(ValueError, match="model/skeleton mismatch"):
        predict(model_dirs, clip_train_slp, None, frames=[0], predictor=topdown)


def test_pipeline_errors(sleap1_models_dir, tmp_path):
    with pytest.raises(ValueError, match="needs the centroid"):
        Predictor.from_model_dirs([sleap1_models_dir / CENTERED])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Predictor.from_model_dirs([tmp_path / "missing"])
    with pytest.raises(ValueError, match="at least one"):
        Predictor.from_model_dirs([])


def test_cli_predict(tmp_path, model_dirs, sleap1_models_dir, capsys):
    import sleap_io as sio

    from napari_sleap.cli import main

    out = tmp_path / "cli.slp"
    rc = main(
        [
            "predict",
            *map(str, model_dirs),
            str(sleap1_models_dir / VIDEO),
            "-o",
            str(out),
            "--frames",
            "5-9,20",
            "--batch-size",
            "2",
            "--max-instances",
            "2",
        ]
    )
    assert rc == 0
    assert "6 frames" in capsys.readouterr().out
    back = sio.load_slp(str(out))
    assert [lf.frame_idx for lf in back.labeled_frames] == [5, 6, 7, 8, 9, 20]
    rc = main(["predict", str(sleap1_models_dir / VIDEO), "-o", str(out)])
    assert rc == 1
    rc = main(
        ["predict", *map(str, model_dirs), str(tmp_path / "nope.mp4"), "-o", str(out)]
    )
    assert rc == 1
    assert "not found" in capsys.readouterr().err


def test_predict_reports_unreadable_frames(
    monkeypatch, tmp_path, model_dirs, sleap1_models_dir, topdown
):
    """A frame the decoder cannot read is skipped, reported, and not given poses."""
    import napari_sleap.infer.predict as P

    real_open = P.open_frames

    class Damaged:
        def __init__(self, video):
            self.reader = real_open(video)

        def __getitem__(self, i):
            if i == 2:
                raise ValueError("corrupt frame data")
            return self.reader[i]

        def close(self):
            self.reader.close()

    monkeypatch.setattr(P, "open_frames", Damaged)
    topdown.bad_frames.clear()
    labels = predict(
        model_dirs,
        sleap1_models_dir / VIDEO,
        tmp_path / "d.slp",
        frames="0-4",
        predictor=topdown,
    )
    assert [lf.frame_idx for lf in labels.labeled_frames] == [0, 1, 3, 4]
    assert labels.provenance["napari_sleap.predict"]["bad_frames"] == [[0, 2]]
    topdown.bad_frames.clear()


def test_empty_video_gets_a_clear_error(tmp_path, model_dirs, topdown):
    import h5py

    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("video", data=np.zeros((0, 32, 32, 1), np.uint8))
    with pytest.raises(ValueError, match=r"empty\.h5.*(no frames|empty or damaged)"):
        predict(model_dirs, path, None, predictor=topdown)


def test_cli_only_suggested_frames(tmp_path, model_dirs, sleap1_models_dir):
    import sleap_io as sio

    from napari_sleap.cli import main

    labels = sio.load_slp(str(sleap1_models_dir / f"{CENTERED}.labels_gt.train.slp"))
    video = labels.videos[0]
    labels.suggestions = [sio.SuggestionFrame(video, 7), sio.SuggestionFrame(video, 3)]
    src = tmp_path / "project.slp"
    labels.save(str(src))
    out = tmp_path / "sugg.slp"
    args = ["predict", *map(str, model_dirs), str(src), "-o", str(out)]
    assert main([*args, "--only-suggested-frames", "--max-instances", "2"]) == 0
    back = sio.load_slp(str(out))
    assert [lf.frame_idx for lf in back.labeled_frames] == [3, 7]
    assert all(len(lf.instances) == 2 for lf in back.labeled_frames)


def test_streamed_slp_tables_equal_sleap_io_writer(
    tmp_path, model_dirs, sleap1_models_dir, topdown
):
    """The part-by-part writer produces the tables sleap-io itself writes."""
    import h5py
    import sleap_io as sio

    from napari_sleap.infer.predict import Written

    src = sleap1_models_dir / VIDEO
    ref = predict(model_dirs, src, None, frames="0-9", predictor=topdown)
    sio.save_slp(ref, str(tmp_path / "ref.slp"))
    res = predict(
        model_dirs,
        src,
        tmp_path / "s.slp",
        frames="0-9",
        chunk_frames=3,
        predictor=topdown,
        return_labels=False,
    )
    assert isinstance(res, Written) and res.frames == 10 and res.instances == 20
    with h5py.File(tmp_path / "ref.slp") as a, h5py.File(tmp_path / "s.slp") as b:
        for table in ("frames", "instances", "pred_points"):
            x, y = a[table][()], b[table][()]
            assert x.dtype == y.dtype and x.shape == y.shape
            for field in x.dtype.names:
                if x[field].dtype.kind == "f":  # batch make-up moves float32 ulps
                    np.testing.assert_allclose(x[field], y[field], atol=1e-4)
                else:
                    np.testing.assert_array_equal(x[field], y[field], err_msg=field)
    back = sio.load_slp(str(tmp_path / "s.slp"))
    assert back.provenance["napari_sleap.predict"]["pipeline"] == "top-down"
