"""The ``evaluate`` command end to end, in-process and as a real subprocess."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from napari_sleap.cli import main

GT = "minimal_instance.UNet.centered_instance.labels_gt.val.slp"
PR = "minimal_instance.UNet.centered_instance.labels_pr.val.slp"


def test_table_and_plot(sleap1_models_dir, tmp_path, capsys):
    plot = tmp_path / "errors.png"
    rc = main(
        [
            "evaluate",
            str(sleap1_models_dir / GT),
            str(sleap1_models_dir / PR),
            "--plot",
            str(plot),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    assert "OKS mAP" in out and "PCK" in out and "p95" in out
    assert out.count("\nA ") == 1 and "\nall " in out
    img = np.asarray(Image.open(plot).convert("RGB"))
    assert img.shape[0] > 100 and img.shape[1] > 300
    assert (img != 255).any(axis=-1).mean() > 0.02  # something was drawn


def test_json_with_frames(clip_train_slp, clip_all_slp, capsys):
    rc = main(
        [
            "evaluate",
            str(clip_train_slp),
            str(clip_all_slp),
            "--json",
            "--frames",
            "1000-1249",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert data["counts"]["frames"] == 50  # every 5th frame of 1000..1249
    assert data["oks"]["mAP"] == 1.0 and data["error_px"]["all"]["mean"] == 0.0
    assert len(data["pck"]["pck"]) == 10
    assert set(data["error_px"]["per_node"]) >= {"head", "thorax"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--frames", "9-3"], "runs backwards"),
        (["--plot", "chart.jpg"], "PNG"),
        (["--oks-stddev", "0"], "must be positive"),
    ],
)
def test_bad_arguments_clear_errors(
    sleap1_models_dir, tmp_path, capsys, extra, message
):
    args = ["evaluate", str(sleap1_models_dir / GT), str(sleap1_models_dir / PR)]
    if extra[0] == "--plot":
        extra = ["--plot", str(tmp_path / extra[1])]
    assert main(args + extra) == 1
    assert message in capsys.readouterr().err


def test_missing_and_broken_files(sleap1_models_dir, tmp_path, capsys):
    assert (
        main(["evaluate", str(tmp_path / "nope.slp"), str(sleap1_models_dir / PR)]) == 1
    )
    assert "nope.slp" in capsys.readouterr().err
    broken = tmp_path / "broken.slp"
    broken.write_bytes(b"not hdf5")
    assert main(["evaluate", str(broken), str(sleap1_models_dir / PR)]) == 1
    assert "broken.slp" in capsys.readouterr().err


def test_console_command(sleap1_models_dir):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "napari_sleap",
            "evaluate",
            str(sleap1_models_dir / GT),
            str(sleap1_models_dir / GT),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["oks"]["mAP"] == 1.0
