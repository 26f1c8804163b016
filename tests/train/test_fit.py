from __future__ import annotations

import csv
import json
import threading

import numpy as np
import pytest

from napari_sleap.nn.model_info import ModelInfo
from napari_sleap.progress import Cancelled
from napari_sleap.train.fit import fit, training_status
from tests.fixtures.training import TINY, tiny_config


def _log(model_dir):
    with open(model_dir / "training_log.csv") as fh:
        return list(csv.DictReader(fh))


def test_centered_instance_trains_and_loss_falls(small_labels, tmp_path):
    cfg = tiny_config(
        "centered_instance",
        {
            "augment": {"rotation": False, "gaussian_noise": False},
            "optim": {"epochs": 3, "steps_per_epoch": 6, "learning_rate": 3e-3},
        },
    )
    calls = []
    out = fit(
        cfg, small_labels, tmp_path / "ci", progress=lambda d, t: calls.append((d, t))
    )
    rows = _log(out)
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    # On the fixed validation frames: 18 steps move the training loss (other
    # batches, rare poses drawn more) by less than its batch-to-batch noise.
    assert float(rows[-1]["val_loss"]) < float(rows[0]["val_loss"])
    assert calls[-1] == (18, 18)
    # the model folder holds everything the contract lists
    for name in ("model_info.json", "best.keras", "config.yaml", "split.json"):
        assert (out / name).exists(), name
    info = ModelInfo.load(out)
    assert info.role == "centered_instance" and info.anchor_node == "thorax"
    assert info.crop_size % 16 == 0 and info.heads["confmaps"].channels == 13
    assert len(info.symmetries) == 5  # proposed from the L/R node names
    split = json.loads((out / "split.json").read_text())
    assert [f for _, f in split["val"]] == [1225, 1245]  # the later segment
    assert training_status(out) == "done"
    assert not (out / "resume" / "last.keras").exists()


def test_pipeline_job_trains_bottom_up_with_events_and_a_safe_model(
    small_labels, tmp_path
):
    """The GUI/CLI entry point: events stream out, the model folder loads safely."""
    import keras

    from napari_sleap.train.pipeline import train_pipeline

    events = []
    result = train_pipeline(
        small_labels,
        "bottom-up",
        tmp_path / "models",
        overrides=TINY,
        emit=lambda kind, value: events.append((kind, value)),
    )
    out = tmp_path / "models" / "bottom_up"
    assert result == {"bottom_up": str(out)}
    assert ("model", "bottom_up") in events
    epochs = [v for k, v in events if k == "epoch"]
    assert [e["epoch"] for e in epochs] == [0, 1]
    assert {"loss", "val_loss", "pafs_loss", "lr", "epoch_time_s"} <= set(epochs[0])
    assert any(k == "log" and "best model" in v for k, v in events)

    model = keras.models.load_model(out / "best.keras", safe_mode=True)
    info = ModelInfo.load(out)
    assert info.input_scale == 0.4  # 320-px training patches -> max_input_size 128
    x = np.zeros((1, 128, 128, 1), np.float32)
    y = model.predict(x, verbose=0)
    assert set(y) == {"confmaps", "pafs"}
    assert y["confmaps"].shape == (1, 32, 32, 13)  # output stride 4
    assert y["pafs"].shape == (1, 16, 16, 24)  # PAF stride 8, 12 edges


def test_saved_checkpoint_reloads_to_the_same_outputs_and_optimizer(tmp_path):
    import keras

    from napari_sleap.config.base import from_dict
    from napari_sleap.config.model import ModelConfig
    from napari_sleap.nn.model import build_model
    from napari_sleap.train.callbacks import save_keras_atomic
    from napari_sleap.train.fit import _compile

    cfg = tiny_config("centered_instance_id")
    info = ModelInfo(
        role="centered_instance_id",
        node_names=["a", "b"],
        class_names=["female", "male"],
    )
    model_cfg = from_dict(ModelConfig, {"backbone": {"unet": {"filters": 4}}})
    model = build_model(model_cfg, info)
    _compile(model, cfg, info)
    rng = np.random.default_rng(0)
    x = rng.random((2, 32, 32, 1), dtype=np.float32)
    y = {
        "confmaps": rng.random((2, 16, 16, 2), dtype=np.float32),
        "class_vectors": np.eye(2, dtype=np.float32),
    }
    model.fit(x, y, epochs=1, verbose=0)
    save_keras_atomic(model, tmp_path / "last.keras")
    again = keras.models.load_model(tmp_path / "last.keras", safe_mode=True)
    a, b = model.predict(x, verbose=0), again.predict(x, verbose=0)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-6, atol=1e-7)
    assert int(again.optimizer.iterations) == int(model.optimizer.iterations) == 1
    for v1, v2 in zip(
        model.optimizer.variables, again.optimizer.variables, strict=True
    ):
        np.testing.assert_array_equal(np.asarray(v1), np.asarray(v2))


@pytest.mark.slow
def test_stop_flag_cancels_then_rerun_resumes(small_labels, tmp_path):
    out = tmp_path / "c"
    stop = threading.Event()

    def progress(done, total):
        if done >= 6:  # in the middle of the second epoch
            stop.set()
            raise Cancelled("as a job's progress does once stopped")

    cfg = tiny_config("centroid", {"optim": {"epochs": 3}})
    with pytest.raises(Cancelled):
        fit(cfg, small_labels, out, progress=progress, stop=stop)
    assert training_status(out) == "stopped"
    assert (out / "best.keras").exists()
    state = json.loads((out / "resume" / "state.json").read_text())
    assert state["epoch"] == 2  # the cut-short epoch was checkpointed
    fit(cfg, small_labels, out)
    assert [int(r["epoch"]) for r in _log(out)] == [0, 1, 2]
    assert training_status(out) == "done"


def test_budget_ends_training_early_with_hard_keypoint_mining(small_labels, tmp_path):
    mining = {"enabled": True, "min_hard_keypoints": 3}
    cfg = tiny_config(
        "centered_instance",
        {"optim": {"epochs": 50, "max_minutes": 0.001, "hard_keypoint_mining": mining}},
    )
    out = fit(cfg, small_labels, tmp_path / "b")
    rows = _log(out)
    assert len(rows) == 1 and np.isfinite(float(rows[0]["loss"]))
    assert (out / "best.keras").exists() and training_status(out) == "done"


@pytest.mark.slow
def test_same_config_and_seed_give_the_same_model(small_labels, tmp_path):
    import keras

    cfg = tiny_config(
        "centroid", {"deterministic": True, "data": {"max_input_size": 64}}
    )
    weights = []
    for name in ("a", "b"):
        out = fit(cfg, small_labels, tmp_path / name)
        weights.append(keras.models.load_model(out / "best.keras").get_weights())
    for w1, w2 in zip(*weights, strict=True):
        np.testing.assert_array_equal(w1, w2)


def test_single_instance_trains_on_rgb_video_without_validation(tmp_path):
    """SLEAP's one-frame robot labels: RGB, one animal, nothing left to validate."""
    from tests.fixtures.shared_data import shared_file

    labels = shared_file(
        "sleap1_models/minimal_robot.UNet.single_instance.labels_gt.train.slp"
    )
    cfg = tiny_config("single_instance")
    out = fit(cfg, labels, tmp_path / "single")
    info = ModelInfo.load(out)
    assert info.input_channels == 3 and info.node_names == ["A", "B"]
    rows = _log(out)
    assert len(rows) == 2 and rows[0].get("val_loss", "NA") == "NA"
    assert json.loads((out / "split.json").read_text())["val"] == []
