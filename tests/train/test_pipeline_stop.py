"""Stop in a two-model pipeline: what is on disk, and what the job says is usable.

Real (tiny) top-down trainings on 12 labeled frames; the stop flag is set from the
live ``step`` events, as the panel's Stop button does through the job process.
"""

from __future__ import annotations

import threading

import pytest

from napari_sleap.jobs.tasks import stopped_report
from napari_sleap.nn.model_info import ModelInfo
from napari_sleap.train.pipeline import PipelineStopped, train_pipeline
from tests.fixtures.training import TINY


def _overrides(centroid_epochs: int, instance_epochs: int) -> dict:
    optim = TINY["optim"]
    return {
        **TINY,
        "centroid": {"optim": {**optim, "epochs": centroid_epochs}},
        "centered_instance": {"optim": {**optim, "epochs": instance_epochs}},
    }


def _train_until(labels, out, overrides, role: str, step: int):
    """Train top-down, setting stop once ``role`` reported ``step``; the events."""
    stop = threading.Event()
    events: list[tuple[str, object]] = []

    def emit(kind, value):
        events.append((kind, value))
        if kind == "step" and value["role"] == role and value["step"] >= step:
            stop.set()

    with pytest.raises(PipelineStopped) as err:
        train_pipeline(
            labels, "top-down", out, overrides=overrides, stop=stop, emit=emit
        )
    return err.value, events


def test_stop_in_the_second_model_keeps_both_best_checkpoints(
    small_labels, tmp_path, monkeypatch
):
    import keras

    from napari_sleap.train import pipeline

    monkeypatch.setattr(pipeline, "STEP_INTERVAL_S", 0.0)  # every step, no throttle
    out = tmp_path / "models"
    stopped, events = _train_until(
        small_labels, out, _overrides(1, 200), "centered_instance", 6
    )
    steps = [v for k, v in events if k == "step"]
    # a live loss point per step (throttled to 2/s in real use), not per epoch
    ci_steps = [s["step"] for s in steps if s["role"] == "centered_instance"]
    assert ci_steps[:6] == [1, 2, 3, 4, 5, 6]
    assert [s["epoch"] for s in steps[:2]] == [0.25, 0.5]
    assert all(s["loss"] > 0 and s["total"] == 800 for s in steps[-3:])
    assert steps[-1]["model"] == 2 and steps[-1]["models"] == 2
    states = stopped.states
    assert states["centroid"]["status"] == "done" and states["centroid"]["usable"]
    ci = states["centered_instance"]
    assert ci["status"] == "stopped" and ci["usable"] and ci["best_epoch"] >= 1
    for role in ("centroid", "centered_instance"):
        model = keras.models.load_model(out / role / "best.keras", safe_mode=True)
        assert model.outputs and ModelInfo.load(out / role).role == role
    report = stopped_report(states, str(out))
    assert report["model_dirs"] == [
        str(out / "centroid"),
        str(out / "centered_instance"),
    ]
    assert (
        "centered_instance: usable, stopped, best so far (best epoch" in report["text"]
    )


def test_stop_in_the_first_model_says_the_second_was_not_started(
    small_labels, tmp_path
):
    out = tmp_path / "models"
    stopped, _ = _train_until(small_labels, out, _overrides(200, 2), "centroid", 3)
    states = stopped.states
    assert states["centroid"]["usable"] and states["centroid"]["status"] == "stopped"
    assert states["centered_instance"] == {
        "dir": str(out / "centered_instance"),
        "status": "not started",
        "usable": False,
        "best_epoch": None,
        "best_loss": None,
    }
    report = stopped_report(states, str(out))
    assert report["model_dirs"] == []  # top-down needs both: nothing to predict with
    assert "centered_instance: not started" in report["text"]
