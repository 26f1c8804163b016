"""One list of model roles: every table keyed by role agrees with it."""

from __future__ import annotations

import pytest

from napari_sleap.config.model import ROLE_HEADS
from napari_sleap.config.roles import (
    CENTERED_ROLES,
    PIPELINES,
    ROLES,
    SLEAP1_HEAD_ROLES,
    pipeline_of,
)
from napari_sleap.config.training import TrainingConfig
from napari_sleap.nn.model_info import ROLES as INFO_ROLES


def test_every_role_table_uses_the_one_list() -> None:
    assert set(ROLE_HEADS) == set(ROLES)
    assert INFO_ROLES is ROLES
    assert set(CENTERED_ROLES) <= set(ROLES)
    assert set(SLEAP1_HEAD_ROLES.values()) == set(ROLES)
    assert {r for roles in PIPELINES.values() for r in roles} == set(ROLES)


@pytest.mark.parametrize("name", list(PIPELINES))
def test_pipeline_of_finds_each_pipeline_in_any_order(name: str) -> None:
    assert pipeline_of(PIPELINES[name]) == name
    assert pipeline_of(reversed(PIPELINES[name])) == name


def test_pipeline_of_rejects_incomplete_or_mixed_sets() -> None:
    assert pipeline_of(["centroid"]) is None
    assert pipeline_of(["centered_instance"]) is None
    assert pipeline_of(["centroid", "centered_instance", "bottom_up"]) is None
    assert pipeline_of([]) is None


def test_a_config_refuses_a_role_outside_the_list() -> None:
    from napari_sleap.config.base import ConfigError, from_dict

    with pytest.raises(ConfigError, match="role"):
        from_dict(TrainingConfig, {"role": "centroids"})
