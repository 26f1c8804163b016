"""Training on several GPUs: ``--gpus all|N`` picks a ``tf.distribute`` strategy.

Over several GPUs the models train under ``tf.distribute.MirroredStrategy``
(one replica per GPU, gradients all-reduced) with the batch scaled by the
number of replicas, so each GPU sees the batch the profile was tuned for.
With one GPU, or none, training runs exactly as without ``--gpus`` (and says
so on a CPU-only machine).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class DistributeChoice:
    """The strategy chosen for ``--gpus`` and what to tell the user.

    Attributes:
        strategy: a ``tf.distribute.Strategy``, or None for TensorFlow's default
            (one device, exactly as without ``--gpus``).
        replicas: model replicas trained in step (the batch factor).
        devices: the devices used.
        message: one line for the terminal ("" when nothing was asked).
    """

    strategy: Any = None
    replicas: int = 1
    devices: list[str] = field(default_factory=list)
    message: str = ""

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        """Build, compile and fit models inside this to use the strategy."""
        if self.strategy is None:
            yield
            return
        with self.strategy.scope():
            yield


def parse_gpus(value: str | int | None) -> int | str | None:
    """``all``, a positive count, or None (``0``/absent: no request)."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text == "all":
        return "all"
    try:
        n = int(text)
    except ValueError:
        raise ValueError(
            f"--gpus {value!r}: give 'all' or a number of GPUs (e.g. --gpus 2)"
        ) from None
    if n < 0:
        raise ValueError(f"--gpus {value}: must be 'all' or a count >= 0")
    return n or None


def select_strategy(
    gpus: str | int | None, devices: Sequence[str] | None = None
) -> DistributeChoice:
    """The strategy for ``--gpus``: MirroredStrategy over 2+ GPUs, else default.

    Args:
        gpus: ``"all"``, a count, or None.
        devices: the GPU devices to choose from (default: TensorFlow's logical
            GPUs); tests pass logical CPU devices to run the mirrored path.

    Raises:
        ValueError: more GPUs asked for than are visible (naming both counts).
    """
    want = parse_gpus(gpus)
    if want is None:
        return DistributeChoice()
    if devices is None:
        import tensorflow as tf

        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
    devices = list(devices)
    if not devices:
        return DistributeChoice(
            message=f"--gpus {gpus}: no GPU is visible here; training on the CPU "
            "as before"
        )
    n = len(devices) if want == "all" else want
    if n > len(devices):
        raise ValueError(
            f"--gpus {gpus}: only {len(devices)} GPU(s) visible "
            f"({', '.join(devices)}); ask for at most {len(devices)} or 'all'"
        )
    chosen = devices[:n]
    if n == 1:
        return DistributeChoice(
            devices=chosen, message=f"training on one GPU ({chosen[0]})"
        )
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy(chosen)
    return DistributeChoice(
        strategy,
        strategy.num_replicas_in_sync,
        chosen,
        f"MirroredStrategy over {n} devices ({', '.join(chosen)}): batch size "
        f"x{strategy.num_replicas_in_sync} (same batch per device)",
    )


def scaled_overrides(
    pipeline: str,
    overrides: Mapping[str, Any] | None,
    replicas: int,
    *,
    seed: int | None = None,
    max_minutes: float | None = None,
) -> dict[str, Any]:
    """``overrides`` plus each role's batch size times ``replicas``.

    The per-role batch comes from the resolved config (profile + overrides),
    so every model of the pipeline keeps its own per-device batch.
    """
    from napari_sleap.config.training import pipeline_configs

    out = copy.deepcopy(dict(overrides or {}))
    if replicas <= 1:
        return out
    configs = pipeline_configs(pipeline, out, seed=seed, max_minutes=max_minutes)
    for role, cfg in configs.items():
        section = dict(out.get(role) or {})
        optim = dict(section.get("optim") or {})
        optim["batch_size"] = cfg.optim.batch_size * replicas
        section["optim"] = optim
        out[role] = section
    return out


def gpu_setup(
    gpus: str | int | None,
    pipeline: str,
    overrides: Mapping[str, Any] | str | Any | None,
    *,
    seed: int | None = None,
    max_minutes: float | None = None,
    devices: Sequence[str] | None = None,
) -> tuple[Any, DistributeChoice]:
    """What the train command needs for ``--gpus``: overrides and a strategy.

    The overrides (a mapping or a YAML path) come back unchanged unless the
    batch is scaled, so config errors still name the file.
    """
    choice = select_strategy(gpus, devices)
    if choice.replicas <= 1:
        return overrides, choice
    if overrides is not None and not isinstance(overrides, Mapping):
        from napari_sleap.config.training import read_overrides

        overrides = read_overrides(overrides)
    scaled = scaled_overrides(
        pipeline, overrides, choice.replicas, seed=seed, max_minutes=max_minutes
    )
    return scaled, choice
