"""Backbones x heads: every combination builds, runs, saves/loads safely and trains."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from napari_sleap.config.base import from_dict, update
from napari_sleap.config.model import ENCODERS, ModelConfig
from napari_sleap.nn.model import (
    build_model,
    inference_model,
    load_model,
    loss_spec,
    output_names,
)
from napari_sleap.nn.model_info import ROLES, ModelInfo

NODES = ["head", "thorax", "abdomen", "wingL", "wingR"]
EDGES = [(1, 0), (1, 2), (1, 3), (1, 4)]
CLASSES = ["female", "male"]

#: Tiny versions of each backbone (filters ~8) so a forward pass takes ms.
BACKBONES = {
    "unet": {"unet": {"filters": 8, "filters_rate": 2.0, "max_stride": 16}},
    "unet_stacked": {
        "unet": {
            "filters": 8,
            "max_stride": 16,
            "output_stride": 4,
            "stacks": 2,
            "upsampling": "transposed",
            "skip_connections": "add",
            "batch_norm": True,
            "middle_block": False,
        }
    },
    "leap": {"leap": {"filters": 8, "max_stride": 8, "convs_per_block": 2}},
    "hourglass": {
        "hourglass": {
            "stem_filters": 8,
            "filters": 8,
            "filters_increase": 4,
            "down_blocks": 2,
            "stacks": 2,
        }
    },
    "encoder": {
        "encoder": {
            "name": "mobilenet_v3_small",
            "pretrained": False,
            "decoder_filters": 8,
        }
    },
}


def tiny_config(backbone: str, **heads) -> ModelConfig:
    return from_dict(ModelConfig, {"backbone": BACKBONES[backbone], "heads": heads})


def make_info(role: str, channels: int = 1) -> ModelInfo:
    return ModelInfo(
        role=role,
        node_names=list(NODES),
        edges=list(EDGES),
        class_names=list(CLASSES),
        input_channels=channels,
    )


def images(n: int, h: int, w: int, c: int = 1, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, h, w, c), dtype=np.float32)


def expected_shape(kind: str, info: ModelInfo, n: int, h: int, w: int) -> tuple:
    head = info.heads[kind]
    if kind == "class_vectors":
        return (n, head.channels)
    s = head.output_stride
    return (n, h // s, w // s, head.channels)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("backbone", list(BACKBONES))
def test_every_backbone_and_role_builds_and_runs(backbone: str, role: str) -> None:
    cfg = tiny_config(backbone, offsets={"enabled": True}, pafs={"output_stride": 8})
    info = make_info(role)
    model = build_model(cfg, info)
    out = model(images(2, 64, 64))
    assert set(out) == set(info.heads)
    assert set(info.heads) >= {"confmaps", "offsets"}
    for kind, tensor in out.items():
        assert tuple(tensor.shape) == expected_shape(kind, info, 2, 64, 64), kind
        assert model.get_layer(kind).name == kind
    conf = info.heads["confmaps"]
    assert conf.output_stride == cfg.backbone.output_stride
    assert conf.channels == (1 if role == "centroid" else len(NODES))
    assert info.heads["offsets"].channels == 2 * conf.channels
    assert info.max_stride == cfg.backbone.max_stride
    if "pafs" in info.heads:
        assert info.heads["pafs"].output_stride == 8
        assert info.heads["pafs"].channels == 2 * len(EDGES)


@pytest.mark.parametrize("backbone", list(BACKBONES))
def test_save_load_keras_safe_mode_identical(backbone: str, tmp_path) -> None:
    cfg = tiny_config(backbone, offsets={"enabled": True})
    info = make_info("centered_instance_id")
    model = build_model(cfg, info)
    x = images(2, 64, 64, seed=1)
    before = model(x)
    path = tmp_path / "best.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True, compile=False)
    after = loaded(x)
    assert set(after) == set(before)
    for kind in before:
        np.testing.assert_array_equal(
            np.asarray(before[kind]), np.asarray(after[kind]), err_msg=kind
        )
    assert _layer_classes(loaded).isdisjoint({"Lambda"})
    np.testing.assert_array_equal(
        np.asarray(load_model(path)(x)["confmaps"]), np.asarray(before["confmaps"])
    )


def _layer_classes(model: keras.Model) -> set[str]:
    names = set()
    for layer in model.layers:
        names.add(type(layer).__name__)
        if isinstance(layer, keras.Model):
            names |= _layer_classes(layer)
    return names


@pytest.mark.parametrize("backbone", list(BACKBONES))
def test_open_input_size(backbone: str) -> None:
    """One model runs on any size that is a multiple of its max stride."""
    cfg = tiny_config(backbone)
    info = make_info("single_instance")
    model = build_model(cfg, info)
    m = info.max_stride
    for h, w in [(2 * m, 2 * m), (3 * m, 5 * m)]:
        out = model(images(1, h, w))
        assert tuple(out["confmaps"].shape) == expected_shape("confmaps", info, 1, h, w)


def test_rgb_and_gray_encoder_inputs() -> None:
    for channels in (1, 3):
        info = make_info("single_instance", channels=channels)
        model = build_model(tiny_config("encoder"), info)
        assert model.input.shape[-1] == channels
        assert model(images(1, 64, 64, channels))["confmaps"].shape == (1, 16, 16, 5)


def test_encoder_pretrained_never_fails() -> None:
    """Pretrained weights load when reachable; offline, a warning says so."""
    cfg = update(
        tiny_config("encoder"), {"backbone": {"encoder": {"pretrained": True}}}
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = build_model(cfg, make_info("centroid"))
    assert model(images(1, 64, 64))["confmaps"].shape == (1, 16, 16, 1)
    msgs = [str(w.message) for w in caught if w.category is RuntimeWarning]
    for msg in msgs:
        assert "random weights" in msg and "mobilenet_v3_small" in msg


def test_frozen_encoder() -> None:
    cfg = update(
        tiny_config("encoder"), {"backbone": {"encoder": {"trainable_encoder": False}}}
    )
    model = build_model(cfg, make_info("centroid"))
    encoder = model.get_layer("mobilenet_v3_small_encoder")
    assert not encoder.trainable
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    assert 0 < trainable < model.count_params() - encoder.count_params() + 1


def test_stacked_intermediate_outputs_and_losses() -> None:
    cfg = tiny_config("hourglass", confmaps={"loss_weight": 2.0})
    info = make_info("bottom_up")
    model = build_model(cfg, info, intermediate_outputs=True)
    names = set(output_names(model))
    assert names == {"confmaps", "pafs", "confmaps_stack0", "pafs_stack0"}
    losses, weights = loss_spec(model, cfg, info)
    assert set(losses) == names and weights["confmaps_stack0"] == 2.0
    slim = inference_model(model)
    assert set(slim.output) == {"confmaps", "pafs"}
    x = images(2, 64, 64, seed=3)
    full, part = model(x), slim(x)
    for kind in part:
        np.testing.assert_array_equal(np.asarray(full[kind]), np.asarray(part[kind]))
    # Training on the intermediate outputs reuses each kind's targets.
    targets = {k: np.zeros(tuple(v.shape), "float32") for k, v in full.items()}
    # Eager: tracing this graph's train step costs ~40 s of CPU here, and the
    # test is about wiring outputs to losses, not speed.
    model.compile(optimizer="adam", loss=losses, loss_weights=weights, run_eagerly=True)
    logs = model.fit(x, targets, epochs=1, batch_size=2, verbose=0).history
    assert np.isfinite(logs["loss"][0])


@pytest.mark.slow
@pytest.mark.parametrize("name", ENCODERS)
def test_every_encoder_builds_saves_and_loads(name: str, tmp_path) -> None:
    cfg = from_dict(
        ModelConfig,
        {
            "backbone": {
                "encoder": {
                    "name": name,
                    "pretrained": False,
                    "decoder_filters": 8,
                    "output_stride": 2,
                }
            },
            "heads": {"pafs": {"output_stride": 8}},
        },
    )
    info = make_info("bottom_up")
    model = build_model(cfg, info)
    x = images(1, 64, 64, seed=4)
    before = model(x)
    assert before["confmaps"].shape == (1, 32, 32, 5)
    assert before["pafs"].shape == (1, 8, 8, 8)
    if model.count_params() > 30e6:
        return  # the big ones share their family's layers, checked at ~25M
    model.save(tmp_path / "m.keras")
    after = load_model(tmp_path / "m.keras")(x)
    for kind in before:
        np.testing.assert_array_equal(np.asarray(before[kind]), np.asarray(after[kind]))


# ------------------------------------------------------------ real training


@pytest.fixture(scope="module")
def real_batch(clip_train_slp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """64x64 crops of real flies (half resolution), their points and track ids."""
    import sleap_io as sio

    from napari_sleap.nn.data.frames import read_frames

    labels = sio.load_slp(str(clip_train_slp))
    frames = [lf for lf in labels.labeled_frames if lf.frame_idx >= 1000][:4]
    pixels = read_frames(labels, [(0, lf.frame_idx) for lf in frames], 1)
    crops, points, ids = [], [], []
    for lf in frames:
        image = pixels[(0, lf.frame_idx)][:, :, 0].astype(np.float32) / 255.0
        for inst in lf.instances:
            pts = inst.numpy()
            cx, cy = np.round(np.nanmean(pts, axis=0)).astype(int)
            x0, y0 = cx - 64, cy - 64
            crop = np.zeros((128, 128), np.float32)
            ys = slice(max(y0, 0), min(y0 + 128, image.shape[0]))
            xs = slice(max(x0, 0), min(x0 + 128, image.shape[1]))
            crop[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0] = image[
                ys, xs
            ]
            crops.append(crop.reshape(64, 2, 64, 2).mean(axis=(1, 3)))
            points.append((pts - [x0, y0]) / 2.0)
            ids.append(CLASSES.index(inst.track.name))
    return (
        np.stack(crops)[..., None],
        np.stack(points).astype(np.float32),
        np.array(ids),
    )


def test_tiny_model_learns_on_real_frames(real_batch) -> None:
    from napari_sleap.nn.data.confmaps import make_confmaps

    keras.utils.set_random_seed(0)
    x, points, _ = real_batch
    cfg = from_dict(
        ModelConfig,
        {
            "backbone": {"unet": {"filters": 16, "filters_rate": 2.0}},
            "heads": {"confmaps": {"sigma": 3.0}},
        },
    )
    info = ModelInfo(role="centered_instance", node_names=[f"n{i}" for i in range(13)])
    model = build_model(cfg, info)
    stride, sigma = info.heads["confmaps"].output_stride, info.heads["confmaps"].sigma
    y = np.stack([make_confmaps(p[None], 64, 64, stride, sigma) for p in points])
    losses, weights = loss_spec(model, cfg, info)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=losses,
        loss_weights=weights,
        jit_compile=False,
    )
    history = model.fit(
        x, {"confmaps": y}, batch_size=len(x), epochs=50, verbose=0
    ).history["loss"]
    # Predicting all zeros scores mean(y**2): beating it clearly means the
    # model has learned where the body parts are.
    assert history[-1] < 0.75 * float(np.mean(y**2)), history
    assert history[-1] < 0.75 * history[0], history


@pytest.mark.slow
@pytest.mark.parametrize("backbone", list(BACKBONES))
def test_every_backbone_trains_on_real_frames(backbone: str, real_batch) -> None:
    """A few steps of each backbone with confmaps, class vectors and offsets."""
    from napari_sleap.nn.data.confmaps import make_confmaps, make_offsets

    keras.utils.set_random_seed(0)
    x, points, ids = real_batch
    cfg = tiny_config(backbone, offsets={"enabled": True}, confmaps={"sigma": 3.0})
    info = ModelInfo(
        role="centered_instance_id",
        node_names=[f"n{i}" for i in range(13)],
        class_names=list(CLASSES),
    )
    model = build_model(cfg, info, intermediate_outputs=True)
    s, sigma = info.heads["confmaps"].output_stride, 3.0
    targets = {
        "confmaps": np.stack(
            [make_confmaps(p[None], 64, 64, s, sigma) for p in points]
        ),
        "offsets": np.stack([make_offsets(p[None], 64, 64, s, sigma) for p in points]),
        "class_vectors": np.eye(len(CLASSES), dtype=np.float32)[ids],
    }
    y = {name: targets[name.split("_stack")[0]] for name in output_names(model)}
    losses, weights = loss_spec(model, cfg, info)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=losses,
        loss_weights=weights,
        run_eagerly=True,  # no graph tracing: a few steps of tiny nets
    )
    # 6 steps: every backbone's loss is down 13-87% by then (unet rose at step 2)
    history = model.fit(x, y, batch_size=len(x), epochs=6, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
    assert history["loss"][-1] < history["loss"][0], history["loss"]


@pytest.mark.parametrize(
    "backbone",
    [
        {"unet": {"filters": 4, "max_stride": 8, "output_stride": 8}},
        {"unet": {"filters": 4, "max_stride": 8, "output_stride": 1}},
        {"unet": {"filters": 4, "max_stride": 8, "output_stride": 8, "stacks": 2}},
        {"unet": {"filters": 4, "max_stride": 4, "skip_connections": "none"}},
        {"leap": {"filters": 4, "max_stride": 4, "output_stride": 4}},
        {"leap": {"filters": 4, "max_stride": 4, "upsampling": "interpolate"}},
        {
            "hourglass": {
                "stem_filters": 4,
                "stem_stride": 2,
                "filters": 4,
                "filters_increase": 0,
                "down_blocks": 1,
                "stacks": 1,
                "upsampling": "transposed",
                "batch_norm": False,
            }
        },
    ],
)
def test_edge_settings_build(backbone: dict) -> None:
    cfg = from_dict(ModelConfig, {"backbone": backbone})
    info = make_info("bottom_up_id")
    out = build_model(cfg, info)(images(1, 32, 32))
    for kind, tensor in out.items():
        assert tuple(tensor.shape) == expected_shape(kind, info, 1, 32, 32), kind


def test_mixed_precision_outputs_stay_float32(tmp_path) -> None:
    """Under a mixed policy (GPU training) the heads still output float32."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = build_model(tiny_config("unet"), make_info("centered_instance_id"))
        x = images(1, 64, 64)
        out = model(x)
        model.save(tmp_path / "mp.keras")
        again = load_model(tmp_path / "mp.keras")(x)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    for kind, tensor in out.items():
        assert tensor.dtype == "float32", kind
        np.testing.assert_array_equal(np.asarray(tensor), np.asarray(again[kind]))


