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
    assert slp_copy.with_name("train.nwb").stat().st_size > 0


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
