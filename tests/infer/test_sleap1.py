"""SLEAP 1.x model folders: safe loading, exact outputs, SLEAP's own predictions."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from napari_sleap.infer.model_io import load_model
from napari_sleap.infer.ops.crops import bbox_centers
from napari_sleap.infer.sleap1 import convert_sleap1, load_sleap1

pytestmark = pytest.mark.shared_data

CENTROID = "minimal_instance.UNet.centroid"
CENTERED = "minimal_instance.UNet.centered_instance"
SINGLE = "minimal_robot.UNet.single_instance"


@pytest.fixture(scope="module")
def topdown_layer(sleap1_models_dir):
    from napari_sleap.infer.layers import TopDownLayer

    return TopDownLayer(
        load_model(sleap1_models_dir / CENTROID),
        load_model(sleap1_models_dir / CENTERED),
    )


def _frame_and_instances(path):
    import sleap_io as sio

    labels = sio.load_slp(path)
    lf = labels.labeled_frames[0]
    return lf.video[lf.frame_idx], np.stack([i.numpy() for i in lf.instances]), lf


@pytest.mark.parametrize("name", [CENTROID, CENTERED, SINGLE])
def test_rebuilt_model_matches_the_legacy_file(sleap1_models_dir, name):
    """Open-size rebuild + weights by name == Keras loading the fixed-size h5."""
    import keras

    class LegacyConv2DTranspose(keras.layers.Conv2DTranspose):
        def __init__(self, *args, groups=1, **kwargs):
            super().__init__(*args, **kwargs)

    folder = sleap1_models_dir / name
    info, model = load_sleap1(folder)
    legacy = keras.models.load_model(
        folder / "best_model.h5",
        compile=False,
        custom_objects={"Conv2DTranspose": LegacyConv2DTranspose},
    )
    x = np.random.default_rng(0).random((1, *legacy.inputs[0].shape[1:]))
    want = legacy(x.astype("float32"))
    want = want if isinstance(want, list) else [want]
    got = model(x.astype("float32"))
    assert set(got) == set(info.heads)
    stride = info.heads["confmaps"].output_stride
    for w, kind in zip(want, got, strict=True):
        # SLEAP 1.x offsets are grid units; ours are model-input pixels.
        factor = stride if kind == "offsets" else 1
        np.testing.assert_allclose(
            np.asarray(w) * factor, np.asarray(got[kind]), rtol=1e-6
        )
    assert info.source == "sleap1"
    assert info.node_names == ["A", "B"] and info.edges == [(0, 1)]


def test_model_info_fields(sleap1_models_dir):
    info, _ = load_sleap1(sleap1_models_dir / CENTERED)
    assert info.role == "centered_instance" and info.crop_size == 96
    assert info.heads["confmaps"].output_stride == 2
    assert info.heads["offsets"].channels == 4
    info, _ = load_sleap1(sleap1_models_dir / SINGLE)
    assert info.input_scale == 0.5 and info.input_channels == 3
    assert info.max_stride == 4


@pytest.mark.parametrize("split", ["train", "val"])
def test_centered_instance_matches_sleap_predictions(
    sleap1_models_dir, topdown_layer, split
):
    """With SLEAP's ground-truth centroids our points land within 1 px of SLEAP's.

    SLEAP 1.x adds crop offsets of ``c - size / 2`` to peaks found in crops
    sampled from ``c - (size - 1) / 2``, a 0.5 px shift we do not copy; with it
    put back the two agree to a small fraction of a pixel.
    """
    d = sleap1_models_dir
    frame, gt, _ = _frame_and_instances(d / f"{CENTERED}.labels_gt.{split}.slp")
    _, sleap, lf = _frame_and_instances(d / f"{CENTERED}.labels_pr.{split}.slp")
    raw = topdown_layer.forward(frame[None], centers=[bbox_centers(gt)])
    ours = topdown_layer.postprocess(raw)[0]
    assert ours.points.shape == sleap.shape
    dist = np.linalg.norm(ours.points - sleap, axis=-1)
    assert dist.max() < 1.0
    np.testing.assert_allclose(ours.points - 0.5, sleap, atol=0.1)
    sleap_scores = np.stack([i.numpy(scores=True)[:, 2] for i in lf.instances])
    np.testing.assert_allclose(ours.point_scores, sleap_scores, atol=0.02)


@pytest.mark.parametrize("split", ["train", "val"])
def test_centroids_match_sleap(sleap1_models_dir, topdown_layer, split):
    """Centroid confidences equal SLEAP's instance scores; centres near GT."""
    d = sleap1_models_dir
    frame, gt, lf = _frame_and_instances(d / f"{CENTROID}.labels_pr.{split}.slp")
    centers, vals, _ = topdown_layer.find_centroids(frame[None])
    want = bbox_centers(gt)
    order = [int(np.argmin(np.linalg.norm(centers - c, axis=1))) for c in want]
    assert len(set(order)) == len(want) == len(centers)
    np.testing.assert_allclose(vals[order], [i.score for i in lf.instances], atol=0.01)
    assert np.linalg.norm(centers[order] - want, axis=1).max() < 2.0


