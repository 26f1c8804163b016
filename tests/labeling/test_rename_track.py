"""RenameTrack: one undoable step; empty or taken names refused, nothing changed."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.labeling import UndoStack
from napari_sleap.labeling.track_edits import RenameTrack


def _labels() -> sio.Labels:
    skel = sio.Skeleton(["a", "b"])
    tracks = [sio.Track("male"), sio.Track("female")]
    video = sio.Video(filename="v.mp4", open_backend=False)
    insts = [
        sio.Instance.from_numpy(np.ones((2, 2)) * k, skeleton=skel, track=tracks[k])
        for k in range(2)
    ]
    lf = sio.LabeledFrame(video=video, frame_idx=0, instances=insts)
    return sio.Labels([lf], videos=[video], skeletons=[skel], tracks=tracks)


def test_rename_undo_redo():
    labels = _labels()
    stack = UndoStack()
    cmd = stack.push(RenameTrack(labels, track=labels.tracks[0], name=" m1 "))
    assert labels.tracks[0].name == "m1" and cmd.label == "rename male to m1"
    assert cmd.n_retracked == 1  # its instance is reported, to redraw its name
    stack.undo()
    assert labels.tracks[0].name == "male"
    stack.redo()
    assert labels.tracks[0].name == "m1"


@pytest.mark.parametrize(
    ("name", "said"), [("female", "already named"), ("  ", "empty")]
)
def test_rename_refused_changes_nothing(name, said):
    labels = _labels()
    stack = UndoStack()
    with pytest.raises(ValueError, match=said):
        stack.push(RenameTrack(labels, track=labels.tracks[0], name=name))
    assert [t.name for t in labels.tracks] == ["male", "female"]
    assert not stack.can_undo
