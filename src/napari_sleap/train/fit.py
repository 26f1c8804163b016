"""Train one model into a model folder: ``fit(config, labels, out_dir)``.

The folder gets ``config.yaml`` (fully resolved), ``split.json``,
``training_log.csv``, and, at every new best validation loss,
``best.keras`` + ``model_info.json``. ``resume/`` holds the last epoch's
model with its optimizer state; running ``fit`` again on an unfinished
folder continues from there.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from napari_sleap.config.base import save_yaml, to_dict
from napari_sleap.config.training import TrainingConfig
from napari_sleap.nn.model_info import INFO_FILE
from napari_sleap.progress import Cancelled, ProgressFn, StopFlag, check_stop
from napari_sleap.train.prepare import TrainingSet, load_training_labels, prepare


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite: the weights are lost, so training stops."""


CONFIG_FILE = "config.yaml"
SPLIT_FILE = "split.json"
LOG_FILE = "training_log.csv"
#: Settings that may change between an interrupted run and its resumption.
_RESUMABLE_CHANGES = ("max_minutes", "epochs")


def config_hash(cfg: TrainingConfig) -> str:
    """Fingerprint of a resolved config, ignoring budget and epoch count."""
    data = to_dict(cfg)
    for key in _RESUMABLE_CHANGES:
        data["optim"].pop(key, None)
    if not data["optim"].get("other_instance_negatives", {}).get("enabled"):
        data["optim"].pop("other_instance_negatives", None)  # folders from before it
    if not data["optim"].get("pose_balanced_sampling", {}).get("enabled"):
        data["optim"].pop("pose_balanced_sampling", None)  # folders from before it
    if not data["data"]["split"].get("train_on_val"):
        data["data"]["split"].pop("train_on_val", None)  # folders from before it
    if data["data"].get("train_patch_size") is None:
        data["data"].pop("train_patch_size", None)  # folders from before it
    if not data.get("self_train", {}).get("enabled"):
        # Off, self-training changes nothing: folders trained before it existed resume.
        data.pop("self_train", None)
    if not data["augment"].get("copy_paste_probability"):
        # Off, copy-paste changes nothing: folders trained before it existed resume.
        for key in [k for k in data["augment"] if k.startswith("copy_paste_")]:
            data["augment"].pop(key)
    text = yaml.safe_dump(data, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def training_status(model_dir: str | Path) -> str | None:
    """``running`` (interrupted), ``stopped``, ``done`` or None (never started)."""
    path = Path(model_dir) / "resume" / "state.json"
    if not path.exists():
        return None
    return json.loads(path.read_text()).get("status")


def fit(
    config: TrainingConfig,
    labels,
    out_dir: str | Path,
    *,
    progress: ProgressFn | None = None,
    stop: StopFlag | None = None,
    restart: bool = False,
    verbose: bool = False,
    on_epoch: Callable[[int, dict], None] | None = None,
) -> Path:
    """Train the model ``config.role`` on ``labels`` into ``out_dir``.

    Args:
        config: the training config (derived values may be unset).
        labels: a sleap-io ``Labels`` or the path of a ``.slp`` file.
        out_dir: the model folder to write.
        progress: ``progress(steps done, total steps)``.
        stop: stop flag; when set, training ends after the current batch,
            the best model so far stays and :class:`Cancelled` is raised.
        restart: ignore an interrupted run in ``out_dir`` and start over.
        verbose: print a line per epoch on stderr.
        on_epoch: called with ``(epoch, logs)`` after each epoch (losses,
            ``lr``, ``epoch_time_s``), e.g. to draw loss curves in the GUI.

    Returns:
        ``out_dir``.
    """
    labels_path = None
    if isinstance(labels, (str, Path)):
        labels_path = Path(labels)
        labels = load_training_labels(labels_path)
    tset = prepare(config, labels, labels_path)
    return fit_prepared(
        tset,
        out_dir,
        progress=progress,
        stop=stop,
        restart=restart,
        verbose=verbose,
        on_epoch=on_epoch,
    )


def fit_prepared(
    tset: TrainingSet,
    out_dir: str | Path,
    *,
    progress: ProgressFn | None = None,
    stop: StopFlag | None = None,
    restart: bool = False,
    verbose: bool = False,
    frame_cache: dict | None = None,
    on_epoch: Callable[[int, dict], None] | None = None,
    on_batch: Callable[[int, int, dict], None] | None = None,
    init_from: str | Path | None = None,
) -> Path:
    """Train a prepared :class:`TrainingSet` (see :func:`fit`).

    ``frame_cache`` shares decoded frames between the models of a pipeline;
    ``on_batch(step, total, logs)`` sees every training step (live loss curves);
    ``init_from`` (a ``.keras`` file of the same model) gives a new training its
    starting weights (fine-tuning; a resumed one continues its own).
    """
    import keras
    import tensorflow as tf

    from napari_sleap.nn.data.examples import ExampleMaker
    from napari_sleap.nn.data.pipeline import make_dataset, materialize
    from napari_sleap.nn.model import build_model, output_names
    from napari_sleap.train import callbacks as cb
    from napari_sleap.train.copy_paste import contact_paster
    from napari_sleap.train.split import save_split

    cfg, info = tset.config, tset.info
    out = Path(out_dir)
    resume_dir = out / "resume"
    chash = config_hash(cfg)

    # Decode frames before anything is written, so unreadable videos fail clean.
    t0 = time.monotonic()
    tset.load_frames(frame_cache, stop=stop)
    check_stop(stop)

    state = _resume_state(out, chash, restart)
    if state and state.get("status") == "done":
        return out
    if restart and out.exists():
        for name in ("resume", "best.keras", INFO_FILE, LOG_FILE):
            path = out / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)

    keras.utils.set_random_seed(cfg.seed)
    if cfg.deterministic:
        tf.config.experimental.enable_op_determinism()

    stacks = cfg.model.backbone.stacks
    model = build_model(cfg.model, info, intermediate_outputs=stacks > 1)
    initial_epoch = 0
    if state:
        # A fresh process must register the training losses before reloading.
        import napari_sleap.train.losses  # noqa: F401

        model = keras.models.load_model(resume_dir / cb.LAST_FILE, safe_mode=True)
        initial_epoch = int(state["epoch"])
    else:
        _compile(model, cfg, info)
        if init_from is not None:
            _copy_weights(model, Path(init_from))
    names = output_names(model)
    final = keras.Model(
        model.input,
        {k: v for k, v in model.output.items() if k in info.heads},
        name=info.role,
    )

    save_yaml(cfg, out / CONFIG_FILE)
    videos = [str(v.filename) for v in tset.labels.videos]
    val_videos = [str(v.filename) for v in tset.val_labels.videos]
    save_split(
        out / SPLIT_FILE, cfg.data.split, videos, tset.train, tset.val, val_videos
    )

    def save_best() -> None:
        cb.save_keras_atomic(final, out / info.keras_file)
        info.save(out)

    negatives = cfg.optim.other_instance_negatives
    negatives = negatives if negatives.enabled else None
    maker = ExampleMaker(
        info,
        tset.frame_shape,
        cfg.augment,
        tset.flip_permutation,
        negatives,
        paste=contact_paster(tset, cfg.augment),  # copy-paste; None when off
        patch_size=cfg.data.train_patch_size,  # validation sees whole frames
    )
    val_maker = ExampleMaker(info, tset.frame_shape, negatives=negatives)
    o = cfg.optim
    train_ds = make_dataset(
        maker,
        tset.train,
        tset.frame,
        o.batch_size,
        seed=cfg.seed,
        output_names=names,
        start_epoch=initial_epoch,
        threads=cfg.data.threads,
        weights=_pose_weights(cfg, maker, tset.train),
    )
    val_ds = None
    monitor = "loss"
    if tset.val:
        x, y = materialize(val_maker, tset.val, lambda s: tset.frame(s, val=True))
        y = {n: y[n.split("_stack")[0]] for n in names}
        val_ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(o.batch_size)
        if o.val_batches:
            val_ds = val_ds.take(o.val_batches)
        monitor = "val_loss"

    total = o.epochs * o.steps_per_epoch
    deadline = None
    if o.max_minutes is not None:
        deadline = t0 + 60.0 * o.max_minutes
    control = cb.JobControl(progress, stop, o.steps_per_epoch, total, deadline)
    schedule = cb.Schedule(o, monitor, state)
    checkpoint = cb.Checkpoint(
        out, save_best, monitor, schedule, state, {"config_hash": chash}
    )
    guard = _NonFiniteLoss(o.steps_per_epoch)
    callbacks = [
        guard,
        control,
        schedule,
        checkpoint,
        keras.callbacks.CSVLogger(str(out / LOG_FILE), append=bool(state)),
    ]
    if verbose:
        callbacks.append(cb.EpochPrinter(o.epochs))
    if on_epoch is not None:
        callbacks.append(
            keras.callbacks.LambdaCallback(
                on_epoch_end=lambda e, logs: on_epoch(e, dict(logs or {}))
            )
        )
    if on_batch is not None:
        callbacks.append(
            keras.callbacks.LambdaCallback(
                on_train_batch_end=lambda b, logs: on_batch(
                    control.epoch * o.steps_per_epoch + b + 1, total, dict(logs or {})
                )
            )
        )
    if initial_epoch < o.epochs and not control.out_of_time:
        model.fit(
            train_ds,
            epochs=o.epochs,
            steps_per_epoch=o.steps_per_epoch,
            initial_epoch=initial_epoch,
            validation_data=val_ds,
            callbacks=callbacks,
            shuffle=False,  # the dataset shuffles itself, reproducibly
            verbose=0,
        )
    if guard.step is not None:
        _forget_diverged(out, resume_dir)
        raise TrainingDiverged(
            f"training of {info.role} in {out} diverged: the loss became "
            f"{guard.value} at step {guard.step} (learning rate "
            f"{o.learning_rate:g}). Nothing was marked trained. Fix: lower "
            "optim.learning_rate in the --config YAML (e.g. to a tenth), check "
            "the labels for points far outside the frame, and run train again"
        )
    status = "stopped" if control.cancelled else "done"
    _set_status(resume_dir, status, remove_last=status == "done")
    if control.cancelled:
        raise Cancelled(f"training of {info.role} stopped on request; rerun to resume")
    return out


