from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from napari_sleap.cli import main
from tests.fixtures.training import TINY


def _fresh(path):
    import sleap_io as sio

    return sio.load_slp(str(path))


def _train(capsys, labels, out, *extra):
    rc = main(["train", str(labels), "-o", str(out), "--quiet", *extra])
    return rc, capsys.readouterr().err


def test_bad_config_key_exits_with_the_key_and_writes_nothing(
    small_labels_slp, tmp_path, capsys
):
    bad = tmp_path / "bad.yaml"
    bad.write_text("optim:\n  batchsize: 4\n")
    rc, err = _train(
        capsys, small_labels_slp, tmp_path / "m", "--pipeline", "top-down",
        "--config", str(bad),
    )  # fmt: skip
    assert rc == 1
    assert "optim.batchsize" in err and "batch_size" in err and str(bad) in err
    assert not (tmp_path / "m").exists()


def test_bad_value_names_allowed_values(small_labels_slp, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("centroid:\n  data:\n    split: {method: random}\n")
    rc, err = _train(
        capsys, small_labels_slp, tmp_path / "m", "--pipeline", "top-down",
        "--config", str(bad),
    )  # fmt: skip
    assert rc == 1 and "centroid.data.split.method" in err and "'time'" in err
    assert not (tmp_path / "m").exists()


def test_labels_without_instances_are_refused(small_labels, tmp_path, capsys):
    import sleap_io as sio

    empty = sio.Labels(
        videos=list(small_labels.videos), skeletons=[small_labels.skeleton]
    )
    path = tmp_path / "empty.slp"
    empty.save(str(path))
    rc, err = _train(capsys, path, tmp_path / "m", "--pipeline", "bottom-up")
    assert rc == 1 and "no user-labeled instances" in err and str(path) in err
    assert not (tmp_path / "m").exists()


def test_single_pipeline_refuses_two_animals(small_labels_slp, tmp_path, capsys):
    rc, err = _train(capsys, small_labels_slp, tmp_path / "m", "--pipeline", "single")
    assert rc == 1 and "top-down" in err and not (tmp_path / "m").exists()


def test_missing_video_is_named(small_labels_slp, tmp_path, capsys):
    labels = _fresh(small_labels_slp)
    labels.videos[0].replace_filename(str(tmp_path / "gone.mp4"), open=False)
    path = tmp_path / "moved.slp"
    labels.save(str(path))
    rc, err = _train(capsys, path, tmp_path / "m", "--pipeline", "top-down")
    assert rc == 1 and "gone.mp4" in err and not (tmp_path / "m").exists()


def test_mismatched_skeletons_are_refused(small_labels_slp, tmp_path, capsys):
    import sleap_io as sio

    labels = _fresh(small_labels_slp)
    other = sio.Skeleton(["a", "b"], name="other")
    labels.skeletons.append(other)
    labels[0].instances.append(
        sio.Instance.from_numpy(np.array([[10.0, 10.0], [20.0, 20.0]]), skeleton=other)
    )
    path = tmp_path / "two.slp"
    labels.save(str(path))
    rc, err = _train(capsys, path, tmp_path / "m", "--pipeline", "top-down")
    assert rc == 1 and "skeletons" in err and not (tmp_path / "m").exists()


def test_identity_pipeline_needs_named_tracks(small_labels_slp, tmp_path, capsys):
    labels = _fresh(small_labels_slp)
    for lf in labels:
        for inst in lf.instances:
            inst.track = None
    labels.tracks.clear()
    path = tmp_path / "untracked.slp"
    labels.save(str(path))
    rc, err = _train(capsys, path, tmp_path / "m", "--pipeline", "top-down-id")
    assert rc == 1 and "tracks" in err and not (tmp_path / "m").exists()


@pytest.mark.slow
def test_killed_training_resumes_from_the_last_epoch(
    small_labels_slp, tmp_path, capsys
):
    """SIGKILL mid-run (a real crash), rerun: it continues, then skips when done.

    The crash is a real process killed; the two reruns call the same ``main`` in
    this process (two more interpreters: 41 s vs 32 s on the busy 2-core box).
    """
    config = tmp_path / "tiny.yaml"
    tiny = {**TINY, "optim": {**TINY["optim"], "epochs": 4, "steps_per_epoch": 3}}
    config.write_text(yaml.safe_dump(tiny))
    out = tmp_path / "models"
    cmd = [
        sys.executable, "-m", "napari_sleap", "train", str(small_labels_slp),
        "--pipeline", "bottom-up", "-o", str(out), "--config", str(config), "--quiet",
    ]  # fmt: skip
    state = out / "bottom_up" / "resume" / "state.json"
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 240
    while not state.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = yaml.safe_load(state.read_text())["epoch"]
    assert 1 <= done_before < 4
    args = cmd[3:]  # after "python -m napari_sleap"
    capsys.readouterr()
    assert main(args) == 0, capsys.readouterr().err[-2000:]
    log = (out / "bottom_up" / "training_log.csv").read_text().splitlines()
    assert [int(r.split(",")[0]) for r in log[1:]] == [0, 1, 2, 3]
    assert main(args[:-1]) == 0  # not --quiet: it says why it did nothing
    assert "already trained" in capsys.readouterr().err
