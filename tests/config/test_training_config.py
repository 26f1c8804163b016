from __future__ import annotations

import pytest

from napari_sleap.config.base import (
    ConfigError,
    from_dict,
    load_yaml,
    save_yaml,
    to_dict,
)
from napari_sleap.config.training import (
    PIPELINES,
    TrainingConfig,
    load_profile,
    pipeline_configs,
    read_overrides,
)


@pytest.mark.parametrize("pipeline", list(PIPELINES))
def test_every_pipeline_has_profiles_for_its_roles(pipeline):
    cfgs = pipeline_configs(pipeline)
    assert tuple(cfgs) == PIPELINES[pipeline]
    for role, cfg in cfgs.items():
        assert cfg.role == role
        assert cfg.augment.rotation_max_angle == 180.0  # animals turn all the way


def test_overrides_apply_to_all_roles_or_to_one():
    cfgs = pipeline_configs(
        "top-down",
        {"optim": {"batch_size": 3}, "centered_instance": {"data": {"crop_size": 160}}},
        seed=7,
        max_minutes=20,
    )
    assert {c.optim.batch_size for c in cfgs.values()} == {3}
    assert cfgs["centered_instance"].data.crop_size == 160
    assert cfgs["centroid"].data.crop_size is None
    assert {c.seed for c in cfgs.values()} == {7}
    # a quarter of the budget to the centroid model, the rest to its partner
    assert cfgs["centroid"].optim.max_minutes == 5.0
    assert cfgs["centered_instance"].optim.max_minutes == 15.0
    # the profile's other settings survive a partial override
    assert cfgs["centroid"].data.max_input_size == 256


@pytest.mark.parametrize(
    ("overrides", "key", "hint"),
    [
        ({"optim": {"batch_sise": 4}}, "optim.batch_sise", "did you mean 'batch_size'"),
        ({"augment": {"flip_probability": 2}}, "flip_probability", "0..1"),
        ({"data": {"split": {"method": "random"}}}, "data.split.method", "'time'"),
        ({"optim": {"epochs": "many"}}, "optim.epochs", "integer"),
        ({"bottom_up": {}}, "bottom_up", "not part of pipeline"),
        ({"role": "centroid"}, "role", "set by the pipeline"),
        ({"data": {"split": {"method": "file"}}}, "val_labels", "val_labels:"),
    ],
)
def test_bad_overrides_name_the_key_and_what_is_allowed(overrides, key, hint):
    with pytest.raises(ConfigError) as err:
        pipeline_configs("top-down", overrides)
    assert key in str(err.value) and hint in str(err.value)


def test_unknown_pipeline_lists_the_choices():
    with pytest.raises(ConfigError, match="allowed: single, top-down"):
        pipeline_configs("sideways")


def test_config_round_trips_through_yaml(tmp_path):
    cfg = load_profile("bottom_up")
    cfg.augment.symmetries = [("wingL", "wingR")]
    path = save_yaml(cfg, tmp_path / "config.yaml")
    again = load_yaml(TrainingConfig, path)
    assert to_dict(again) == to_dict(cfg)
    assert from_dict(TrainingConfig, to_dict(cfg)) == cfg


def test_overrides_file_errors_name_the_file(tmp_path):
    path = tmp_path / "o.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match=str(path)):
        read_overrides(path)
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        read_overrides(tmp_path / "nope.yaml")
