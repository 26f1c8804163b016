"""The ``optim.pose_balanced_sampling`` switch: where it may be set, bad values."""

from __future__ import annotations

import pytest

from napari_sleap.config.base import ConfigError
from napari_sleap.config.training import pipeline_configs

ON = {"optim": {"pose_balanced_sampling": {"enabled": True}}}


def test_profile_turns_it_on_for_the_centered_instance_model_only():
    cfgs = pipeline_configs("top-down")
    assert cfgs["centered_instance"].optim.pose_balanced_sampling.enabled
    assert not cfgs["centroid"].optim.pose_balanced_sampling.enabled
    off = {"optim": {"pose_balanced_sampling": {"enabled": False}}}
    cfg = pipeline_configs("top-down", {"centered_instance": off})
    assert not cfg["centered_instance"].optim.pose_balanced_sampling.enabled


def test_switch_on_a_whole_frame_model_names_the_key_and_the_fix():
    with pytest.raises(ConfigError) as err:
        pipeline_configs("top-down", ON, source="my.yaml")  # centroid too
    text = str(err.value)
    assert "my.yaml" in text and "optim.pose_balanced_sampling.enabled" in text
    assert "'centroid'" in text and "centered_instance:" in text


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ({"strength": -1.0}, "pose_balanced_sampling.strength"),
        ({"strength": float("inf")}, "pose_balanced_sampling.strength"),
        ({"neighbors": 0}, "pose_balanced_sampling.neighbors"),
        ({"max_ratio": 0.5}, "pose_balanced_sampling.max_ratio"),
        ({"enabled": "yes"}, "pose_balanced_sampling.enabled"),
        ({"strenght": 2.0}, "strenght"),
    ],
)
def test_bad_values_name_the_key(value, key):
    bad = {"optim": {"pose_balanced_sampling": {"enabled": True, **value}}}
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        pipeline_configs("top-down", {"centered_instance": bad})


def test_switch_off_leaves_the_config_hash_of_older_model_folders():
    from napari_sleap.train.fit import config_hash

    def centered(**pb):
        over = {"optim": {"pose_balanced_sampling": pb}}
        return pipeline_configs("top-down", {"centered_instance": over})

    off = centered(enabled=False)["centered_instance"]
    tuned = centered(enabled=False, strength=3)["centered_instance"]
    on = pipeline_configs("top-down", {"centered_instance": ON})["centered_instance"]
    assert config_hash(off) == config_hash(tuned)
    assert config_hash(on) != config_hash(off)
