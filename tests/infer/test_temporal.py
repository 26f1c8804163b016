"""Temporal pass on hand-made tracks with known answers."""

from __future__ import annotations

import numpy as np

from napari_sleap.infer.temporal import fix_jumps, link_tracks


def walk(n: int, start: tuple[float, float], step: tuple[float, float]) -> np.ndarray:
    """``(n, 3, 2)`` poses of a 3-node animal moving ``step`` px per frame."""
    base = np.array([[0, 0], [5, 0], [10, 0]], dtype=np.float64) + start
    return np.stack([base + np.multiply(step, t) for t in range(n)])


def test_link_tracks_follows_animals_whatever_their_order():
    a, b = walk(6, (0, 0), (1, 0)), walk(6, (0, 50), (1, -1))
    poses = [
        np.stack([a[t], b[t]]) if t % 2 else np.stack([b[t], a[t]]) for t in range(6)
    ]
    poses[3] = a[3][None]  # one animal missed in frame 3
    tracks, assign = link_tracks(poses, n_tracks=2)
    assert [a.tolist() for a in assign] == [[0, 1], [1, 0], [0, 1], [1], [0, 1], [1, 0]]
    assert np.isnan(tracks[3, 0]).all()
    # frame 0 puts b first
    np.testing.assert_array_equal(tracks[np.arange(6) != 3, 0], b[np.arange(6) != 3])
    np.testing.assert_array_equal(tracks[:, 1], a)


def test_fix_jumps_replaces_a_one_frame_jump_only():
    a = walk(9, (0, 0), (1, 0))
    tracks = a[:, None].copy()
    tracks[4, 0, 2] += [30, 0]  # leg tip taken from elsewhere in one frame
    fixed, n = fix_jumps(tracks, window=2, max_jump=10, max_spread=6)
    assert n == 1
    np.testing.assert_allclose(fixed[4, 0, 2], a[4, 2], atol=0.01)
    np.testing.assert_array_equal(fixed[np.arange(9) != 4], tracks[np.arange(9) != 4])
    # Fast motion (12 px per frame): neighbours disagree, nothing is touched.
    fast = walk(9, (0, 0), (12, 0))[:, None]
    assert fix_jumps(fast, max_jump=10, max_spread=6)[1] == 0
