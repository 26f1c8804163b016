"""The model roles, the pipelines they form and SLEAP 1.x's names for them.

The one list of roles: configs, model folders (``model_info.json``), training,
inference and the docks all take their role names from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

Role = Literal[
    "single_instance",
    "centroid",
    "centered_instance",
    "centered_instance_id",
    "bottom_up",
    "bottom_up_id",
]
#: Every model role a pipeline is assembled from.
ROLES: tuple[str, ...] = get_args(Role)

#: Roles whose model sees a crop centred on one instance (top-down's second stage).
CENTERED_ROLES: tuple[str, ...] = ("centered_instance", "centered_instance_id")


def require_centered_role(role: str, enabled: bool, key: str, why: str) -> None:
    """Refuse an option that only a centered-instance model can use.

    Raises:
        ConfigError: ``enabled`` on a role outside :data:`CENTERED_ROLES`; the
            message names ``key``, says ``why`` and where the option belongs.
    """
    from napari_sleap.config.base import ConfigError

    if enabled and role not in CENTERED_ROLES:
        raise ConfigError(
            key,
            f"only centered-instance models {why}, not {role!r}; put it under "
            "centered_instance: in the config",
        )


#: The model roles each pipeline trains, in training order.
PIPELINES: dict[str, tuple[str, ...]] = {
    "single": ("single_instance",),
    "top-down": ("centroid", "centered_instance"),
    "bottom-up": ("bottom_up",),
    "top-down-id": ("centroid", "centered_instance_id"),
    "bottom-up-id": ("bottom_up_id",),
}

#: SLEAP 1.x head config names -> our roles.
SLEAP1_HEAD_ROLES: dict[str, str] = {
    "single_instance": "single_instance",
    "centroid": "centroid",
    "centered_instance": "centered_instance",
    "multi_instance": "bottom_up",
    "multi_class_topdown": "centered_instance_id",
    "multi_class_bottomup": "bottom_up_id",
}


def pipeline_of(roles: Iterable[str]) -> str | None:
    """The pipeline whose models are exactly ``roles`` (any order), else None."""
    wanted = sorted(roles)
    for name, pipeline_roles in PIPELINES.items():
        if sorted(pipeline_roles) == wanted:
            return name
    return None
