"""Train every model of a pipeline: the one entry point of the CLI and the GUI.

``train_pipeline`` checks all models (labels, configs, output folders) and
decodes their frames before the first folder is written, then trains each
role into ``out_dir/<role>/``, continuing interrupted ones and skipping
finished ones. It runs as a job target (``napari_sleap.jobs``): it takes
``progress``, ``stop`` and ``emit`` and returns plain data.

On Stop the model in training ends its epoch at the current step and keeps its
best checkpoint; the models after it are not started. :class:`PipelineStopped`
then carries :func:`model_states`, which says which models are usable.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from napari_sleap.config.base import ConfigError
from napari_sleap.config.training import pipeline_configs, read_overrides
from napari_sleap.progress import Cancelled, ProgressFn, StopFlag
from napari_sleap.train.fit import check_out_dir, fit_prepared, training_status
from napari_sleap.train.prepare import load_training_labels, prepare

Emit = Callable[[str, Any], None]
#: Least seconds between two ``step`` events (a live loss point each).
STEP_INTERVAL_S = 0.5
#: The role that can self-train (``train.self_train``).
SELF_TRAIN_ROLE = "centered_instance"
#: What makes a model folder usable for inference.
USABLE_FILES = ("best.keras", "model_info.json")


class PipelineStopped(Cancelled):
    """Training stopped on request; ``states`` says what each model has on disk."""

    def __init__(self, message: str, states: dict[str, dict[str, Any]]) -> None:
        super().__init__(message)
        self.states = states


def model_state(model_dir: str | Path) -> dict[str, Any]:
    """What one model folder holds: status, whether usable, its best epoch and loss.

    Returns:
        ``{"dir", "status" ("done" | "stopped" | "running" | "not started"),
        "usable" (best checkpoint and model info on disk), "best_epoch" (1-based
        or None), "best_loss" (float or None)}``.
    """
    d = Path(model_dir)
    usable = all((d / name).exists() for name in USABLE_FILES)
    state: dict[str, Any] = {}
    path = d / "resume" / "state.json"
    if path.exists():
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            state = {}
    status = training_status(d) or "not started"
    best = state.get("best_saved")
    epoch = state.get("best_epoch")
    return {
        "dir": str(d),
        "status": status,
        "usable": usable,
        "best_epoch": None if epoch is None else int(epoch) + 1,
        "best_loss": float(best) if best is not None and math.isfinite(best) else None,
    }


def model_states(out_dir: str | Path, roles: list[str]) -> dict[str, dict[str, Any]]:
    """:func:`model_state` of every role's folder ``out_dir/<role>``."""
    return {role: model_state(Path(out_dir) / role) for role in roles}


def describe_states(states: Mapping[str, Mapping[str, Any]]) -> str:
    """One line per model: usable (best epoch) or why not, for people."""
    lines = []
    for role, st in states.items():
        if st["usable"]:
            best = (
                f" (best epoch {st['best_epoch']}, loss {st['best_loss']:.4g})"
                if st["best_epoch"] is not None and st["best_loss"] is not None
                else ""
            )
            how = "finished" if st["status"] == "done" else "stopped, best so far"
            lines.append(f"{role}: usable, {how}{best}")
        elif st["status"] == "not started":
            lines.append(f"{role}: not started (Train again trains it)")
        else:
            lines.append(f"{role}: no checkpoint yet (stopped before its first epoch)")
    return "\n".join(lines)


