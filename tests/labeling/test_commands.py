"""Labeling edits on Labels and their undo/redo, without a viewer."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.io.labels import compare_labels, load_labels, save_labels
from napari_sleap.labeling import (
    AcceptPrediction,
    AddInstance,
    AssignTrack,
    CopyPrevious,
    DeleteInstances,
    SetPoints,
    SetSuggestions,
    UndoStack,
    find_frame,
    set_node_visible,
)
from napari_sleap.labeling.commands import used_predictions
from tests.labeling.helpers import add_prediction, sample_labels


def _snapshot(labels: sio.Labels) -> list:
    """Everything an edit may change, by value and by object identity."""
    out = []
    for lf in labels.labeled_frames:
        for inst in lf.instances:
            out.append(
                (
                    lf.frame_idx,
                    id(inst),
                    type(inst).__name__,
                    inst.track.name if inst.track else None,
                    inst.numpy().round(6).tolist(),
                    inst.points["visible"].tolist(),
                )
            )
    return [out, [t.name for t in labels.tracks], len(labels.labeled_frames)]


def test_add_instance_new_frame_undo_redo() -> None:
    labels = sample_labels()
    stack = UndoStack()
    before = _snapshot(labels)
    n = len(labels.skeletons[0].nodes)
    xy = np.full((n, 2), 50.0) + np.arange(n)[:, None]
    cmd = stack.push(AddInstance(labels, frame_idx=5, xy=xy))
    lf = find_frame(labels, labels.videos[0], 5)
    assert lf is not None and lf.instances == [cmd.instance]
    assert np.allclose(cmd.instance.numpy(), xy)
    stack.undo()
    assert _snapshot(labels) == before
    assert find_frame(labels, labels.videos[0], 5) is None
    stack.redo()
    assert find_frame(labels, labels.videos[0], 5).instances[0] is cmd.instance


def test_add_instance_checks_shape() -> None:
    labels = sample_labels()
    with pytest.raises(ValueError, match=r"xy must have shape \(10, 2\)"):
        UndoStack().push(AddInstance(labels, frame_idx=1, xy=np.zeros((3, 2))))


def test_drag_moves_merge_into_one_undo_step() -> None:
    labels = sample_labels()
    inst = labels.labeled_frames[0].instances[0]
    orig = inst.numpy().copy()
    stack = UndoStack()
    first = stack.push(SetPoints(labels, instance=inst, xy=orig + 1))
    first.merge(SetPoints(labels, instance=inst, xy=orig + 2))
    first.merge(SetPoints(labels, instance=inst, xy=orig + 3))
    assert np.allclose(inst.numpy(), orig + 3)
    stack.undo()
    assert np.allclose(inst.numpy(), orig) and not stack.can_undo
    stack.redo()
    assert np.allclose(inst.numpy(), orig + 3)


def test_node_visibility_toggle() -> None:
    labels = sample_labels()
    inst = labels.labeled_frames[0].instances[1]
    stack = UndoStack()
    stack.push(set_node_visible(labels, inst, 2, False))
    assert not inst.points["visible"][2] and np.isnan(inst.numpy()[2]).all()
    stack.undo()
    assert inst.points["visible"][2]
    # a never-placed node appears at the instance centre when shown
    inst.points["xy"][4] = np.nan
    inst.points["visible"][4] = False
    stack.push(set_node_visible(labels, inst, 4, True))
    assert inst.points["visible"][4] and np.isfinite(inst.points["xy"][4]).all()


def test_delete_assign_and_redo_keep_objects() -> None:
    labels = sample_labels()
    stack = UndoStack()
    before = _snapshot(labels)
    lf = labels.labeled_frames[1]
    a, b = lf.instances
    stack.push(DeleteInstances(labels, instances=[a]))
    assert lf.instances == [b]
    new_track = sio.Track("c")
    stack.push(AssignTrack(labels, instance=b, track=new_track))
    assert b.track is new_track and labels.tracks[-1] is new_track
    stack.undo()
    stack.undo()
    assert _snapshot(labels) == before
    stack.redo()
    assert lf.instances == [b]


def test_accept_prediction_keeps_points_and_track() -> None:
    labels = sample_labels()
    pred = add_prediction(labels, 3)
    pred.track = labels.tracks[1]
    stack = UndoStack()
    cmd = stack.push(AcceptPrediction(labels, instances=[pred]))
    (user,) = cmd.accepted
    lf = find_frame(labels, labels.videos[0], 3)
    assert lf.instances == [user, pred] and type(user) is sio.Instance
    assert used_predictions(lf) == {id(pred)}
    assert np.allclose(user.numpy(), pred.numpy()) and user.track is pred.track
    assert user.from_predicted is pred
    stack.undo()
    assert lf.instances == [pred]
    with pytest.raises(ValueError, match="already a user instance"):
        stack.push(AcceptPrediction(labels, instances=[labels.labeled_frames[0][0]]))


def test_copy_previous_frame() -> None:
    labels = sample_labels()
    stack = UndoStack()
    cmd = stack.push(CopyPrevious(labels, frame_idx=15))
    assert cmd.source_frame == 10
    lf = find_frame(labels, labels.videos[0], 15)
    src = find_frame(labels, labels.videos[0], 10)
    assert [i.track for i in lf.instances] == [i.track for i in src.instances]
    assert np.allclose(lf.instances[0].numpy(), src.instances[0].numpy())
    assert lf.instances[0] is not src.instances[0]
    # both tracks are there already: copying again is refused
    with pytest.raises(ValueError, match="already on frame 15"):
        stack.push(CopyPrevious(labels, frame_idx=15))
    stack.undo()
    assert find_frame(labels, labels.videos[0], 15) is None
    with pytest.raises(ValueError, match="no user-labeled frame before 0"):
        stack.push(CopyPrevious(labels, frame_idx=0))


def test_suggestions_replace_and_undo() -> None:
    labels = sample_labels()
    stack = UndoStack()
    stack.push(SetSuggestions(labels, frames=[7, 3, 3], method="uniform"))
    assert [s.frame_idx for s in labels.suggestions] == [3, 7]
    stack.push(SetSuggestions(labels, frames=[1], method="random"))
    assert [s.frame_idx for s in labels.suggestions] == [1]
    stack.undo()
    assert [s.frame_idx for s in labels.suggestions] == [3, 7]


def test_edits_survive_save_and_reopen(tmp_path) -> None:
    labels = sample_labels()
    stack = UndoStack()
    inst = labels.labeled_frames[0].instances[0]
    stack.push(SetPoints(labels, instance=inst, xy=inst.numpy() + 2.5))
    stack.push(CopyPrevious(labels, frame_idx=25))
    pred = add_prediction(labels, 12)
    stack.push(AcceptPrediction(labels, instances=[pred]))
    stack.push(SetSuggestions(labels, frames=[4, 8], method="uniform"))
    path = save_labels(labels, tmp_path / "edited.slp")
    back = load_labels(path, missing_videos="ignore")
    assert compare_labels(labels, back) == []
    assert back.labeled_frames[0].instances[0].numpy()[0, 0] == pytest.approx(
        inst.numpy()[0, 0]
    )
