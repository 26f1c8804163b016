"""The ``export`` command: every format, default names, frames, clear errors."""

import csv
import os
import stat

import h5py
import pytest

from napari_sleap.cli import main


@pytest.fixture
def slp_copy(clip_train_slp, tmp_path):
    """The training labels beside their video, so default outputs go to tmp."""
    dst = tmp_path / "train.slp"
    dst.write_bytes(clip_train_slp.read_bytes())
    (tmp_path / "clip.mp4").symlink_to(clip_train_slp.parent / "clip.mp4")
    return dst


def test_analysis_h5_default_name(slp_copy, capsys):
    assert main(["export", str(slp_copy), "--format", "analysis-h5"]) == 0
    out = slp_copy.with_name("train.analysis.h5")
    # Frames 0..1245, the last labeled one, as SLEAP's export does.
    assert "2 tracks x 1246 frames" in capsys.readouterr().out
    with h5py.File(out, "r") as f:
        assert f["tracks"].shape == (2, 2, 13, 1246)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o666 & ~umask


def test_csv_with_frames_and_output(slp_copy, tmp_path, capsys):
    out = tmp_path / "late.csv"
    rc = main(
        [
            "export",
            str(slp_copy),
            "--format",
            "csv",
            "-o",
            str(out),
            "--frames",
            "1000-1249",
        ]
    )
    assert rc == 0
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {int(r["frame_idx"]) for r in rows} == set(range(1000, 1250, 5))
    assert len(rows) == 50 * 2 * 13


def test_nwb(slp_copy, capsys):
    assert main(["export", str(slp_copy), "--format", "nwb"]) == 0
    out = capsys.readouterr().out
    for animal in ("male", "female"):  # one NWB file per animal
        path = slp_copy.with_name(f"train.{animal}.nwb")
        assert path.stat().st_size > 0 and f"wrote {path}" in out
    rc = main(
        ["export", str(slp_copy), "--format", "nwb", "--nwb-flavour", "annotations"]
    )
    assert rc == 0 and slp_copy.with_name("train.nwb").stat().st_size > 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "analysis-h5", "--video", "2"], "--video 2"),
        (["--format", "csv", "--frames", "1490-1495"], "no labeled frames"),
        (["--format", "nwb", "-o", "out.h5"], "must end in .nwb"),
        (["--format", "csv", "-o", "no/such/dir/x.csv"], "does not exist"),
    ],
)
def test_errors(slp_copy, capsys, extra, message, monkeypatch):
    monkeypatch.chdir(slp_copy.parent)
    assert main(["export", str(slp_copy), *extra]) == 1
    assert message in capsys.readouterr().err


def test_missing_input(tmp_path, capsys):
    assert main(["export", str(tmp_path / "x.slp"), "--format", "csv"]) == 1
    assert "x.slp" in capsys.readouterr().err


def test_several_videos_get_one_file_each(clip_train_slp, tmp_path, capsys):
    import sleap_io as sio

    labels = sio.load_slp(str(clip_train_slp), open_videos=False)
    second = sio.Video(filename=str(tmp_path / "other_cam.mp4"))
    for lf in labels[:10]:
        lf.video = second
    labels.videos = [labels.videos[0], second]
    src = tmp_path / "two.slp"
    sio.save_slp(labels, str(src))
    assert main(["export", str(src), "--format", "analysis-h5"]) == 0
    first = tmp_path / "two.000_clip.analysis.h5"
    other = tmp_path / "two.001_other_cam.analysis.h5"
    with h5py.File(first, "r") as f, h5py.File(other, "r") as g:
        assert f["video_ind"][()] == 0 and g["video_ind"][()] == 1
        assert f["track_occupancy"][:].sum() == 180
        assert g["track_occupancy"][:].sum() == 20
    assert (
        main(
            [
                "export",
                str(src),
                "--format",
                "analysis-h5",
                "--video",
                "1",
                "-o",
                str(tmp_path / "one.h5"),
            ]
        )
        == 0
    )
    with h5py.File(tmp_path / "one.h5", "r") as f:
        assert f["video_path"][()].decode().endswith("other_cam.mp4")


def test_open_frame_range_runs_to_video_end(slp_copy, tmp_path, capsys):
    out = tmp_path / "tail.csv"
    assert (
        main(
            [
                "export",
                str(slp_copy),
                "--format",
                "csv",
                "-o",
                str(out),
                "--frames",
                "1240-",
            ]
        )
        == 0
    )
    with open(out, newline="") as fh:
        frames = {int(r["frame_idx"]) for r in csv.DictReader(fh)}
    assert frames == {1240, 1245}
    assert (
        main(["export", str(slp_copy), "--format", "csv", "--frames", "1400-1600"]) == 1
    )
    assert "past the last frame (1499)" in capsys.readouterr().err
