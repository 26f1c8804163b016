"""Pose-balanced sampling weights on the real fly labels (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap.nn.data.pose_balance import pose_descriptors, pose_sampling_weights

#: A wing further than this from the body axis is held out (courtship song).
OPEN_DEGREES = 45.0


@pytest.fixture(scope="module")
def train_poses(clip_labels, clip_samples):
    """Every labeled fly before frame 1150, with the thorax index and node names."""
    names = clip_labels.skeleton.node_names
    pts = [p for s in clip_samples if s.frame_index < 1150 for p in s.points]
    return np.stack(pts), names.index("thorax"), names


def _wing_open(points, names, wing):
    thorax, abdomen, tip = (names.index(n) for n in ("thorax", "abdomen", wing))
    axis = points[:, abdomen] - points[:, thorax]
    vec = points[:, tip] - points[:, thorax]
    cos = (axis * vec).sum(1) / (
        np.linalg.norm(axis, axis=1) * np.linalg.norm(vec, axis=1)
    )
    return np.degrees(np.arccos(np.clip(cos, -1, 1))) > OPEN_DEGREES


def test_flies_holding_a_wing_out_are_drawn_more_often(train_poses):
    points, thorax, names = train_poses
    open_l = _wing_open(points, names, "wingL")
    assert len(points) == 160 and open_l.sum() == 10  # the rare behaviour
    w = pose_sampling_weights(points, thorax)
    assert w.shape == (160,) and np.all(w > 0)
    assert w.sum() == pytest.approx(1.0)
    # Uniform draws give the 10 flies 6%; the rare pose gets about twice that.
    assert w[open_l].sum() > 1.8 * open_l.mean()
    assert w[open_l].mean() > 2 * w[~open_l].mean()
    assert w.max() / np.median(w) <= 5.0 + 1e-9  # clipped (max_ratio 5)
    uniform = pose_sampling_weights(points, thorax, strength=0.0)
    np.testing.assert_allclose(uniform, 1 / 160)


def test_weights_ignore_where_and_which_way_the_fly_stands(train_poses):
    points, thorax, _ = train_poses
    rng = np.random.default_rng(0)
    angle = rng.uniform(-np.pi, np.pi, len(points))
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    rel = points - points[:, thorax : thorax + 1]
    turned = np.stack(
        [c * rel[..., 0] - s * rel[..., 1], s * rel[..., 0] + c * rel[..., 1]], -1
    )
    moved = turned + rng.uniform(0, 1000, (len(points), 1, 2))
    np.testing.assert_allclose(
        pose_sampling_weights(moved, thorax), pose_sampling_weights(points, thorax)
    )


def test_missing_nodes_and_anchor_are_handled(train_poses):
    points, thorax, names = train_poses
    holes = points.copy()
    holes[::7, names.index("wingL")] = np.nan
    holes[::11, names.index("hindlegR4")] = np.nan
    holes[3, thorax] = np.nan  # the crop then centres on the bounding box
    assert np.isnan(holes).any(axis=2).sum() > 30
    desc = pose_descriptors(holes, thorax)
    assert desc.shape == (160, 2 * len(names)) and np.isfinite(desc).all()
    w = pose_sampling_weights(holes, thorax)
    assert np.isfinite(w).all() and np.all(w > 0)
    assert w.sum() == pytest.approx(1.0)
    open_l = _wing_open(points, names, "wingL")
    assert w[open_l].mean() > 1.5 * w[~open_l].mean()


def test_tiny_sets_fall_back_to_uniform(train_poses):
    points, thorax, _ = train_poses
    np.testing.assert_allclose(pose_sampling_weights(points[:1], thorax), [1.0])
    same = np.repeat(points[:1], 4, axis=0)  # all poses identical
    np.testing.assert_allclose(pose_sampling_weights(same, thorax), 0.25)
    assert pose_sampling_weights(points[:0], thorax).shape == (0,)