def test_encoder_preprocessing_matches_imagenet_conventions(tmp_path) -> None:
    from napari_sleap.nn.architectures.common import image_input
    from napari_sleap.nn.architectures.encoders import preprocess

    pixel = np.array([0.2, 0.5, 0.8], np.float32)
    rgb = np.broadcast_to(pixel, (1, 2, 2, 3)).copy()
    inp = image_input(3)
    caffe = keras.Model(inp, preprocess(inp, "resnet50"))
    want = 255 * pixel[::-1] - np.array([103.939, 116.779, 123.68])
    np.testing.assert_allclose(np.asarray(caffe(rgb))[0, 0, 0], want, rtol=1e-5)
    caffe.save(tmp_path / "pre.keras")
    again = load_model(tmp_path / "pre.keras")
    np.testing.assert_allclose(np.asarray(again(rgb))[0, 0, 0], want, rtol=1e-5)

    gray = image_input(1)
    tf_style = keras.Model(gray, preprocess(gray, "mobilenet_v2"))
    out = np.asarray(tf_style(np.full((1, 2, 2, 1), 0.75, np.float32)))
    assert out.shape == (1, 2, 2, 3)
    np.testing.assert_allclose(out, 0.5)
    with pytest.raises(ValueError, match="1 or 3 input channels"):
        preprocess(image_input(2), "efficientnet_b0")


