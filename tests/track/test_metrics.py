from __future__ import annotations

import json

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.evaluate.tracking import evaluate_tracking
from napari_sleap.labeling.history import UndoStack
from napari_sleap.labeling.track_edits import DeleteTrackInstances, SwapTracks
from tests.track.synthetic import SKELETON, body, scene


def tracked_copy(gt: sio.Labels) -> sio.Labels:
    """Predictions equal to the truth, with their own track objects and names."""
    pred = gt.copy()
    for t in pred.tracks:
        t.name = "pred_" + t.name
    return pred


@pytest.fixture
def gt() -> sio.Labels:
    return scene([((0, 0), (1, 0)), ((200, 0), (1, 0))], frames=10, shuffle=False)[0]


def test_perfect_tracks_score_perfectly(gt: sio.Labels) -> None:
    m = evaluate_tracking(gt, tracked_copy(gt))
    assert (m.id_switches, m.misses, m.false_positives, m.fragmentations) == (
        0,
        0,
        0,
        0,
    )
    assert m.mota == m.idf1 == 1.0
    assert (m.gt_tracks, m.pred_tracks, m.frames) == (2, 2, 10)
    assert [c.coverage for c in m.per_track] == [1.0, 1.0]
    assert m.per_track[0].pred_track == "pred_animal0"
    assert json.loads(json.dumps(m.to_dict()))["idf1"] == 1.0
    assert "IDF1 1.0000" in m.summary()


def test_a_swap_counts_one_switch_per_animal_and_lowers_idf1(gt: sio.Labels) -> None:
    pred = tracked_copy(gt)
    UndoStack().push(SwapTracks(pred, *pred.tracks, start=7))
    m = evaluate_tracking(gt, pred)
    assert m.id_switches == 2
    assert m.mota == pytest.approx(1 - 2 / 20)
    assert m.idf1 == pytest.approx(2 * 14 / 40)
    assert [c.coverage for c in m.per_track] == [0.7, 0.7]


def test_gaps_count_misses_and_fragmentations(gt: sio.Labels) -> None:
    pred = tracked_copy(gt)
    UndoStack().push(DeleteTrackInstances(pred, pred.tracks[0], start=3, stop=6))
    m = evaluate_tracking(gt, pred)
    assert (m.misses, m.false_positives, m.id_switches) == (3, 0, 0)
    assert m.fragmentations == 1 and m.per_track[0].fragments == 1
    assert m.per_track[0].detected == 7
    assert m.mota == pytest.approx(1 - 3 / 20)
    assert m.idf1 == pytest.approx(2 * 17 / 37)


def test_far_or_spurious_predictions_are_false_positives(gt: sio.Labels) -> None:
    pred = tracked_copy(gt)
    lf = pred.labeled_frames[2]
    lf.instances.append(
        sio.PredictedInstance.from_numpy(
            body(600, 600, 0), skeleton=SKELETON, score=0.2
        )
    )
    moved = lf.instances[0]
    moved.points["xy"] += 50.0
    m = evaluate_tracking(gt, pred, max_distance=10.0)
    assert (m.misses, m.false_positives) == (1, 2)
    assert m.pred_tracks == 2  # the untracked spurious instance is not a track
    assert m.max_distance == 10.0
    assert evaluate_tracking(gt, pred, max_distance=100.0).misses == 0


def test_default_radius_and_frame_range(gt: sio.Labels) -> None:
    m = evaluate_tracking(gt, tracked_copy(gt), frame_range=(2, 5))
    assert m.frames == 3
    assert m.max_distance == pytest.approx(0.25 * 20.0)  # body length 20, flat box


def test_real_truth_against_itself(clip_gt: sio.Labels) -> None:
    m = evaluate_tracking(clip_gt, tracked_copy(clip_gt), frame_range=(1000, 1100))
    assert m.idf1 == 1.0 and m.id_switches == 0
    assert np.isclose(m.mota, 1.0)


def test_matching_by_oks() -> None:
    # Diagonal bodies: OKS needs a box with an area.
    gt = scene([((0, 0), (1, 1)), ((200, 0), (1, 1))], frames=10, shuffle=False)[0]
    pred = tracked_copy(gt)
    pred.labeled_frames[4].instances[0].points["xy"] += 0.5  # OKS about 0.6
    strict = evaluate_tracking(gt, pred, min_oks=0.99)
    assert (strict.misses, strict.false_positives) == (1, 1)
    assert strict.max_distance is None and strict.min_oks == 0.99
    assert "OKS >= 0.99" in strict.summary()
    assert json.loads(json.dumps(strict.to_dict()))["min_oks"] == 0.99
    assert evaluate_tracking(gt, pred, min_oks=0.5).misses == 0
    with pytest.raises(ValueError, match="min_oks"):
        evaluate_tracking(gt, pred, min_oks=1.5)
    for lf in pred.labeled_frames:
        for inst in lf.instances:
            inst.track = None
    with pytest.raises(ValueError, match="no tracked instances"):
        evaluate_tracking(pred, gt)
