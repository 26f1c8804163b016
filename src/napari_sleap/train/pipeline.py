"""Train every model of a pipeline: the one entry point of the CLI and the GUI.

``train_pipeline`` checks all models (labels, configs, output folders) and
decodes their frames before the first folder is written, then trains each
role into ``out_dir/<role>/``, continuing interrupted ones and skipping
finished ones. It runs as a job target (``napari_sleap.jobs``): it takes
``progress``, ``stop`` and ``emit`` and returns plain data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from napari_sleap.config.training import pipeline_configs, read_overrides
from napari_sleap.progress import ProgressFn, StopFlag
from napari_sleap.train.fit import check_out_dir, fit_prepared
from napari_sleap.train.prepare import load_training_labels, prepare

Emit = Callable[[str, Any], None]


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
            starts and ``("epoch", {"role", "epoch", **logs})`` after each epoch.
        verbose: print a line per epoch on stderr.

    Returns:
        ``{role: model folder}`` for every model of the pipeline.
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
    labels_path = None
    if isinstance(labels, (str, Path)):
        labels_path = Path(labels)
        labels = load_training_labels(labels_path)
    out = Path(out_dir)
    prepared, plan = {}, {}
    for role, cfg in configs.items():
        prepared[role] = prepare(cfg, labels, labels_path)
        plan[role] = check_out_dir(out / role, prepared[role].config, restart)

    cache: dict = {}
    todo = [t for role, t in prepared.items() if plan[role] != "done"]
    if todo:
        n = len({s.key for t in todo for s in (*t.train, *t.val)})
        say(f"decoding {n} labeled frames")
    for tset in todo:
        tset.load_frames(cache, stop=stop)

    result = {}
    for role, tset in prepared.items():
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

        fit_prepared(
            tset,
            model_dir,
            progress=progress,
            stop=stop,
            restart=restart,
            verbose=verbose,
            frame_cache=cache,
            on_epoch=on_epoch,
        )
        say(f"{role}: best model in {model_dir}")
    return result
