from __future__ import annotations

import json
from pathlib import Path

import pytest
import sleap_io as sio

from napari_sleap.cli import main
from napari_sleap.cli import track as track_cli
from napari_sleap.track.matching import MATCHERS
from napari_sleap.track.similarity import SIMILARITIES
from napari_sleap.track.trackers import TRACKERS


def test_cli_choices_match_the_core() -> None:
    assert track_cli.TRACKERS == TRACKERS
    assert set(track_cli.SIMILARITIES) == set(SIMILARITIES)
    assert set(track_cli.MATCHERS) == set(MATCHERS)


@pytest.fixture
def degraded_file(tmp_path: Path, degraded_clip, clip_mp4: Path) -> Path:
    path = tmp_path / "degraded.slp"
    degraded_clip(seed=5, frame_range=(1000, 1100)).save(str(path))
    return path


def test_track_then_evaluate_from_the_command_line(
    degraded_file: Path, clip_all_slp: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "tracked.slp"
    args = ["track", str(degraded_file), "-o", str(out), "--max-tracks", "2"]
    assert main([*args, "--tracker", "flow", "--frames", "1000-1099"]) == 0
    tracked = sio.load_slp(str(out))
    assert len(tracked.tracks) == 2
    assert not list(tmp_path.glob(".*tmp*"))  # the atomic save left nothing behind
    capsys.readouterr()
    ev = ["evaluate-tracks", str(clip_all_slp), str(out), "--frames", "1000-1099"]
    assert main([*ev, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames"] == 100
    assert report["id_switches"] == 0 and report["idf1"] >= 0.95
    assert main(ev) == 0
    assert "ID switches 0" in capsys.readouterr().out
    assert main(ev[:3]) == 0  # all GT frames: those never predicted are misses
    assert "frames 1250" in capsys.readouterr().out


def test_command_line_errors_name_the_problem(
    degraded_file: Path, tmp_path: Path, capsys
) -> None:
    out = str(tmp_path / "x.slp")
    assert main(["track", str(degraded_file), "-o", out, "--max-tracks", "0"]) == 1
    assert "--max-tracks 0" in capsys.readouterr().err
    assert main(["track", str(tmp_path / "none.slp"), "-o", out]) == 1
    assert "none.slp" in capsys.readouterr().err
    assert main(["evaluate-tracks", str(degraded_file), str(degraded_file)]) == 1
    assert "has no tracks" in capsys.readouterr().err
    assert main(["track", str(degraded_file), "-o", out, "--frames", "1,5-9"]) == 1
    assert "contiguous" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["track", str(degraded_file), "-o", out, "--tracker", "magic"])
