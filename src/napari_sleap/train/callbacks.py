"""Keras callbacks of the training loop: progress/stop/budget, schedule, checkpoints.

The schedule (learning-rate cut on a plateau, early stopping) keeps its
counters in a plain dict that the checkpointer saves with the resumable
model, so a resumed run picks up exactly where the interrupted one stopped.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import keras

from napari_sleap.io.atomic import atomic_path, write_text
from napari_sleap.progress import Cancelled, ProgressFn, StopFlag

STATE_FILE = "state.json"
LAST_FILE = "last.keras"


class JobControl(keras.callbacks.Callback):
    """Report progress, honour the stop flag and the wall-clock budget.

    Stopping (flag or budget) ends the epoch at the current batch; Keras then
    validates and the checkpointer saves, so nothing trained is lost.

    Args:
        progress: called with ``(steps done, total steps)`` after each batch.
        stop: stop flag (``is_set()``).
        steps_per_epoch: steps in one epoch.
        total_steps: steps of the whole run.
        deadline: ``time.monotonic()`` value after which training stops.
    """

    def __init__(
        self,
        progress: ProgressFn | None,
        stop: StopFlag | None,
        steps_per_epoch: int,
        total_steps: int,
        deadline: float | None = None,
    ) -> None:
        super().__init__()
        self.progress = progress
        self.stop = stop
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = total_steps
        self.deadline = deadline
        self.epoch = 0
        self._epoch_start = time.monotonic()
        self.cancelled = False
        self.out_of_time = False

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Remember the epoch for step counting and timing."""
        self.epoch = epoch
        self._epoch_start = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Add the epoch's learning rate and duration to the logs (and CSV)."""
        if logs is not None:
            lr = self.model.optimizer.learning_rate
            logs["lr"] = float(keras.ops.convert_to_numpy(lr))
            logs["epoch_time_s"] = round(time.monotonic() - self._epoch_start, 3)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Progress, then stop if asked to or out of time."""
        if self.progress is not None:
            done = self.epoch * self.steps_per_epoch + batch + 1
            try:
                self.progress(min(done, self.total_steps), self.total_steps)
            except Cancelled:  # a job's progress that checks the stop flag
                self.cancelled = True
                self.model.stop_training = True
        if self.stop is not None and self.stop.is_set():
            self.cancelled = True
            self.model.stop_training = True
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.out_of_time = True
            self.model.stop_training = True


class Schedule(keras.callbacks.Callback):
    """Reduce the learning rate on a plateau and stop early, with saveable state.

    Args:
        optim: an ``OptimConfig``.
        monitor: the log key to watch (``val_loss`` or ``loss``).
        state: counters from an interrupted run to continue from.
    """

    def __init__(self, optim, monitor: str, state: dict | None = None) -> None:
        super().__init__()
        self.optim = optim
        self.monitor = monitor
        self.state = {"best": math.inf, "plateau_wait": 0, "stop_wait": 0}
        if state:
            self.state.update({k: state[k] for k in self.state if k in state})

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Update the counters; cut the rate or stop when patience runs out."""
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        st, o = self.state, self.optim
        if value < st["best"] - o.plateau_min_delta:
            st["plateau_wait"] = 0
        else:
            st["plateau_wait"] += 1
        if value < st["best"] - o.early_stopping_min_delta:
            st["stop_wait"] = 0
        else:
            st["stop_wait"] += 1
        st["best"] = min(st["best"], float(value))
        if st["plateau_wait"] >= o.plateau_patience:
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            new = max(lr * o.plateau_factor, o.min_learning_rate)
            if new < lr:
                self.model.optimizer.learning_rate = new
            st["plateau_wait"] = 0
        if o.early_stopping and st["stop_wait"] >= o.early_stopping_patience:
            self.model.stop_training = True


def save_keras_atomic(model: keras.Model, path: Path) -> None:
    """Save a ``.keras`` file beside ``path``, then rename it into place."""
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)


def write_json_atomic(path: Path, data: dict) -> None:
    """Write JSON beside ``path``, then rename it into place."""
    write_text(path, json.dumps(data, indent=1))


class Checkpoint(keras.callbacks.Callback):
    """Save the best model for inference and the last one for resuming.

    Every epoch: ``resume/last.keras`` (compiled, with optimizer state) and
    ``resume/state.json``. On a new best ``monitor`` value: ``best.keras``
    (outputs by head kind, uncompiled) and ``model_info.json``. Each file is
    written beside its target and renamed, so a kill never leaves a torn file.

    Args:
        model_dir: the model folder.
        save_best: writes the inference model and model info.
        monitor: log key deciding "best".
        schedule: the schedule whose counters are saved with the state.
        state: state of an interrupted run (``best`` so far).
        extra_state: more fields for ``state.json`` (config hash).
    """

    def __init__(
        self,
        model_dir: Path,
        save_best: Callable[[], None],
        monitor: str,
        schedule: Schedule,
        state: dict | None = None,
        extra_state: dict | None = None,
    ) -> None:
        super().__init__()
        self.model_dir = Path(model_dir)
        self.resume_dir = self.model_dir / "resume"
        self.save_best = save_best
        self.monitor = monitor
        self.schedule = schedule
        self.best = (state or {}).get("best_saved", math.inf)
        self.best_epoch = (state or {}).get("best_epoch")
        self.extra_state = dict(extra_state or {})

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Save best (if improved), then the resumable model and state."""
        value = (logs or {}).get(self.monitor)
        if value is not None and math.isfinite(value) and value < self.best:
            self.best, self.best_epoch = float(value), epoch
            self.save_best()
        self.resume_dir.mkdir(exist_ok=True)
        save_keras_atomic(self.model, self.resume_dir / LAST_FILE)
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        state = {
            **self.extra_state,
            "status": "running",
            "epoch": epoch + 1,
            "best_saved": self.best,
            "best_epoch": self.best_epoch,
            "learning_rate": lr,
            **self.schedule.state,
        }
        write_json_atomic(self.resume_dir / STATE_FILE, state)


class EpochPrinter(keras.callbacks.Callback):
    """One line per epoch on stderr: losses, learning rate and time."""

    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.epochs = epochs
        self._start = time.monotonic()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Start the epoch's clock."""
        self._start = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Print the epoch summary."""
        logs = logs or {}
        parts = [f"{k} {v:.5g}" for k, v in logs.items() if k.endswith("loss")]
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        sys.stderr.write(
            f"\nepoch {epoch + 1}/{self.epochs}: {', '.join(parts)}, lr {lr:.2g} "
            f"({time.monotonic() - self._start:.1f} s)\n"
        )
        sys.stderr.flush()
