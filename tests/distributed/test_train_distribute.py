"""``--gpus``: strategy selection, batch scaling, and a real mirrored training.

This machine has no GPU, so the mirrored path runs over two logical CPU
devices in a fresh process (TensorFlow's devices are fixed at start-up).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import yaml

from napari_sleap.train.distribute import (
    parse_gpus,
    scaled_overrides,
    select_strategy,
)
from tests.fixtures.training import TINY


def test_parse_gpus():
    assert parse_gpus(None) is None and parse_gpus("0") is None
    assert parse_gpus("ALL") == "all" and parse_gpus("2") == 2
    with pytest.raises(ValueError, match="give 'all' or a number"):
        parse_gpus("two")
    with pytest.raises(ValueError, match="count >= 0"):
        parse_gpus("-1")


def test_one_or_no_gpu_trains_as_before():
    none = select_strategy("all", devices=[])
    assert none.strategy is None and none.replicas == 1
    assert "training on the CPU as before" in none.message
    one = select_strategy(1, devices=["/device:GPU:0"])
    assert one.strategy is None and one.replicas == 1 and "one GPU" in one.message
    assert select_strategy(None).message == ""
    with pytest.raises(ValueError, match="only 1 GPU"):
        select_strategy(3, devices=["/device:GPU:0"])


def test_batch_is_scaled_per_role():
    from napari_sleap.config.training import pipeline_configs

    base = pipeline_configs("top-down", TINY)
    got = pipeline_configs("top-down", scaled_overrides("top-down", TINY, 3))
    for role in base:
        assert got[role].optim.batch_size == 3 * base[role].optim.batch_size
        assert got[role].optim.steps_per_epoch == base[role].optim.steps_per_epoch
    assert scaled_overrides("top-down", TINY, 1) == TINY


MIRRORED = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)
from napari_sleap.train.distribute import gpu_setup
from napari_sleap.train.pipeline import train_pipeline

labels, out, overrides = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
devices = [d.name for d in tf.config.list_logical_devices("CPU")]
overrides, choice = gpu_setup("all", "bottom-up", overrides, devices=devices)
seen = {}

def emit(kind, value):
    if kind == "model":
        seen["strategy"] = type(tf.distribute.get_strategy()).__name__
        seen["replicas"] = tf.distribute.get_strategy().num_replicas_in_sync

with choice.scope():
    train_pipeline(labels, "bottom-up", out, overrides=overrides, emit=emit)
print(json.dumps({"message": choice.message, **seen}))
"""


@pytest.mark.shared_data
@pytest.mark.slow
def test_mirrored_training_over_two_devices(small_labels_slp, tmp_path):
    import json

    out = tmp_path / "models"
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(MIRRORED)]
        + [str(small_labels_slp), str(out), json.dumps(TINY)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["strategy"] == "MirroredStrategy" and report["replicas"] == 2
    assert "MirroredStrategy over 2 devices" in report["message"]
    model = out / "bottom_up"
    cfg = yaml.safe_load((model / "config.yaml").read_text())
    assert cfg["optim"]["batch_size"] == 2 * TINY["optim"]["batch_size"]
    assert (model / "best.keras").exists() and (model / "model_info.json").exists()
    log = (model / "training_log.csv").read_text().strip().splitlines()
    assert len(log) == 1 + TINY["optim"]["epochs"]


@pytest.mark.shared_data
@pytest.mark.slow
def test_train_command_on_cpu_says_so(small_labels_slp, tmp_path, capsys):
    from napari_sleap.cli import main

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    argv = ["train", str(small_labels_slp), "--pipeline", "bottom-up"]
    argv += ["-o", str(tmp_path / "m"), "--config", str(config), "--gpus", "all"]
    assert main(argv) == 0
    assert "no GPU is visible here; training on the CPU as before" in (
        capsys.readouterr().err
    )
    assert (tmp_path / "m" / "bottom_up" / "best.keras").exists()