def _pose_weights(cfg: TrainingConfig, maker, samples):
    """Draw probabilities of the training examples under pose-balanced sampling.

    None when ``optim.pose_balanced_sampling`` is off (each example once a pass).
    """
    import numpy as np

    from napari_sleap.nn.data.pose_balance import pose_sampling_weights

    pb = cfg.optim.pose_balanced_sampling
    if not pb.enabled:
        return None
    items = maker.items(samples)
    if not items:
        return None
    return pose_sampling_weights(
        np.stack([samples[i].points[k] for i, k in items]),
        maker.anchor,
        strength=pb.strength,
        neighbors=pb.neighbors,
        max_ratio=pb.max_ratio,
    )


def _non_finite_loss_callback():
    import keras

    class NonFiniteLoss(keras.callbacks.Callback):
        """Stop at the first batch whose loss is NaN or infinite; remember where."""

        def __init__(self, steps_per_epoch: int) -> None:
            super().__init__()
            self.steps_per_epoch = steps_per_epoch
            self.epoch = 0
            self.step: int | None = None
            self.value: float | None = None

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch = epoch

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            loss = (logs or {}).get("loss")
            if loss is None or self.step is not None:
                return
            value = float(loss)
            if not math.isfinite(value):
                self.step = self.epoch * self.steps_per_epoch + batch + 1
                self.value = value
                self.model.stop_training = True

    return NonFiniteLoss


