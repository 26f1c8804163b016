"""``napari-sleap predict`` hands several videos / an output folder to batch mode."""

from __future__ import annotations

import argparse

import pytest

from napari_sleap.cli import build_parser, main
from napari_sleap.cli.predict_batch import split_models, wants_batch

VIDEO = "centered_pair_low_quality.mp4"
MODELS = ("minimal_instance.UNet.centroid", "minimal_instance.UNet.centered_instance")


def _args(paths, output, **kw) -> argparse.Namespace:
    base = {"scheduler": None, "workers": None}
    return argparse.Namespace(paths=paths, output=output, **{**base, **kw})


def test_batch_mode_is_chosen_by_inputs_output_or_scheduler(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    a, b = str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4")
    assert not wants_batch(_args([str(model), a], "out.slp"))
    assert wants_batch(_args([str(model), a, b], "out.slp"))
    assert wants_batch(_args([str(model), a], "out_dir"))
    assert wants_batch(_args([str(model), str(tmp_path / "*.mp4")], "out.slp"))
    assert wants_batch(_args([str(model), a], "out.slp", workers=2))
    assert wants_batch(_args([str(model), a], "out.slp", scheduler="tcp://x:8786"))
    assert split_models([str(model), a, b]) == ([str(model)], [a, b])
    with pytest.raises(ValueError, match="is not a model folder"):
        split_models([a, b])
    with pytest.raises(ValueError, match="give the videos"):
        split_models([str(model)])


def test_batch_options_are_in_predict_help():
    parser = build_parser()
    args = parser.parse_args(
        ["predict", "m", "v.mp4", "-o", "out", "--scheduler", "local", "--workers", "2"]
    )
    assert (args.scheduler, args.workers, args.overwrite) == ("local", 2, False)


@pytest.mark.shared_data
@pytest.mark.slow
def test_predict_command_in_batch_mode(sleap1_models_dir, tmp_path, capsys):
    for name in ("one.mp4", "two.mp4"):
        (tmp_path / name).symlink_to(sleap1_models_dir / VIDEO)
    models = [str(sleap1_models_dir / m) for m in MODELS]
    out = tmp_path / "preds"
    argv = ["predict", *models, str(tmp_path / "*.mp4"), "-o", str(out)]
    argv += ["--frames", "0-3", "--workers", "1", "--max-instances", "2"]
    assert main(argv) == 0
    got = sorted(p.name for p in out.glob("*.slp"))
    assert got == ["one.predictions.slp", "two.predictions.slp"]
    captured = capsys.readouterr()
    assert "2 written, 0 already done, 0 failed; 8 frames" in captured.out
    assert "dask dashboard: http" in captured.err
    assert "videos 2/2, frames 8/8" in captured.err
    # A rerun skips both without starting a cluster.
    assert main(argv) == 0
    assert "0 written, 2 already done" in capsys.readouterr().out
    assert main([*argv[:-6], "-o", str(out / "x.slp"), "--workers", "1"]) == 1
