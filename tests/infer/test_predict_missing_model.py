"""``napari-sleap predict`` with a model folder that is not there names that folder.

Before, a missing model folder was taken for a second video, so the command went
into batch mode and complained that ``-o OUT.slp`` is not a folder.
"""

from __future__ import annotations

import pytest

from napari_sleap.cli import main


@pytest.fixture()
def model_dir(tmp_path):
    """A folder standing where a model folder would be (only its name matters here)."""
    folder = tmp_path / "models" / "centroid_run"
    folder.mkdir(parents=True)
    return folder


def _predict(argv, capsys) -> tuple[int, str]:
    code = main(["predict", *argv])
    return code, capsys.readouterr().err


def test_missing_model_is_named_not_batch_mode(small_video, tmp_path, capsys):
    missing = tmp_path / "no_such_model"
    out = tmp_path / "out.slp"
    code, err = _predict([str(missing), str(small_video), "-o", str(out)], capsys)
    assert code == 1
    assert f"model folder {missing} does not exist" in err
    assert "batch mode" not in err and "give a folder" not in err
    assert not out.exists() and not (tmp_path / "out.slp.parts").exists()


def test_missing_second_model_and_a_near_name(model_dir, small_video, capsys):
    typo = model_dir.parent / "centered_run"
    (model_dir.parent / "centered_instance_run").mkdir()
    out = model_dir.parent / "out.slp"
    code, err = _predict(
        [str(model_dir), str(typo), str(small_video), "-o", str(out)], capsys
    )
    assert code == 1
    assert f"model folder {typo} does not exist (argument 2;" in err
    hint = err.split("Did you mean ", 1)[1]
    assert str(model_dir.parent / "centered_instance_run") in hint.split("?")[0]
    assert not out.exists()


def test_missing_model_in_batch_mode(small_video, tmp_path, capsys):
    missing = tmp_path / "no_such_model"
    second = tmp_path / "second.mp4"
    second.write_bytes(small_video.read_bytes())
    out = tmp_path / "predictions"
    code, err = _predict(
        [str(missing), str(small_video), str(second), "-o", str(out)], capsys
    )
    assert code == 1
    assert f"model folder {missing} does not exist" in err
    assert not out.exists()


def test_missing_video_is_not_called_a_model(model_dir, tmp_path, capsys):
    """Missing inputs are left to the readers, which name them as videos."""
    video = tmp_path / "gone.mp4"
    code, err = _predict(
        [str(model_dir), str(video), "-o", str(tmp_path / "o.slp")], capsys
    )
    assert code == 1
    assert f"input not found: {video}" in err
    assert "model folder" not in err