def _NonFiniteLoss(steps_per_epoch: int):  # noqa: N802 - builds a keras callback
    """A callback stopping training at a non-finite loss (keras imported lazily)."""
    return _non_finite_loss_callback()(steps_per_epoch)


def _forget_diverged(out: Path, resume_dir: Path) -> None:
    """Drop the resume state (its weights are NaN) so a rerun starts afresh."""
    shutil.rmtree(resume_dir, ignore_errors=True)


def _copy_weights(model, path: Path) -> None:
    """Set ``model``'s layers to the weights of the same-named layers in ``path``."""
    import keras

    source = keras.models.load_model(path, safe_mode=True, compile=False)
    by_name = {layer.name: layer for layer in source.layers}
    copied = 0
    for layer in model.layers:
        src = by_name.get(layer.name)
        if src is not None and layer.weights:
            layer.set_weights(src.get_weights())
            copied += 1
    if not copied:
        raise ValueError(f"{path}: no layer matches the model to fine-tune")


def _compile(model, cfg: TrainingConfig, info) -> None:
    """Adam and the heads' losses (hard keypoint mining on confmaps if enabled)."""
    import keras
    import tensorflow as tf

    from napari_sleap.nn.heads import output_kind
    from napari_sleap.nn.model import loss_spec
    from napari_sleap.train.losses import HardKeypointMiningLoss, NegativeWeightedMSE

    losses, weights = loss_spec(model, cfg.model, info)
    mining = cfg.optim.hard_keypoint_mining
    if mining.enabled:
        for name in losses:
            if output_kind(name) == "confmaps":
                losses[name] = HardKeypointMiningLoss(
                    mining.hard_to_easy_ratio,
                    mining.min_hard_keypoints,
                    mining.max_hard_keypoints,
                    mining.loss_scale,
                )
    if cfg.optim.other_instance_negatives.enabled:
        for name in losses:
            if output_kind(name) == "confmaps":
                losses[name] = NegativeWeightedMSE()
    gpu = bool(tf.config.list_physical_devices("GPU"))
    model.compile(
        optimizer=keras.optimizers.Adam(cfg.optim.learning_rate),
        loss=losses,
        loss_weights=weights,
        # XLA made training slower on the 2-core CPU it was measured on.
        jit_compile="auto" if gpu else False,
    )


