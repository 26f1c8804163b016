from __future__ import annotations

import numpy as np

from napari_sleap.track.candidates import KalmanCandidates
from napari_sleap.track.kalman import PoseKalman


def test_filter_learns_constant_velocity_and_predicts_through_a_gap() -> None:
    rng = np.random.default_rng(0)
    base = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    vel = np.array([3.0, -2.0])
    kf = PoseKalman(base, 0, measurement_px=1.0, accel_px=0.05)
    for t in range(1, 60):
        kf.step(t, base + vel * t + rng.normal(0, 1.0, base.shape))
    np.testing.assert_allclose(kf.vel, np.tile(vel, (3, 1)), atol=0.3)
    expected = base + vel * 65
    np.testing.assert_allclose(kf.predict(65), expected, atol=3.0)


def test_unseen_nodes_start_when_first_observed() -> None:
    first = np.array([[0.0, 0.0], [np.nan, np.nan]])
    kf = PoseKalman(first, 0)
    assert np.isnan(kf.predict(1)[1]).all()
    kf.step(1, np.array([[1.0, 0.0], [50.0, 50.0]]))
    np.testing.assert_allclose(kf.pos[1], [50.0, 50.0])
    kf.step(2, None)  # coasting keeps the node
    assert np.isfinite(kf.pos).all()


def test_candidates_predict_each_track() -> None:
    model = KalmanCandidates(nodes=2)
    model.update(0, {0: np.zeros((2, 2)), 1: np.full((2, 2), 100.0)})
    poses, owners = model.predict(1)
    assert owners.tolist() == [0, 1]
    np.testing.assert_allclose(poses[1], 100.0)
