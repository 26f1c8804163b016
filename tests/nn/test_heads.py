"""Heads: channels per role, activations, losses, errors and ModelInfo records."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from napari_sleap.config.base import ConfigError, from_dict
from napari_sleap.config.model import ModelConfig
from napari_sleap.nn.heads import (
    ClassVectorsHead,
    ConfmapsHead,
    head_infos,
    make_heads,
    output_kind,
)
from napari_sleap.nn.model_info import ModelInfo

NODES = ["head", "thorax", "abdomen"]
EDGES = [(1, 0), (1, 2)]
CLASSES = ["female", "male", "intruder"]


def info(role: str, **kw) -> ModelInfo:
    base = dict(node_names=NODES, edges=EDGES, class_names=CLASSES)
    base.update(kw)
    return ModelInfo(role=role, **base)


def cfg(**heads) -> ModelConfig:
    return from_dict(
        ModelConfig,
        {"backbone": {"unet": {"filters": 8, "max_stride": 16}}, "heads": heads},
    )


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("single_instance", {"confmaps": 3}),
        ("centroid", {"confmaps": 1}),
        ("centered_instance", {"confmaps": 3}),
        ("centered_instance_id", {"confmaps": 3, "class_vectors": 3}),
        ("bottom_up", {"confmaps": 3, "pafs": 4}),
        ("bottom_up_id", {"confmaps": 3, "class_maps": 3}),
    ],
)
def test_channels_per_role(role: str, expected: dict) -> None:
    heads = make_heads(cfg(), info(role))
    assert {k: h.channels for k, h in heads.items()} == expected
    with_offsets = make_heads(cfg(offsets={"enabled": True}), info(role))
    assert with_offsets["offsets"].channels == 2 * expected["confmaps"]
    assert list(with_offsets)[-1] == "offsets"


def test_head_infos_carry_strides_and_sigmas() -> None:
    c = cfg(
        confmaps={"sigma": 1.5},
        pafs={"sigma": 20, "output_stride": 8},
        offsets={"enabled": True},
    )
    infos = head_infos(c, info("bottom_up"))
    assert infos["confmaps"].sigma == 1.5 and infos["confmaps"].output_stride == 2
    assert infos["pafs"].sigma == 20.0 and infos["pafs"].output_stride == 8
    assert infos["offsets"].output_stride == 2 and infos["offsets"].sigma is None
    ids = head_infos(cfg(), info("centered_instance_id"))
    assert ids["class_vectors"].output_stride == 1


@pytest.mark.parametrize(
    ("role", "kw", "key"),
    [
        ("bottom_up", {"edges": []}, "model_info.edges"),
        ("bottom_up_id", {"class_names": []}, "model_info.class_names"),
        ("centered_instance_id", {"class_names": []}, "model_info.class_names"),
        ("single_instance", {"node_names": []}, "model_info.node_names"),
    ],
)
def test_missing_skeleton_parts_are_clear_errors(role, kw, key) -> None:
    with pytest.raises(ConfigError) as err:
        make_heads(cfg(), info(role, **kw))
    assert err.value.key == key


def test_losses_and_activations() -> None:
    import keras

    heads = make_heads(cfg(), info("centered_instance_id"))
    assert isinstance(heads["confmaps"].loss(), keras.losses.MeanSquaredError)
    assert isinstance(
        heads["class_vectors"].loss(), keras.losses.CategoricalCrossentropy
    )
    assert ClassVectorsHead.activation == "softmax"
    assert ConfmapsHead.activation == "linear"
    assert output_kind("class_maps_stack1") == "class_maps"
    assert output_kind("confmaps") == "confmaps"


def test_outputs_obey_their_activations() -> None:
    from napari_sleap.nn.model import build_model

    rng = np.random.default_rng(0)
    x = rng.random((2, 32, 32, 1), dtype=np.float32)
    out = build_model(cfg(), info("centered_instance_id"))(x)
    np.testing.assert_allclose(np.asarray(out["class_vectors"]).sum(-1), 1, atol=1e-5)
    maps = np.asarray(build_model(cfg(), info("bottom_up_id"))(x)["class_maps"])
    assert maps.min() >= 0 and maps.max() <= 1


def test_build_model_records_heads_in_model_info(tmp_path) -> None:
    from napari_sleap.nn.model import build_model

    c = cfg(offsets={"enabled": True}, pafs={"output_stride": 4})
    meta = info("bottom_up", max_stride=999)
    build_model(c, meta)
    assert meta.heads == head_infos(c, meta)
    assert meta.max_stride == 16
    meta.save(tmp_path)
    assert ModelInfo.load(tmp_path) == meta


def test_heads_module_loads_without_tensorflow() -> None:
    """Head specs (channels, strides) are known before TensorFlow is imported."""
    code = (
        "import sys; import napari_sleap.nn.heads as h;"
        "import napari_sleap.config.model as m;"
        "from napari_sleap.nn.model_info import ModelInfo;"
        "i = ModelInfo(role='centroid', node_names=['a']);"
        "print(h.head_infos(m.ModelConfig(), i)['confmaps'].channels,"
        "[k for k in ('tensorflow', 'keras') if k in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "1 []"
