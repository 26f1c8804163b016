"""Bottom-up training on full-resolution patches around the animals (issue 15)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from napari_sleap.config.base import ConfigError
from napari_sleap.train.prepare import prepare
from tests.fixtures.training import tiny_config

#: A tiny bottom-up model on the synthetic sample (192-px frames): 96-px patches.
PATCHES = {
    "model": {"backbone": {"unet": {"filters": 8, "filters_rate": 1.5}}},
    "data": {"input_scale": 1.0, "train_patch_size": 96},
    "optim": {"epochs": 2, "steps_per_epoch": 3, "batch_size": 2},
}


def test_bottom_up_trains_on_patches_and_predicts_whole_frames(sample_small, tmp_path):
    import keras

    from napari_sleap.nn.model_info import ModelInfo
    from napari_sleap.train.pipeline import train_pipeline

    out = tmp_path / "models"
    train_pipeline(sample_small.train, "bottom-up", out, overrides=PATCHES, seed=0)
    folder = out / "bottom_up"
    saved = yaml.safe_load((folder / "config.yaml").read_text())
    assert saved["data"]["train_patch_size"] == 96
    log = (folder / "training_log.csv").read_text().splitlines()
    header = log[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in log[1:]]
    assert len(rows) == 2
    assert all(math.isfinite(float(r["loss"])) for r in rows)
    assert all(math.isfinite(float(r["val_loss"])) for r in rows)  # whole frames

    info = ModelInfo.load(folder)
    assert info.input_scale == 1.0
    model = keras.models.load_model(folder / "best.keras", safe_mode=True)
    frame = np.zeros((1, 192, 192, 1), np.float32)
    maps = model.predict(frame, verbose=0)
    assert maps["confmaps"].shape[1:3] == (48, 48)  # the whole frame, stride 4
    assert maps["pafs"].shape[1:3] == (24, 24)


def test_patch_setting_is_checked_against_role_and_resolved_for_frames(clip_labels):
    with pytest.raises(ConfigError, match=r"data\.train_patch_size: expected an int"):
        tiny_config("bottom_up", {"data": {"train_patch_size": "big"}})
    with pytest.raises(ConfigError, match=r"data\.train_patch_size: 8 is outside"):
        tiny_config("bottom_up", {"data": {"train_patch_size": 8}})
    cfg = tiny_config("centered_instance", {"data": {"train_patch_size": 256}})
    with pytest.raises(ConfigError, match=r"data\.train_patch_size: applies to full"):
        prepare(cfg, clip_labels)
    # The patch, not the frame, is fitted to max_input_size (TINY: 128 px).
    ok = prepare(
        tiny_config("bottom_up", {"data": {"train_patch_size": 320}}), clip_labels
    )
    assert ok.config.data.train_patch_size == 320
    assert ok.config.data.input_scale == 0.4
    big = {"data": {"train_patch_size": 320, "max_input_size": 512}}
    assert prepare(tiny_config("bottom_up", big), clip_labels).info.input_scale == 1
    # Frames no larger than a patch (1024 px here) train whole, fitted as before.
    whole = prepare(
        tiny_config("bottom_up", {"data": {"train_patch_size": 1024}}), clip_labels
    )
    assert whole.config.data.train_patch_size is None
    assert whole.config.data.input_scale == 0.125  # TINY's max_input_size 128