def check_out_dir(out_dir: str | Path, config: TrainingConfig, restart: bool) -> str:
    """What training into ``out_dir`` would do: ``new``, ``resume`` or ``done``.

    Raises:
        ValueError: ``out_dir`` holds a training with another config.
    """
    state = _resume_state(Path(out_dir), config_hash(config), restart)
    if not state:
        return "new"
    return "done" if state.get("status") == "done" else "resume"


def _resume_state(out: Path, chash: str, restart: bool) -> dict | None:
    """State of an interrupted (or finished) run in ``out`` to continue from."""
    from napari_sleap.train.callbacks import LAST_FILE, STATE_FILE

    path = out / "resume" / STATE_FILE
    if restart or not path.exists():
        return None
    state = json.loads(path.read_text())
    if state.get("config_hash") != chash:
        raise ValueError(
            f"{out} holds a training with a different config (or data split); "
            "choose another output folder, or pass restart=True (--restart) to "
            "overwrite it"
        )
    if state.get("status") != "done" and not (out / "resume" / LAST_FILE).exists():
        return None
    return state


def _set_status(resume_dir: Path, status: str, remove_last: bool) -> None:
    from napari_sleap.train.callbacks import LAST_FILE, STATE_FILE, write_json_atomic

    path = resume_dir / STATE_FILE
    state = json.loads(path.read_text()) if path.exists() else {}
    state["status"] = status
    resume_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, state)
    if remove_last:
        (resume_dir / LAST_FILE).unlink(missing_ok=True)
