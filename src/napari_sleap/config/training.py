"""The full training config of one model, pipelines, and the built-in profiles.

A pipeline (``top-down``) is made of model roles (``centroid``,
``centered_instance``); each role has a built-in profile
(``config/profiles/<role>.yaml``) so a user only names the pipeline. User
overrides are a partial YAML mapping applied on top: keys named after a role
apply to that role only, the rest to every role.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from napari_sleap.config.augment import AugmentConfig
from napari_sleap.config.base import ConfigError, from_dict, to_dict, update
from napari_sleap.config.data import DataConfig
from napari_sleap.config.model import ModelConfig
from napari_sleap.config.negatives import check_negatives_role
from napari_sleap.config.optim import OptimConfig
from napari_sleap.config.pose_balance import check_pose_balance_role
from napari_sleap.config.roles import PIPELINES, Role
from napari_sleap.config.self_train import SelfTrainConfig

PROFILES_DIR = Path(__file__).parent / "profiles"


@dataclass
class TrainingConfig:
    """Everything that decides how one model is trained.

    Attributes:
        role: the model role (``centroid``, ``centered_instance``, ...).
        model: backbone and heads.
        data: inputs, crops, scaling and the train/validation split.
        augment: random augmentation of training examples.
        optim: optimizer, schedule, stopping, budget.
        self_train: pseudo-labels from unlabeled frames (centered-instance
            models of top-down pipelines).
        seed: seeds Python, numpy, TensorFlow and the data order; the same
            config and seed retrain the same model.
        deterministic: also make TensorFlow ops deterministic (slower).
    """

    role: Role = "centered_instance"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    self_train: SelfTrainConfig = field(default_factory=SelfTrainConfig)
    seed: int = 0
    deterministic: bool = False


def load_profile(role: str) -> TrainingConfig:
    """The built-in config of ``role``."""
    path = PROFILES_DIR / f"{role}.yaml"
    if not path.exists():
        allowed = sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))
        raise ConfigError("role", f"{role!r} has no profile; allowed: {allowed}")
    data = yaml.safe_load(path.read_text()) or {}
    try:
        return from_dict(TrainingConfig, {**data, "role": role})
    except ConfigError as err:  # a broken built-in profile is our bug: say where
        raise ConfigError("", f"{path}: {err}") from err


def read_overrides(path: str | Path) -> dict[str, Any]:
    """Read an overrides YAML file (a partial config mapping)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"config file {path} not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError("", f"{path}: not valid YAML ({err})") from err
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            "", f"{path}: expected a mapping of config keys, got {type(data).__name__}"
        )
    return dict(data)


#: Share of a pipeline's time budget per role (others weigh 1). Measured on the
#: fly clip (docs/benchmarks.md): the centroid's validation loss flattens after
#: ~1,000 steps while the centered-instance model still improves at 5,000.
BUDGET_WEIGHT = {"centroid": 1.0, "centered_instance": 3.0, "centered_instance_id": 3.0}


def pipeline_configs(
    pipeline: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    seed: int | None = None,
    max_minutes: float | None = None,
    source: str = "overrides",
) -> dict[str, TrainingConfig]:
    """The config of every model ``pipeline`` trains, profiles + overrides.

    Args:
        pipeline: one of ``PIPELINES``.
        overrides: partial config; top-level keys named after a role of the
            pipeline apply to that role only.
        seed: overrides ``seed`` of every role.
        max_minutes: total wall-clock budget, shared by the roles by
            ``BUDGET_WEIGHT`` (a centroid model learns its task in a quarter of
            the time its centered-instance partner needs).
        source: name of the overrides in errors (the file path).

    Raises:
        ConfigError: naming the key path and the allowed values.
    """
    if pipeline not in PIPELINES:
        raise ConfigError(
            "pipeline",
            f"{pipeline!r} is not a pipeline; allowed: {', '.join(PIPELINES)}",
        )
    roles = PIPELINES[pipeline]
    overrides = dict(overrides or {})
    per_role = {r: overrides.pop(r) for r in list(overrides) if r in roles}
    stray = [k for k in overrides if k in PIPELINES or k in _all_roles()]
    if stray:
        raise ConfigError(
            stray[0],
            f"role {stray[0]!r} is not part of pipeline {pipeline!r} "
            f"(its roles: {', '.join(roles)})",
        )
    if "role" in overrides:
        raise ConfigError("role", "set by the pipeline; remove it from the overrides")
    out = {}
    for role in roles:
        cfg = load_profile(role)
        try:
            cfg = update(cfg, overrides)
            extra = per_role.get(role) or {}
            if not isinstance(extra, Mapping):
                raise ConfigError(role, "expected a mapping of config keys")
            cfg = update(cfg, extra, role if extra else "")
            check_negatives_role(role, cfg.optim.other_instance_negatives)
            check_pose_balance_role(role, cfg.optim.pose_balanced_sampling)
        except ConfigError as err:
            raise ConfigError("", f"{source}: {err}") from err
        if seed is not None:
            cfg.seed = int(seed)
        if max_minutes is not None:
            total = sum(BUDGET_WEIGHT.get(r, 1.0) for r in roles)
            cfg.optim.max_minutes = (
                float(max_minutes) * BUDGET_WEIGHT.get(role, 1.0) / total
            )
        out[role] = cfg
    return out


def config_dict(cfg: TrainingConfig) -> dict[str, Any]:
    """Plain YAML-ready data of a config."""
    return to_dict(cfg)


def _all_roles() -> tuple[str, ...]:
    return tuple(r for roles in PIPELINES.values() for r in roles)
