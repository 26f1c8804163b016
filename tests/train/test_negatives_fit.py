"""Real centered-instance training with the other fly's nodes as negatives."""

from __future__ import annotations

import csv
import threading

import numpy as np
import pytest

from napari_sleap.nn.model_info import ModelInfo
from napari_sleap.progress import Cancelled
from napari_sleap.train.fit import fit, training_status
from tests.fixtures.training import tiny_config


def _log(model_dir):
    with open(model_dir / "training_log.csv") as fh:
        return list(csv.DictReader(fh))


def test_training_with_negatives_stops_resumes_and_saves_a_plain_model(
    small_labels, tmp_path
):
    import keras

    cfg = tiny_config(
        "centered_instance",
        {
            "augment": {"rotation": False, "gaussian_noise": False},
            "optim": {
                "epochs": 3,
                "steps_per_epoch": 6,
                "learning_rate": 3e-3,
                "other_instance_negatives": {"enabled": True, "weight": 4.0},
            },
        },
    )
    out = tmp_path / "ci"
    stop = threading.Event()

    def progress(done, total):
        if done >= 9:  # in the middle of the second epoch
            stop.set()
            raise Cancelled("as a job's progress does once stopped")

    with pytest.raises(Cancelled):
        fit(cfg, small_labels, out, progress=progress, stop=stop)
    assert training_status(out) == "stopped"
    # The resumed run reloads the compiled model with the weighted loss.
    fit(cfg, small_labels, out)
    rows = _log(out)
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    losses = [float(r["loss"]) for r in rows]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert np.isfinite(float(rows[-1]["val_loss"]))
    assert training_status(out) == "done"
    # Inference sees a plain model: 13 node maps, no weight channel.
    info = ModelInfo.load(out)
    model = keras.models.load_model(out / "best.keras", safe_mode=True)
    side = info.crop_size
    y = model.predict(np.zeros((1, side, side, 1), np.float32), verbose=0)
    assert y["confmaps"].shape[-1] == 13
