"""Real centered-instance training with the other fly's nodes as negatives."""

from __future__ import annotations

import csv
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from napari_sleap.nn.model_info import ModelInfo
from napari_sleap.progress import Cancelled
from napari_sleap.train.fit import fit, training_status
from tests.fixtures.training import tiny_config


def _log(model_dir):
    with open(model_dir / "training_log.csv") as fh:
        return list(csv.DictReader(fh))


EXTRA = {
    "augment": {"rotation": False, "gaussian_noise": False},
    "optim": {
        "epochs": 3,
        "steps_per_epoch": 6,
        "learning_rate": 3e-3,
        "other_instance_negatives": {"enabled": True, "weight": 4.0},
        # Plain draws: 18 steps of rare-pose-weighted draws need not lower the loss.
        "pose_balanced_sampling": {"enabled": False},
    },
}
ROOT = Path(__file__).resolve().parents[2]


def test_training_with_negatives_stops_resumes_and_saves_a_plain_model(
    small_labels_slp, tmp_path
):
    import keras
    import sleap_io as sio

    labels = sio.load_slp(str(small_labels_slp))
    cfg = tiny_config("centered_instance", EXTRA)
    out = tmp_path / "ci"
    stop = threading.Event()

    def progress(done, total):
        if done >= 9:  # in the middle of the second epoch
            stop.set()
            raise Cancelled("as a job's progress does once stopped")

    with pytest.raises(Cancelled):
        fit(cfg, labels, out, progress=progress, stop=stop)
    assert training_status(out) == "stopped"
    # A fresh process (as a rerun of the CLI) reloads the compiled model with
    # the weighted loss and finishes the training.
    code = (
        "import sleap_io as sio\n"
        "from napari_sleap.train.fit import fit\n"
        "from tests.fixtures.training import tiny_config\n"
        "from tests.train.test_negatives_fit import EXTRA\n"
        f"fit(tiny_config('centered_instance', EXTRA), "
        f"sio.load_slp({str(small_labels_slp)!r}), {str(out)!r})\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-3000:]
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
