"""Model config: strict parsing, one-of backbones, YAML, documented defaults."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

import pytest

from napari_sleap.config import model as mc
from napari_sleap.config.base import (
    ConfigError,
    OneOf,
    field_docs,
    from_dict,
    load_yaml,
    save_yaml,
    to_dict,
    update,
)


def _error(data, cls=mc.ModelConfig, key="model") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        from_dict(cls, data, key)
    return info.value


def test_defaults_round_trip() -> None:
    cfg = mc.ModelConfig()
    assert cfg.backbone.choice == "unet"
    assert from_dict(mc.ModelConfig, to_dict(cfg)) == cfg
    assert from_dict(mc.ModelConfig, None) == cfg


def test_unknown_key_names_path_and_allowed_keys() -> None:
    err = _error({"backbone": {"unet": {"filters_rat": 2}}})
    assert err.key == "model.backbone.unet.filters_rat"
    assert "filters_rate" in str(err) and "max_stride" in str(err)
    assert "did you mean 'filters_rate'" in str(err)


def test_literal_value_lists_allowed_values() -> None:
    err = _error({"backbone": {"unet": {"upsampling": "nearest"}}})
    assert err.key == "model.backbone.unet.upsampling"
    assert "'interpolate', 'transposed'" in str(err)
    err = _error({"backbone": {"encoder": {"name": "vgg16"}}})
    assert "resnet50" in str(err) and "convnext_tiny" in str(err)


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        ({"backbone": {"unet": {"filters": "a"}}}, "unet.filters", "integer"),
        ({"backbone": {"unet": {"filters": True}}}, "unet.filters", "integer"),
        ({"backbone": {"unet": {"middle_block": 1}}}, "unet.middle_block", "true"),
        ({"heads": {"confmaps": {"sigma": "x"}}}, "confmaps.sigma", "number"),
        ({"heads": {"confmaps": {"sigma": None}}}, "confmaps.sigma", "null"),
        ({"heads": []}, "model.heads", "mapping"),
    ],
)
def test_wrong_types(data, key, words) -> None:
    err = _error(data)
    assert err.key.endswith(key)
    assert words in str(err)


def test_int_accepted_for_float_and_optional_null() -> None:
    cfg = from_dict(
        mc.ModelConfig, {"heads": {"confmaps": {"sigma": 3, "output_stride": None}}}
    )
    assert cfg.heads.confmaps.sigma == 3.0
    assert isinstance(cfg.heads.confmaps.sigma, float)


def test_backbone_one_of() -> None:
    err = _error({"backbone": {"unet": {}, "leap": {}}})
    assert err.key == "model.backbone"
    assert "exactly one of unet, leap, hourglass, encoder" in str(err)
    assert "got unet, leap" in str(err)
    assert "got none" in str(_error({"backbone": {}}))
    assert "not a choice" in str(_error({"backbone": "vgg"}))
    # SLEAP-style nulls for the others, and the bare-name shorthand
    cfg = from_dict(mc.ModelConfig, {"backbone": {"unet": None, "leap": {}}})
    assert cfg.backbone.choice == "leap"
    cfg = from_dict(mc.ModelConfig, {"backbone": "hourglass"})
    assert cfg.backbone.value == mc.HourglassConfig()
    assert to_dict(cfg)["backbone"] == {"hourglass": to_dict(mc.HourglassConfig())}
    with pytest.raises(ConfigError):
        mc.BackboneConfig()


def test_validation_in_post_init_gets_full_key() -> None:
    err = _error({"backbone": {"unet": {"max_stride": 12}}})
    assert err.key == "model.backbone.unet.max_stride"
    err = _error({"backbone": {"unet": {"output_stride": 32, "max_stride": 16}}})
    assert err.key == "model.backbone.unet.output_stride"
    err = _error({"heads": {"pafs": {"output_stride": 64}}})
    assert err.key == "model.heads.pafs.output_stride"
    assert "2..16" in str(err)


def test_strides_per_backbone() -> None:
    cfg = from_dict(mc.ModelConfig, {"backbone": {"hourglass": {"down_blocks": 4}}})
    assert cfg.backbone.max_stride == 64 and cfg.backbone.output_stride == 4
    assert cfg.backbone.stacks == 2
    cfg = from_dict(
        mc.ModelConfig,
        {
            "backbone": {"encoder": {"name": "mobilenet_v2", "output_stride": 2}},
            "heads": {"pafs": {"output_stride": 8}},
        },
    )
    assert cfg.backbone.max_stride == 32
    assert cfg.head_stride("confmaps") == 2
    assert cfg.head_stride("offsets") == 2
    assert cfg.head_stride("pafs") == 8
    assert cfg.head_stride("class_vectors") == 1


def test_update_merges_and_switches_choice() -> None:
    base = mc.ModelConfig()
    small = update(base, {"backbone": {"unet": {"filters": 8}}})
    assert small.backbone.unet.filters == 8
    assert small.backbone.unet.filters_rate == base.backbone.unet.filters_rate
    switched = update(base, {"backbone": {"encoder": {"name": "mobilenet_v2"}}})
    assert switched.backbone.choice == "encoder"
    assert switched.backbone.unet is None
    assert update(base, {"backbone": "leap"}).backbone.choice == "leap"
    with pytest.raises(ConfigError, match="heads.offsets.enable"):
        update(base, {"heads": {"offsets": {"enable": True}}})
    assert base == mc.ModelConfig()  # not modified in place


def test_yaml_round_trip_and_errors_name_the_file(tmp_path) -> None:
    cfg = update(mc.ModelConfig(), {"heads": {"offsets": {"enabled": True}}})
    path = save_yaml(cfg, tmp_path / "sub" / "model.yaml")
    assert load_yaml(mc.ModelConfig, path) == cfg
    assert not [p for p in path.parent.iterdir() if p.name != "model.yaml"]

    bad = tmp_path / "bad.yaml"
    bad.write_text("backbone:\n  unet:\n    filter: 8\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(mc.ModelConfig, bad)
    assert str(bad) in str(info.value) and "backbone.unet.filter" in str(info.value)
    bad.write_text("backbone: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(mc.ModelConfig, bad)
    with pytest.raises(FileNotFoundError):
        load_yaml(mc.ModelConfig, tmp_path / "missing.yaml")


def test_load_yaml_with_overrides(tmp_path) -> None:
    path = save_yaml(mc.ModelConfig(), tmp_path / "m.yaml")
    cfg = load_yaml(mc.ModelConfig, path, {"backbone": {"unet": {"stacks": 2}}})
    assert cfg.backbone.unet.stacks == 2


@pytest.mark.parametrize(
    "cls",
    [
        mc.UNetConfig,
        mc.LEAPConfig,
        mc.HourglassConfig,
        mc.EncoderConfig,
        mc.BackboneConfig,
        mc.ConfmapsHeadConfig,
        mc.PafsHeadConfig,
        mc.ClassMapsHeadConfig,
        mc.ClassVectorsHeadConfig,
        mc.OffsetsHeadConfig,
        mc.HeadsConfig,
        mc.ModelConfig,
    ],
)
def test_every_field_documented(cls) -> None:
    docs = field_docs(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    assert sorted(docs) == sorted(names)
    assert all(docs.values())


def test_head_kinds_per_role() -> None:
    assert mc.head_kinds("bottom_up") == ("confmaps", "pafs")
    assert mc.head_kinds("centered_instance_id", offsets=True) == (
        "confmaps",
        "class_vectors",
        "offsets",
    )
    with pytest.raises(ConfigError, match="allowed"):
        mc.head_kinds("top_down")


@dataclass
class Inner:
    """Inner.

    Attributes:
        size: a pair.
        mode: a choice.
    """

    size: tuple[int, int] = (1, 2)
    mode: Literal["a", "b"] = "a"


@dataclass
class Pick(OneOf):
    x: Inner | None = None
    y: Inner | None = None


@dataclass
class Outer:
    inner: Inner = field(default_factory=Inner)
    names: list[str] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)
    pick: Pick = field(default_factory=lambda: Pick(x=Inner()))


def test_generic_helper_on_other_dataclasses() -> None:
    out = from_dict(
        Outer,
        {"inner": {"size": [3, 4]}, "names": ["a"], "weights": {"a": 1}, "pick": "y"},
    )
    assert out.inner.size == (3, 4) and out.weights == {"a": 1.0}
    assert out.pick.choice == "y"
    assert to_dict(out)["inner"]["size"] == [3, 4]
    assert _error({"inner": {"size": [1]}}, Outer, "").key == "inner.size"
    assert _error({"names": ["a", 2]}, Outer, "").key == "names[1]"
    assert _error({"inner": {"mode": "c"}}, Outer, "").key == "inner.mode"