@pytest.mark.parametrize(
    ("backbone", "expected"),
    [
        # 1 + conv 2 + pool 1 + conv 4 + pool 2 + middle conv 8
        ({"unet": {"max_stride": 4, "output_stride": 4, "convs_per_block": 1}}, 18),
        (
            {
                "leap": {
                    "max_stride": 4,
                    "output_stride": 2,
                    "upsampling": "interpolate",
                }
            },
            62,
        ),
        ({"leap": {"max_stride": 8}}, 154),
        ({"encoder": {"name": "resnet50"}}, None),
    ],
)
def test_receptive_field_from_config(backbone: dict, expected) -> None:
    from napari_sleap.nn.architectures.receptive_field import receptive_field

    cfg = from_dict(ModelConfig, {"backbone": backbone})
    assert receptive_field(cfg.backbone) == expected


def test_receptive_field_matches_input_gradients() -> None:
    """The config figure equals the extent of the input gradient of one output."""
    import tensorflow as tf

    from napari_sleap.nn.architectures.receptive_field import receptive_field

    cfg = from_dict(
        ModelConfig,
        {
            "backbone": {
                "unet": {
                    "filters": 4,
                    "max_stride": 4,
                    "output_stride": 4,
                    "convs_per_block": 1,
                }
            }
        },
    )
    model = build_model(cfg, make_info("single_instance"))
    # Max pooling passes gradient to one pixel per window: a batch of random
    # images reaches every pixel that can matter.
    x = tf.constant(images(16, 64, 64, seed=5))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = model(x)["confmaps"]
        target = tf.reduce_sum(y[:, 8, 8, :])
    seen = np.abs(np.asarray(tape.gradient(target, x))).sum(axis=(0, 3)) > 0
    rows, cols = np.where(seen.any(1))[0], np.where(seen.any(0))[0]
    assert rows[-1] - rows[0] + 1 == receptive_field(cfg.backbone)
    assert cols[-1] - cols[0] + 1 == receptive_field(cfg.backbone)


def test_receptive_field_module_loads_without_tensorflow() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from napari_sleap.nn.architectures import receptive_field as r;"
        "from napari_sleap.config.model import ModelConfig;"
        "print(r.receptive_field(ModelConfig().backbone),"
        "[k for k in ('tensorflow', 'keras') if k in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    size, heavy = out.stdout.strip().split(" ", 1)
    assert int(size) > 100 and heavy == "[]"
