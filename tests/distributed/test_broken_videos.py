"""A batch with broken videos: each is reported and skipped, the others finish.

The broken files are real: a truncated copy of ``clip.mp4``, a text file named
``.mp4`` and a copy of a real video with one packet's bytes replaced by noise.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.shared_data

MODELS = ("minimal_instance.UNet.centroid", "minimal_instance.UNet.centered_instance")


@pytest.fixture(scope="module")
def model_dirs(sleap1_models_dir):
    return [str(sleap1_models_dir / m) for m in MODELS]


@pytest.fixture(scope="module")
def options():
    from napari_sleap.infer.predictor import PredictorOptions

    return PredictorOptions(batch_size=4, max_instances=2)


def test_unreadable_videos_are_reported_and_skipped(
    broken_videos, model_dirs, options, tmp_path
):
    from napari_sleap.distributed.batch import predict_batch

    b = broken_videos
    seen, lines = [], []
    result = predict_batch(
        model_dirs,
        [b.truncated, b.good, b.text],
        tmp_path,
        frames="0-3",
        options=options,
        scheduler="none",
        status=seen.append,
        log=lines.append,
    )
    assert result.written == [tmp_path / "good.predictions.slp"]
    assert set(result.failed) == {b.truncated, b.text}
    for video, message in result.failed.items():
        assert str(video) in message  # names the file ...
        assert "cannot open" in message  # ... says why ...
        assert "ffmpeg" in message  # ... and how to fix it
    assert not (tmp_path / "truncated.predictions.slp").exists()
    assert not list(tmp_path.glob("*.parts"))
    assert any("notes.mp4: not predicted" in line for line in lines)
    final = seen[-1]
    states = {v.video.name: v.state for v in final.videos}
    assert states == {
        "truncated.mp4": "failed",
        "good.mp4": "done",
        "notes.mp4": "failed",
    }
    assert (final.videos_done, final.videos_total, final.videos_failed) == (1, 1, 2)
    assert (final.frames_done, final.frames_total) == (4, 4)
    # A rerun keeps the finished video and reports the broken ones again.
    again = predict_batch(
        model_dirs,
        [b.truncated, b.good, b.text],
        tmp_path,
        frames="0-3",
        options=options,
        scheduler="none",
    )
    assert again.skipped == result.written and len(again.failed) == 2


def test_predict_command_exit_code_names_the_failed_videos(
    broken_videos, model_dirs, tmp_path, capsys
):
    from napari_sleap.cli import main

    b = broken_videos
    out = tmp_path / "preds"
    argv = ["predict", *model_dirs, str(b.good), str(b.text), str(b.truncated)]
    argv += ["-o", str(out), "--frames", "0-2", "--scheduler", "none"]
    assert main([*argv, "--max-instances", "2"]) == 1
    captured = capsys.readouterr()
    assert "1 written, 0 already done, 2 failed; 3 frames" in captured.out
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert str(b.text) in errors[0] and str(b.truncated) in errors[1]
    assert "2 video(s) failed" in captured.err
    assert [p.name for p in out.glob("*.slp")] == ["good.predictions.slp"]
    assert main([*argv, "--workers", "2"]) == 1
    assert "--workers needs dask" in capsys.readouterr().err


@pytest.mark.slow
def test_dask_batch_skips_bad_videos_and_reports_bad_frames(
    broken_videos, model_dirs, options, tmp_path
):
    """On a real LocalCluster: a text file fails, a damaged packet costs frames."""
    import sleap_io as sio

    from napari_sleap.distributed.batch import predict_batch

    b = broken_videos
    frames = list(range(b.damaged_frame - 6, b.damaged_frame + 6))
    lines = []
    result = predict_batch(
        model_dirs,
        [b.good, b.text, b.damaged],
        tmp_path,
        frames=frames,
        options=options,
        workers=1,
        threads=1,
        log=lines.append,
    )
    assert [p.name for p in result.written] == [
        "good.predictions.slp",
        "damaged.predictions.slp",
    ]
    assert list(result.failed) == [b.text]
    good = sio.load_slp(str(result.written[0]))
    assert [lf.frame_idx for lf in good.labeled_frames] == frames
    damaged = sio.load_slp(str(result.written[1]))
    bad = damaged.provenance["napari_sleap.predict"]["bad_frames"]
    bad_frames = {f for _, f in bad}
    assert b.damaged_frame in bad_frames
    got = {lf.frame_idx for lf in damaged.labeled_frames if lf.instances}
    assert not got & bad_frames, "an unreadable frame was given poses"
    assert got | bad_frames == set(frames)
    detail = result.details[1]
    assert detail["bad_frames"] == len(bad_frames)
    assert any(
        "damaged.predictions.slp" in line and "unreadable frame(s) skipped" in line
        for line in lines
    )
