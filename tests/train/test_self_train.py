"""Self-training on the synthetic two-animal sample, with a real short training.

The pipeline trains the centroid model, phase 1 of the centered-instance model,
predicts unlabeled frames, keeps the confident ones as pseudo-labels and
fine-tunes (phase 2). Checked against what the models themselves predict: every
kept frame passes the confidence rules and every dropped one fails them; no frame
comes from an excluded range or a labeled frame; the user's file is untouched.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from napari_sleap.config.base import ConfigError
from napari_sleap.config.self_train import SelfTrainConfig
from napari_sleap.train.self_train import (
    PHASE1_DIR,
    PSEUDO_FILE,
    SELF_TRAIN_DIR,
    check_confident,
    confident_points,
    flip_agrees,
    pick_unlabeled_frames,
)
from tests.fixtures.trained_sample import N_FRAMES, recipe

EXCLUDE = (240, N_FRAMES)  # the sample's held-out frames
SELF_TRAIN = {
    "enabled": True,
    "first_phase": 0.75,
    "frames": 48,
    # Low bars for a model trained 1,500 steps on 21 frames: some frames pass,
    # some fail (missing nodes, one animal found).
    "min_node_score": 0.15,
    "min_instance_score": 0.4,
    "exclude_frames": [list(EXCLUDE)],
}


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_self_training_keeps_only_confident_frames_and_leaves_user_labels(
    two_animal_sample, tmp_path
):
    import sleap_io as sio

    from napari_sleap.infer.predictor import Predictor, PredictorOptions
    from napari_sleap.io.video import open_video
    from napari_sleap.train.pipeline import model_state, train_pipeline

    sample = two_animal_sample
    before = _digest(sample.train)
    over = recipe("top-down", steps=500)
    ci = over["centered_instance"]
    # Phase 1 three epochs of 500 steps (its model decides what is kept), phase 2
    # one (only its training set is checked).
    ci["optim"]["epochs"] = 4
    ci["self_train"] = SELF_TRAIN
    out = tmp_path / "models"
    train_pipeline(sample.train, "top-down", out, overrides=over, seed=0)

    assert _digest(sample.train) == before  # the user's file is never written
    model = out / "centered_instance"
    phase1 = model / SELF_TRAIN_DIR / PHASE1_DIR
    assert model_state(model)["usable"] and model_state(model)["status"] == "done"
    assert model_state(phase1)["usable"]

    user = sio.load_slp(str(sample.train))
    labeled = {int(lf.frame_idx) for lf in user if lf.user_instances}
    pseudo = sio.load_slp(str(model / SELF_TRAIN_DIR / PSEUDO_FILE))
    assert not any(lf.user_instances for lf in pseudo)
    kept = {int(lf.frame_idx): np.stack([i.numpy() for i in lf]) for lf in pseudo}

    cfg = SelfTrainConfig(**{k: v for k, v in SELF_TRAIN.items() if k != "enabled"})
    asked = [f for _, f in pick_unlabeled_frames(user, cfg.frames, cfg.exclude_frames)]
    assert len(asked) == cfg.frames
    assert not set(asked) & labeled
    assert not any(EXCLUDE[0] <= f < EXCLUDE[1] for f in asked)
    assert set(kept) <= set(asked)

    # What phase 1's model predicts on those frames decides, frame by frame.
    opts = PredictorOptions(batch_size=1, max_instances=2)
    predictor = Predictor.from_model_dirs([out / "centroid", phase1], opts)
    video = open_video(sample.video)
    passed = set()
    for f in asked:
        poses = predictor.predict_frame(np.asarray(video[f]))
        pts = np.asarray(poses.points, dtype=np.float64)
        if check_confident(pts, poses.point_scores, 2, cfg) is None:
            passed.add(f)
            if f in kept:  # saved as predicted, unsure nodes left out
                want = confident_points(pts, poses.point_scores, cfg)
                order = np.argsort(np.nanmean(want[:, :, 0], 1))
                saved = kept[f][np.argsort(np.nanmean(kept[f][:, :, 0], 1))]
                np.testing.assert_allclose(saved, want[order], atol=0.05)
    assert set(kept) == passed
    assert 0 < len(kept) < len(asked), (len(kept), len(asked))

    # Phase 2 trained on the user frames (unchanged) plus the kept frames only.
    split = json.loads((model / "split.json").read_text())
    train_frames = [f for _, f in split["train"]]
    held_out = set() if split["train_on_val"] else {f for _, f in split["val"]}
    assert set(train_frames) == (labeled - held_out) | set(kept)
    got = {int(lf.frame_idx): lf for lf in sio.load_slp(str(sample.train))}
    for lf in user:
        a = np.stack([i.numpy() for i in lf.user_instances])
        b = np.stack([i.numpy() for i in got[lf.frame_idx].user_instances])
        np.testing.assert_array_equal(a, b)


def test_confidence_rules():
    cfg = SelfTrainConfig(
        min_node_score=0.5, min_instance_score=0.6, max_missing_nodes=0
    )
    a = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]])
    b = a + 40.0
    good = np.ones((2, 3))
    assert check_confident(np.stack([a, b]), good, 2, cfg) is None
    assert check_confident(np.stack([a]), good[:1], 2, cfg) == "count"
    low = good.copy()
    low[1, 2] = 0.4
    assert check_confident(np.stack([a, b]), low, 2, cfg) == "score"
    one_off = SelfTrainConfig(min_node_score=0.5, max_missing_nodes=1)
    assert check_confident(np.stack([a, b]), low, 2, one_off) is None
    kept = confident_points(np.stack([a, b]), low, one_off)
    assert np.isnan(kept[1, 2]).all()
    assert np.isfinite(np.delete(kept.reshape(-1, 2), 5, 0)).all()
    missing = np.stack([a, b])
    missing[0, 1] = np.nan
    assert check_confident(missing, good, 2, cfg) == "score"
    assert check_confident(np.stack([a, a + 1.0]), good, 2, cfg) == "overlap"
    shared = b.copy()
    shared[0] = a[1] + 0.5  # a part claimed by both animals
    assert check_confident(np.stack([a, shared]), good, 2, cfg) == "overlap"


def test_flip_agreement_maps_the_mirrored_view_back():
    perm = np.array([0, 2, 1])  # nodes 1 and 2 are a left/right pair
    pts = np.array([[[10.0, 5.0], [8.0, 9.0], [12.0, 9.0]]])
    mirrored = pts[:, perm].copy()
    mirrored[..., 0] = 99 - mirrored[..., 0]
    assert flip_agrees(pts, mirrored, 100, perm, 1.0)
    mirrored[0, 0, 0] += 3.0
    assert not flip_agrees(pts, mirrored, 100, perm, 1.0)


def test_bad_settings_are_named():
    with pytest.raises(ConfigError, match="exclude_frames"):
        SelfTrainConfig(exclude_frames=[(10, 5)])
    with pytest.raises(ConfigError, match="weight"):
        SelfTrainConfig(weight=0)


def test_self_training_needs_top_down(two_animal_sample, tmp_path):
    from napari_sleap.train.pipeline import train_pipeline

    with pytest.raises(ConfigError, match="top-down"):
        train_pipeline(
            two_animal_sample.train, "bottom-up", tmp_path / "m", self_train=True
        )
    assert not (tmp_path / "m").exists()
