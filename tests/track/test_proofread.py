from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.labeling.history import UndoStack
from napari_sleap.labeling.track_edits import (
    AssignTrack,
    DeleteTrack,
    DeleteTrackInstances,
    MergeTracks,
    SplitTrack,
    SwapTracks,
)


def snapshot(labels: sio.Labels) -> tuple:
    """Everything the edits may change, by object identity."""
    frames = tuple(
        (lf.frame_idx, tuple((id(i), id(i.track)) for i in lf.instances))
        for lf in labels.labeled_frames
    )
    return frames, tuple(id(t) for t in labels.tracks)


@pytest.fixture
def labels() -> sio.Labels:
    """Two tracks a and b over 10 frames (a at x=0, b at x=100)."""
    skel = sio.Skeleton(["head", "tail"])
    video = sio.Video(filename="fake.mp4")
    a, b = sio.Track(name="a"), sio.Track(name="b")
    frames = []
    for t in range(10):
        insts = [
            sio.PredictedInstance.from_numpy(
                np.array([[x, t], [x + 5, t]], float),
                skeleton=skel,
                score=0.9,
                track=tr,
            )
            for x, tr in ((0.0, a), (100.0, b))
        ]
        frames.append(sio.LabeledFrame(video=video, frame_idx=t, instances=insts))
    return sio.Labels(
        labeled_frames=frames, videos=[video], skeletons=[skel], tracks=[a, b]
    )


def track_x(labels: sio.Labels, name: str) -> list[float | None]:
    """x of the track's head per frame (None where absent)."""
    out = []
    for lf in labels.labeled_frames:
        xs = [i.numpy()[0, 0] for i in lf.instances if i.track and i.track.name == name]
        out.append(xs[0] if xs else None)
    return out


def check_undo_redo(labels: sio.Labels, stack: UndoStack, cmd) -> tuple:
    before = snapshot(labels)
    stack.push(cmd)
    after = snapshot(labels)
    assert after != before
    stack.undo()
    assert snapshot(labels) == before
    stack.redo()
    assert snapshot(labels) == after
    return after


def test_swap_from_frame_on_and_undo(labels: sio.Labels) -> None:
    a, b = labels.tracks
    stack = UndoStack()
    check_undo_redo(labels, stack, SwapTracks(labels, a, b, start=4))
    assert track_x(labels, "a") == [0.0] * 4 + [100.0] * 6
    assert track_x(labels, "b") == [100.0] * 4 + [0.0] * 6
    stack.push(SwapTracks(labels, a, b, start=6, stop=8))
    assert track_x(labels, "a")[5:9] == [100.0, 0.0, 0.0, 100.0]


def test_assign_exchanges_with_the_holder_of_the_track(labels: sio.Labels) -> None:
    a, b = labels.tracks
    stack = UndoStack()
    inst_a = labels.labeled_frames[3].instances[0]
    check_undo_redo(labels, stack, AssignTrack(labels, inst_a, b))
    assert inst_a.track is b
    assert labels.labeled_frames[3].instances[1].track is a
    new = sio.Track(name="c")
    stack.push(AssignTrack(labels, labels.labeled_frames[0].instances[0], new))
    assert labels.tracks[-1] is new
    stack.undo()
    assert new not in labels.tracks
    stack.push(AssignTrack(labels, inst_a, None))
    assert inst_a.track is None


def test_merge_refuses_overlaps_and_undo_restores_the_track_list(
    labels: sio.Labels,
) -> None:
    a, b = labels.tracks
    stack = UndoStack()
    before = snapshot(labels)
    with pytest.raises(ValueError, match="frame"):
        stack.push(MergeTracks(labels, b, a))
    assert snapshot(labels) == before
    assert not stack.can_undo
    stack.push(DeleteTrackInstances(labels, b, start=0, stop=5))
    stack.push(DeleteTrackInstances(labels, a, start=5))
    check_undo_redo(labels, stack, MergeTracks(labels, b, a))
    assert [t.name for t in labels.tracks] == ["a"]
    assert track_x(labels, "a") == [0.0] * 5 + [100.0] * 5


def test_split_makes_a_new_track_from_the_frame_on(labels: sio.Labels) -> None:
    a, _ = labels.tracks
    stack = UndoStack()
    cmd = SplitTrack(labels, a, start=7, new_name="a2")
    check_undo_redo(labels, stack, cmd)
    assert track_x(labels, "a") == [0.0] * 7 + [None] * 3
    assert track_x(labels, "a2") == [None] * 7 + [0.0] * 3
    with pytest.raises(ValueError, match="exists"):
        stack.push(SplitTrack(labels, a, start=2, new_name="b"))


def test_delete_track_untracks_or_deletes_instances(labels: sio.Labels) -> None:
    _, b = labels.tracks
    stack = UndoStack()
    check_undo_redo(labels, stack, DeleteTrack(labels, b))
    assert [t.name for t in labels.tracks] == ["a"]
    assert all(len(lf.instances) == 2 for lf in labels.labeled_frames)
    stack.undo()
    check_undo_redo(labels, stack, DeleteTrack(labels, b, delete_instances=True))
    assert all(len(lf.instances) == 1 for lf in labels.labeled_frames)


def test_delete_instances_in_a_range_restores_order_on_undo(labels: sio.Labels) -> None:
    a, _ = labels.tracks
    stack = UndoStack()
    check_undo_redo(labels, stack, DeleteTrackInstances(labels, a, start=2, stop=5))
    assert track_x(labels, "a") == [0.0, 0.0, None, None, None] + [0.0] * 5
    stack.undo()
    assert [i.track.name for i in labels.labeled_frames[3].instances] == ["a", "b"]


def test_stack_history_limits_and_listeners(labels: sio.Labels) -> None:
    a, b = labels.tracks
    seen = []
    stack = UndoStack(limit=2)
    stack.listeners.append(lambda cmd: seen.append(cmd.label))
    for t in range(3):
        stack.push(SwapTracks(labels, a, b, start=t))
    assert seen == ["swap a and b"] * 3
    stack.undo()
    stack.undo()
    assert not stack.can_undo and stack.can_redo
    with pytest.raises(ValueError, match="nothing to undo"):
        stack.undo()
    stack.redo()
    stack.push(SwapTracks(labels, a, b, start=9))
    assert not stack.can_redo
    with pytest.raises(ValueError, match="not one of"):
        stack.push(SwapTracks(labels, a, sio.Track(name="z")))
