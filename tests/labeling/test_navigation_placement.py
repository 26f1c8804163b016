"""Frame navigation sets and where new instances are placed."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.labeling import (
    AcceptPrediction,
    FrameSets,
    UndoStack,
    default_layout,
    mean_pose,
    place_instance,
)
from napari_sleap.labeling.commands import previous_labeled_frame
from tests.labeling.helpers import add_prediction, sample_labels


def test_step_through_each_kind() -> None:
    labels = sample_labels(n_frames=30, every=10)  # user frames 0, 10, 20
    add_prediction(labels, 12, score=0.2)
    add_prediction(labels, 14, score=0.9)
    labels.suggestions.append(sio.SuggestionFrame(labels.videos[0], 7))
    sets = FrameSets.from_labels(labels, score_threshold=0.5)
    assert sets.n_frames == 30
    assert sets.step("labeled", 0) == 10 and sets.step("labeled", 10, -1) == 0
    assert sets.step("labeled", 20) is None
    assert sets.step("predicted", 0) == 12 and sets.step("predicted", 12) == 14
    assert sets.step("low_score", 0) == 12 and sets.step("low_score", 12) is None
    assert sets.step("suggested", 0) == 7 and sets.step("suggested", 9, -1) == 7
    assert sets.step("unlabeled", 9) == 11 and sets.step("unlabeled", 1, -1) is None
    assert sets.step("unlabeled", 29) is None
    with pytest.raises(ValueError, match="frame kind 'bogus'"):
        sets.step("bogus", 0)
    # an accepted prediction is no longer a low-score (or predicted) frame
    lf12 = next(lf for lf in labels.labeled_frames if lf.frame_idx == 12)
    UndoStack().push(AcceptPrediction(labels, instances=[lf12.instances[0]]))
    sets = FrameSets.from_labels(labels, score_threshold=0.5)
    assert sets.step("low_score", 0) is None and sets.step("labeled", 10) == 12


def test_unlabeled_jumps_runs_fast() -> None:
    taken = np.arange(0, 100_000)
    sets = FrameSets(
        taken, np.zeros(0, int), np.zeros(0, int), np.zeros(0, int), 200_000
    )
    assert sets.step("unlabeled", 0) == 100_000
    assert sets.step("unlabeled", 150_000, -1) == 149_999


def test_clip_navigation(clip_train_slp) -> None:
    labels = sio.load_slp(str(clip_train_slp), open_videos=False)
    sets = FrameSets.from_labels(labels, n_frames=1500)
    assert len(sets.labeled) == 100
    assert sets.step("labeled", 0) == 20 and sets.step("labeled", 1000) == 1005
    assert sets.step("unlabeled", 19) == 21


def test_default_layout_follows_edges() -> None:
    labels = sample_labels()
    skel = labels.skeletons[0]
    layout = default_layout(skel, size=60)
    assert layout.shape == (10, 2) and np.isfinite(layout).all()
    assert np.allclose(layout.mean(axis=0), 0, atol=1e-9)
    # distinct positions, connected nodes closer than the layout size
    assert len(np.unique(layout.round(3), axis=0)) == 10
    for a, b in skel.edge_inds:
        assert np.linalg.norm(layout[a] - layout[b]) < 60


def test_mean_pose_and_placement() -> None:
    labels = sample_labels()
    pose = mean_pose(labels)
    insts = [i for lf in labels.labeled_frames for i in lf.user_instances]
    centred = [i.numpy() - i.numpy().mean(axis=0) for i in insts]
    assert np.allclose(pose, np.mean(centred, axis=0))
    xy = place_instance(labels, (40.0, 70.0))
    assert np.allclose(xy.mean(axis=0), (40.0, 70.0))
    # empty project: default layout around the click
    empty = sio.Labels(videos=labels.videos, skeletons=labels.skeletons)
    assert mean_pose(empty) is None
    assert np.allclose(place_instance(empty, (5, 5)).mean(axis=0), (5, 5))


def test_previous_labeled_frame_ignores_predictions() -> None:
    labels = sample_labels()
    add_prediction(labels, 15)
    lf = previous_labeled_frame(labels, labels.videos[0], 17)
    assert lf.frame_idx == 10
