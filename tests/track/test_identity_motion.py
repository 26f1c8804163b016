from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.evaluate.tracking import evaluate_tracking
from napari_sleap.track import track_labels
from napari_sleap.track.identity_motion import (
    best_identity_maps,
    count_maps,
    identity_maps,
)


def steady_evidence(frames: int = 12) -> np.ndarray:
    e = np.zeros((frames, 2, 2))
    e[:, 0, 0] = e[:, 1, 1] = 0.9
    return e


def test_a_one_frame_slip_is_outvoted() -> None:
    e = steady_evidence()
    e[4] = e[4, ::-1]  # for one frame each animal looks like the other
    assert best_identity_maps(e, 2.0)[:, 0].tolist() == [0] * 12
    assert best_identity_maps(e, 0.0)[4, 0] == 1  # no cost: believe every frame


def test_a_motion_swap_is_corrected_where_it_happened() -> None:
    e = steady_evidence()
    e[6:] = e[6:, ::-1]  # the motion tracks swapped animals at frame 6
    maps = best_identity_maps(e, 2.0)
    assert maps[:, 0].tolist() == [0] * 6 + [1] * 6
    assert maps[:, 1].tolist() == [1] * 6 + [0] * 6


def test_maps_and_limits() -> None:
    assert identity_maps(2, 3).tolist() == [
        [0, 1],
        [0, 2],
        [1, 0],
        [1, 2],
        [2, 0],
        [2, 1],
    ]
    assert count_maps(3, 5) == 60
    assert best_identity_maps(np.zeros((0, 2, 2)), 1.0).shape == (0, 2)
    with pytest.raises(ValueError, match="max_tracks"):
        best_identity_maps(np.zeros((3, 3, 2)), 1.0)
    with pytest.raises(ValueError, match="identity_switch_cost=0"):
        best_identity_maps(np.zeros((1, 8, 8)), 1.0)


@pytest.mark.usefixtures("clip_mp4")
def test_noisy_identity_model_on_the_real_clip(
    clip_gt: sio.Labels, degraded_clip
) -> None:
    rng = (950, 1250)
    det = degraded_clip(seed=2, frame_range=rng, identity_errors=0.1)
    per_frame = track_labels(det, "identity", 2, identity_switch_cost=0)
    steady = track_labels(det, "identity", 2)
    assert sorted(t.name for t in steady.tracks) == ["female", "male"]
    raw = evaluate_tracking(clip_gt, per_frame, frame_range=rng)
    m = evaluate_tracking(clip_gt, steady, frame_range=rng)
    assert raw.id_switches > 20
    assert m.id_switches == 0 and m.idf1 >= 0.95 and m.pred_tracks == 2
    # Named after the animals, the tracks are right, not merely consistent.
    assert all(c.pred_track == c.gt_track for c in m.per_track)
