"""The ``optim.other_instance_negatives`` switch: where it may be set, bad values."""

from __future__ import annotations

import pytest

from napari_sleap.config.base import ConfigError
from napari_sleap.config.training import pipeline_configs

ON = {"optim": {"other_instance_negatives": {"enabled": True}}}


def test_switch_applies_to_the_centered_instance_model_only():
    cfgs = pipeline_configs("top-down", {"centered_instance": ON})
    assert cfgs["centered_instance"].optim.other_instance_negatives.enabled
    assert not cfgs["centroid"].optim.other_instance_negatives.enabled


def test_switch_on_a_model_without_crops_names_the_key_and_the_fix():
    with pytest.raises(ConfigError) as err:
        pipeline_configs("top-down", ON, source="my.yaml")  # every role: centroid too
    text = str(err.value)
    assert "my.yaml" in text and "optim.other_instance_negatives.enabled" in text
    assert "'centroid'" in text and "centered_instance:" in text
    with pytest.raises(ConfigError, match="bottom_up"):
        pipeline_configs("bottom-up", ON)


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ({"weight": 0}, "other_instance_negatives.weight"),
        ({"weight": float("nan")}, "other_instance_negatives.weight"),
        ({"sigma": -1.0}, "other_instance_negatives.sigma"),
        ({"wieght": 2.0}, "wieght"),
    ],
)
def test_bad_values_name_the_key(value, key):
    bad = {"optim": {"other_instance_negatives": {"enabled": True, **value}}}
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        pipeline_configs("top-down", {"centered_instance": bad})


def test_switch_and_hard_keypoint_mining_together_are_refused():
    both = {
        "optim": {
            "other_instance_negatives": {"enabled": True},
            "hard_keypoint_mining": {"enabled": True},
        }
    }
    with pytest.raises(ConfigError, match="hard_keypoint_mining"):
        pipeline_configs("top-down", {"centered_instance": both})


def test_switch_off_leaves_the_config_hash_of_older_model_folders():
    from napari_sleap.train.fit import config_hash

    off = pipeline_configs("top-down")["centered_instance"]
    tuned = pipeline_configs(
        "top-down",
        {"centered_instance": {"optim": {"other_instance_negatives": {"weight": 9}}}},
    )["centered_instance"]
    on = pipeline_configs("top-down", {"centered_instance": ON})["centered_instance"]
    assert config_hash(off) == config_hash(tuned)  # off: its settings do not count
    assert config_hash(on) != config_hash(off)
