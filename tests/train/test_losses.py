from __future__ import annotations

import numpy as np

from napari_sleap.train.losses import HardKeypointMiningLoss


def _batch():
    y_true = np.zeros((2, 4, 4, 3), np.float32)
    y_pred = np.zeros((2, 4, 4, 3), np.float32)
    y_pred[..., 0] = 0.1  # per-node loss 0.01 (the easiest)
    y_pred[..., 1] = 0.2  # 0.04: 4x the easiest, so hard at ratio 2
    y_pred[..., 2] = 1.0  # 1.0: the hardest
    return y_true, y_pred


def test_mining_adds_the_mean_loss_of_the_hard_nodes():
    y_true, y_pred = _batch()
    mse = (0.01 + 0.04 + 1.0) / 3
    loss = HardKeypointMiningLoss(2.0, min_hard_keypoints=1, loss_scale=5.0)
    assert np.isclose(float(loss(y_true, y_pred)), mse + 5.0 * (1.0 + 0.04) / 2)
    capped = HardKeypointMiningLoss(2.0, 1, max_hard_keypoints=1, loss_scale=5.0)
    assert np.isclose(float(capped(y_true, y_pred)), mse + 5.0 * 1.0)
    at_least = HardKeypointMiningLoss(100.0, min_hard_keypoints=3, loss_scale=1.0)
    assert np.isclose(float(at_least(y_true, y_pred)), 2 * mse)


def test_mining_round_trips_through_config():
    loss = HardKeypointMiningLoss(3.0, 2, 4, 2.5)
    again = HardKeypointMiningLoss.from_config(loss.get_config())
    assert again.get_config() == loss.get_config()


def test_negative_weighted_mse_weights_pixels_by_the_last_channel():
    from napari_sleap.train.losses import NegativeWeightedMSE

    target = np.zeros((1, 2, 2, 2), np.float32)
    pred = np.full((1, 2, 2, 2), 0.5, np.float32)  # squared error 0.25 everywhere
    weights = np.ones((1, 2, 2, 1), np.float32)
    weights[0, 0, 0, 0] = 5.0  # one pixel on the other animal's node
    loss = NegativeWeightedMSE()
    packed = np.concatenate([target, weights], axis=-1)
    assert np.isclose(float(loss(packed, pred)), 0.25 * (5 + 1 + 1 + 1) / 4)
    plain = np.concatenate([target, np.ones_like(weights)], axis=-1)
    assert np.isclose(float(loss(plain, pred)), 0.25)  # all ones: plain MSE
    again = NegativeWeightedMSE.from_config(loss.get_config())
    assert again.get_config() == loss.get_config()
