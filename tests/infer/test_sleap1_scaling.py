"""SLEAP 1.x settings beyond the defaults: input scaling per model, refusals.

The scaled centered-instance model (``input_scaling`` 0.5, ``crop_size`` 56)
was trained on 56 px crops of the half-size frame, i.e. 112 frame pixels.
SLEAP's own test puts its top-down poses within 1.5 px (per coordinate) of the
ground truth of ``minimal_instance``; ours must too.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_sleap.infer.model_io import load_model
from napari_sleap.infer.ops.crops import bbox_centers
from napari_sleap.infer.sleap1 import model_info_from_config

pytestmark = pytest.mark.shared_data

CENTROID = "minimal_instance.UNet.centroid"
SCALED = "minimal_instance.UNet.centered_instance_with_scaling"
GT = "minimal_instance.UNet.centered_instance.labels_gt.train.slp"


def _ground_truth(folder):
    import sleap_io as sio

    lf = sio.load_slp(folder / GT).labeled_frames[0]
    return lf.video[lf.frame_idx], np.stack([i.numpy() for i in lf.instances])


def _matched_errors(points: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-coordinate error of each GT instance to its closest prediction."""
    out = []
    for inst in gt:
        dist = np.linalg.norm(points - inst[None], axis=-1).max(axis=1)
        out.append(points[int(np.argmin(dist))] - inst)
    return np.stack(out)


@pytest.fixture(scope="module")
def scaled_layer(sleap1_models_dir):
    from napari_sleap.infer.layers import TopDownLayer

    return TopDownLayer(
        load_model(sleap1_models_dir / CENTROID),
        load_model(sleap1_models_dir / SCALED),
    )


def test_scaled_model_crop_covers_its_training_view(sleap1_models_dir):
    info = load_model(sleap1_models_dir / SCALED).info
    assert info.input_scale == 0.5
    assert info.crop_size == 112  # 56 px of the half-size frame


def test_scaled_centered_instance_with_centroid_model(sleap1_models_dir, scaled_layer):
    """SLEAP's test_topdown_predictor_centroid_centered_instance_with_scaling."""
    frame, gt = _ground_truth(sleap1_models_dir)
    poses = scaled_layer(frame[None])[0]
    assert len(poses) == 2
    err = _matched_errors(poses.points, gt)
    assert np.abs(err).max() < 1.5, err
    assert np.all(poses.instance_scores > 0.5)


def test_scaled_centered_instance_with_ground_truth_centroids(
    sleap1_models_dir, scaled_layer
):
    """SLEAP's test_topdown_predictor_centered_instance_with_scaling."""
    frame, gt = _ground_truth(sleap1_models_dir)
    raw = scaled_layer.forward(frame[None], centers=[bbox_centers(gt)])
    poses = scaled_layer.postprocess(raw)[0]
    err = _matched_errors(poses.points, gt)
    assert np.abs(err).max() < 1.5, err


def _config(folder):
    return json.loads((folder / "training_config.json").read_text())


def test_crop_size_follows_each_models_scale(sleap1_models_dir):
    where = sleap1_models_dir / SCALED
    cfg = _config(where)
    cfg["data"]["preprocessing"]["input_scaling"] = 0.25
    assert model_info_from_config(cfg, where).crop_size == 224
    cfg["data"]["preprocessing"]["input_scaling"] = 1.0
    assert model_info_from_config(cfg, where).crop_size == 56
    cfg["data"]["preprocessing"]["input_scaling"] = -1
    with pytest.raises(ValueError, match="input_scaling"):
        model_info_from_config(cfg, where)


@pytest.mark.parametrize(
    ("section", "key", "value", "match"),
    [
        ("backbone", "pretrained_encoder", {"encoder": "resnet50"}, "pretrained"),
        ("preprocessing", "imagenet_mode", "tf", "imagenet_mode"),
    ],
)
def test_unverified_settings_are_refused_with_the_reason(
    sleap1_models_dir, section, key, value, match
):
    where = sleap1_models_dir / SCALED
    cfg = _config(where)
    target = (
        cfg["model"]["backbone"]
        if section == "backbone"
        else cfg["data"]["preprocessing"]
    )
    target[key] = value
    with pytest.raises(ValueError, match=match) as err:
        model_info_from_config(cfg, where)
    assert "training_config.json" in str(err.value) or str(where) in str(err.value)
    assert "Fix:" in str(err.value)


def test_predicted_skeleton_is_named(sleap1_models_dir):
    """NWB needs a skeleton name: the SLEAP 1.x config's, else a default."""
    from napari_sleap.infer.predictor import (
        DEFAULT_SKELETON_NAME,
        Predictor,
        skeleton_of,
    )

    predictor = Predictor.from_model_dirs(
        [sleap1_models_dir / CENTROID, sleap1_models_dir / SCALED]
    )
    assert predictor.skeleton.name == "Skeleton-0"
    assert skeleton_of(predictor.info).name == DEFAULT_SKELETON_NAME


def test_resize_and_pad_to_target_fits_other_frame_sizes(sleap1_models_dir):
    """The scaled model's config fits frames to 384x384 (resize_and_pad_to_target).

    Frame 0 made twice as large (768x768) and given extra columns (768x900)
    must give the same poses, mapped back to the larger frame.
    """
    import cv2

    from napari_sleap.infer.predictor import Predictor
    from napari_sleap.infer.size_match import fit_frames

    predictor = Predictor.from_model_dirs(
        [sleap1_models_dir / SCALED, sleap1_models_dir / CENTROID]
    )
    frame, gt = _ground_truth(sleap1_models_dir)
    predictor.target_size = None  # the centroid model's config sets none ...
    native = predictor.predict_frame(frame).points
    predictor.target_size = (384, 384)  # ... the scaled model's does
    assert predictor.predict_frame(frame).points.shape == native.shape
    big = cv2.resize(frame, (768, 768), interpolation=cv2.INTER_LINEAR)[..., None]
    wide = np.zeros((768, 900, 1), np.uint8)
    wide[:, :768] = big
    fitted, ratio = fit_frames(wide[None], (384, 384))
    assert fitted.shape == (1, 384, 384, 1) and ratio == pytest.approx(384 / 900)
    # Twice the size, fitted back to 384x384: the same view, poses scaled back.
    err = _matched_errors(predictor.predict_frame(big).points / 2.0, gt)
    assert np.abs(err).max() < 2.0, err
    # Wider: fitted by its width (ratio 384/900) and padded below; the poses are
    # those of the fitted frame, divided by the ratio.
    got = predictor.predict_frame(wide).points
    predictor.target_size = None
    want = predictor.predict_frame(fitted[0]).points / ratio
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert np.abs(_matched_errors(got / 2.0, gt)).max() < 6.0  # animals at 85 %