def test_full_topdown_pipeline_near_ground_truth(sleap1_models_dir, topdown_layer):
    frame, gt, _ = _frame_and_instances(
        sleap1_models_dir / f"{CENTERED}.labels_gt.train.slp"
    )
    poses = topdown_layer(frame[None])[0]
    assert len(poses) == 2
    for inst in gt:
        d = np.linalg.norm(poses.points - inst[None], axis=-1).max(axis=1).min()
        assert d < 1.0
    assert np.all(poses.instance_scores > 0.5)


def test_single_instance_rgb_scaled_model(sleap1_models_dir):
    """The robot model (RGB, input scale 0.5, stride 4) finds its training pose."""
    from napari_sleap.infer.layers import SingleInstanceLayer

    layer = SingleInstanceLayer(load_model(sleap1_models_dir / SINGLE))
    frame, gt, _ = _frame_and_instances(
        sleap1_models_dir / f"{SINGLE}.labels_gt.train.slp"
    )
    assert frame.shape[-1] == 3
    poses = layer(frame[None])[0]
    assert poses.points.shape == (1, 2, 2)
    # Grid is 8 original pixels: the tiny model is good to about one cell.
    assert np.linalg.norm(poses.points[0] - gt[0], axis=-1).max() < 10.0
    gray = layer(frame[None, ..., :1])[0]  # grey frames are tiled to RGB
    assert np.isfinite(gray.points).all()


def test_convert_to_model_folder_loads_in_safe_mode(sleap1_models_dir, tmp_path):
    out = convert_sleap1(sleap1_models_dir / CENTROID, tmp_path / "centroid")
    assert (out / "model_info.json").exists() and (out / "best.keras").exists()
    a = load_model(sleap1_models_dir / CENTROID)
    b = load_model(out)
    assert b.info == a.info
    x = np.random.default_rng(1).random((1, 64, 64, 1)).astype("float32")
    ya, yb = a.keras_model(x), b.keras_model(x)
    for k in ya:
        np.testing.assert_allclose(np.asarray(ya[k]), np.asarray(yb[k]), atol=1e-6)


def _fake_folder(tmp_path, src, layers_cfg=None, config_text=None):
    folder = tmp_path / "m"
    folder.mkdir()
    cfg_text = config_text or (src / "training_config.json").read_text()
    (folder / "training_config.json").write_text(cfg_text)
    with h5py.File(src / "best_model.h5", "r") as f_in:
        graph = json.loads(f_in.attrs["model_config"])
    if layers_cfg is not None:
        graph["config"]["layers"].append(layers_cfg)
    with h5py.File(folder / "best_model.h5", "w") as f:
        f.attrs["model_config"] = json.dumps(graph)
        f.create_group("model_weights")
    return folder


def test_untrusted_lambda_layer_is_refused(sleap1_models_dir, tmp_path):
    evil = {
        "class_name": "Lambda",
        "name": "evil",
        "config": {"name": "evil", "function": ["deadbeef", None, None]},
        "inbound_nodes": [[["input", 0, 0, {}]]],
    }
    folder = _fake_folder(tmp_path, sleap1_models_dir / CENTROID, evil)
    with pytest.raises(ValueError, match="Lambda"):
        load_model(folder)


def test_malformed_folders_get_clear_errors(sleap1_models_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="model_info.json"):
        load_model(empty)
    folder = _fake_folder(
        tmp_path, sleap1_models_dir / CENTROID, config_text="{not json"
    )
    with pytest.raises(ValueError, match="not valid JSON"):
        load_model(folder)
    (folder / "training_config.json").write_text(
        (sleap1_models_dir / CENTROID / "training_config.json").read_text()
    )
    with pytest.raises(ValueError, match="no weights stored"):
        load_model(folder)


def test_mixed_precision_runner_matches_float32(sleap1_models_dir):
    from napari_sleap.infer.engine import Runner

    x = (np.random.default_rng(0).random((1, 64, 64, 1)) * 255).astype("uint8")
    full = Runner(load_model(sleap1_models_dir / CENTROID))(x)
    half = Runner(load_model(sleap1_models_dir / CENTROID), mixed_precision=True)(x)
    for kind in full:
        assert half[kind].dtype == np.float32
        np.testing.assert_allclose(half[kind], full[kind], atol=0.05)


def test_part_names_order_and_paf_edges_follow_the_config(sleap1_models_dir):
    """Channels follow part_names / pafs.edges, not the skeleton's own order."""
    from napari_sleap.infer.sleap1 import model_info_from_config

    cfg = json.loads(
        (sleap1_models_dir / CENTERED / "training_config.json").read_text()
    )
    cfg["model"]["heads"]["centered_instance"]["part_names"] = ["B", "A"]
    info = model_info_from_config(cfg, sleap1_models_dir / CENTERED)
    assert info.node_names == ["B", "A"] and info.edges == [(1, 0)]
    cfg["model"]["heads"] = {
        "multi_instance": {
            "confmaps": {"part_names": ["A", "B"], "sigma": 2.0, "output_stride": 4},
            "pafs": {"edges": [["B", "A"]], "sigma": 10.0, "output_stride": 8},
        }
    }
    info = model_info_from_config(cfg, sleap1_models_dir / CENTERED)
    assert info.role == "bottom_up" and info.edges == [(1, 0)]
    assert info.heads["pafs"].channels == 2 and info.heads["pafs"].output_stride == 8
    cfg["model"]["heads"] = {"bogus": {}}
    with pytest.raises(ValueError, match="exactly one"):
        model_info_from_config(cfg, sleap1_models_dir / CENTERED)