def train_pipeline(
    labels,
    pipeline: str,
    out_dir: str | Path,
    *,
    overrides: Mapping[str, Any] | str | Path | None = None,
    seed: int | None = None,
    max_minutes: float | None = None,
    restart: bool = False,
    progress: ProgressFn | None = None,
    stop: StopFlag | None = None,
    emit: Emit | None = None,
    verbose: bool = False,
    self_train: bool | None = None,
) -> dict[str, str]:
    """Train the models of ``pipeline`` on ``labels`` into ``out_dir/<role>/``.

    Args:
        labels: a ``.slp`` path or sleap-io ``Labels``.
        pipeline: ``single``, ``top-down``, ``bottom-up``, ``top-down-id`` or
            ``bottom-up-id``.
        out_dir: folder for the model folders.
        overrides: partial config (mapping or YAML file) on the profiles.
        seed: seed for every model.
        max_minutes: wall-clock budget for the whole pipeline.
        restart: retrain from scratch instead of continuing / skipping.
        progress: ``progress(done, total)`` steps of the model in training.
        stop: stop flag; raises ``Cancelled`` (rerun to resume).
        emit: receives ``("log", text)``, ``("model", role)`` when a model
            starts, ``("step", {"role", "model", "models", "step", "total",
            "epoch", "loss"})`` at most every :data:`STEP_INTERVAL_S` and
            ``("epoch", {"role", "epoch", **logs})`` after each epoch.
        verbose: print a line per epoch on stderr.
        self_train: turn self-training of the centered-instance model on
            (True) or off (False) over the config (None: as configured);
            top-down pipelines only (``train.self_train``).

    Returns:
        ``{role: model folder}`` for every model of the pipeline.

    Raises:
        PipelineStopped: ``stop`` was set; every model trained so far keeps its
            best checkpoint (see its ``states``).
    """

    def say(text: str) -> None:
        if emit is not None:
            emit("log", text)

    source = None
    if isinstance(overrides, (str, Path)):
        source = str(overrides)
        overrides = read_overrides(overrides)
    configs = pipeline_configs(
        pipeline,
        overrides,
        seed=seed,
        max_minutes=max_minutes,
        source=source or "overrides",
    )
    wanted = bool(self_train) or any(c.self_train.enabled for c in configs.values())
    for role, cfg in configs.items():
        if self_train is not None:
            cfg.self_train.enabled = bool(self_train)
        # Only the crop model of top-down self-trains (pseudo-labels carry no identity).
        cfg.self_train.enabled &= role == SELF_TRAIN_ROLE
    if wanted and SELF_TRAIN_ROLE not in configs:
        raise ConfigError(
            "self_train.enabled",
            f"self-training needs the top-down pipeline (centroid + centered "
            f"instance), not {pipeline!r}; use --pipeline top-down or turn it off",
        )
    labels_path = None
    if isinstance(labels, (str, Path)):
        labels_path = Path(labels)
        labels = load_training_labels(labels_path)
    out = Path(out_dir)
    prepared, plan = {}, {}
    for role, cfg in configs.items():
        prepared[role] = prepare(cfg, labels, labels_path)
        plan[role] = check_out_dir(out / role, prepared[role].config, restart)

    roles = list(prepared)

    def stopped(role: str | None) -> PipelineStopped:
        states = model_states(out, roles)
        where = f" during {role}" if role else " before training"
        return PipelineStopped(
            f"training stopped on request{where}; rerun to resume", states
        )

    cache: dict = {}
    todo = [t for role, t in prepared.items() if plan[role] != "done"]
    if todo:
        n = len({s.key for t in todo for s in (*t.train, *t.val)})
        say(f"decoding {n} labeled frames")
    try:
        for tset in todo:
            tset.load_frames(cache, stop=stop)
    except Cancelled:
        raise stopped(None) from None

    result = {}
    for index, (role, tset) in enumerate(prepared.items()):
        model_dir = out / role
        result[role] = str(model_dir)
        if plan[role] == "done":
            say(f"{role}: already trained in {model_dir} (restart to retrain)")
            continue
        c = tset.config
        verb = "resuming" if plan[role] == "resume" else "training"
        crop = f", crop {c.data.crop_size}" if c.data.crop_size else ""
        say(
            f"{role}: {verb} -> {model_dir} ({len(tset.train)} train / "
            f"{len(tset.val)} val frames, input scale {c.data.input_scale:g}{crop})"
        )
        if emit is not None:
            emit("model", role)

        def on_epoch(epoch: int, logs: dict, role: str = role) -> None:
            if emit is not None:
                emit("epoch", {"role": role, "epoch": epoch, **logs})

        on_step = None
        if emit is not None:
            on_step = _step_emitter(
                emit, role, index, len(roles), tset.config.optim.steps_per_epoch
            )
        if stop is not None and stop.is_set():
            raise stopped(role)
        fit_kw: dict[str, Any] = {
            "progress": progress,
            "stop": stop,
            "restart": restart,
            "verbose": verbose,
            "frame_cache": cache,
            "on_epoch": on_epoch,
            "on_batch": on_step,
        }
        try:
            if c.self_train.enabled:
                from napari_sleap.train.self_train import fit_self_trained

                fit_self_trained(tset, model_dir, out / "centroid", say=say, **fit_kw)
            else:
                fit_prepared(tset, model_dir, **fit_kw)
        except Cancelled:
            raise stopped(role) from None
        say(f"{role}: best model in {model_dir}")
    return result


def _step_emitter(
    emit: Emit, role: str, index: int, n_models: int, steps_per_epoch: int
) -> Callable[[int, int, dict], None]:
    """``on_batch`` for :func:`fit_prepared` that sends throttled ``step`` events."""
    last = [-math.inf]

    def on_step(step: int, total: int, logs: dict) -> None:
        now = time.monotonic()
        if step < total and now - last[0] < STEP_INTERVAL_S:  # read late: tests set it
            return
        last[0] = now
        try:
            loss = float(logs["loss"])
        except (KeyError, TypeError, ValueError):
            return
        emit(
            "step",
            {
                "role": role,
                "model": index + 1,
                "models": n_models,
                "step": int(step),
                "total": int(total),
                "epoch": step / max(steps_per_epoch, 1),
                "loss": loss,
            },
        )

    return on_step
