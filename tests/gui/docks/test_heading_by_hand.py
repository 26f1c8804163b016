"""The mean pose faces the animal's head, not only its body axis (a person's Add).

A video whose first frames are the clip turned half round and whose later
frames are the clip as filmed: the labels (two frames, later in the video) face
one way, the flies clicked on frame 5 the other. With no earlier labeled frame
Add places the mean pose along the fly's body; which end is the head comes from
the image (the narrow end, as the labeled frames teach), so it is not placed
backwards as the smaller turn alone would place it.
"""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio
from qtpy.QtCore import Qt

from napari_sleap.io.labels import load_labels, save_labels
from napari_sleap.io.video import open_video
from napari_sleap.labeling import find_frame
from tests.gui.person import (
    add_expected,
    click,
    differences,
    labels_layers,
    look_at,
    open_in_order,
    save_shot,
)

pytestmark = pytest.mark.shared_data

TURNED = 10  # video frames 0..9: clip frames 0..9 turned 180 deg
SIZE = 1024


def _turn(xy: np.ndarray) -> np.ndarray:
    return (SIZE - 1) - xy


@pytest.fixture
def project(clip_mp4, clip_train_slp, tmp_path):
    """``turned.mp4`` (clip 0..9 turned, then clip 0..30) and labels on 10 and 30."""
    from imageio.v3 import imwrite

    reader = open_video(clip_mp4)
    frames = [np.asarray(reader[k])[..., 0] for k in range(31)]
    video = [f[::-1, ::-1] for f in frames[:TURNED]] + frames
    imwrite(tmp_path / "turned.mp4", np.stack(video), fps=25, codec="libx264")
    train = sio.load_slp(str(clip_train_slp), open_videos=False)
    vid = sio.Video.from_filename(str(tmp_path / "turned.mp4"))
    out = []
    for lf in train.labeled_frames:
        if lf.frame_idx in (0, 20):
            insts = [
                sio.Instance.from_numpy(i.numpy(), skeleton=train.skeletons[0])
                for i in lf.user_instances
            ]
            out.append(
                sio.LabeledFrame(
                    video=vid, frame_idx=lf.frame_idx + TURNED, instances=insts
                )
            )
    labels = sio.Labels(out, videos=[vid], skeletons=train.skeletons)
    return save_labels(labels, tmp_path / "turned.slp")


def _heading(xy: np.ndarray) -> float:
    """Degrees of the abdomen -> head vector."""
    v = xy[0] - xy[2]
    return float(np.degrees(np.arctan2(v[1], v[0])))


@pytest.mark.parametrize("dock_first", [True, False], ids=["dock-first", "slp-first"])
def test_mean_pose_faces_the_head(
    make_napari_viewer, qtbot, project, clip_all_slp, tmp_path, dock_first
):
    before = load_labels(project, video_search_paths=[tmp_path])
    truth = sio.load_slp(str(clip_all_slp), open_videos=False)
    gt = [_turn(i.numpy()) for i in find_frame(truth, truth.videos[0], 5).instances]
    viewer = make_napari_viewer(show=True)
    widget = open_in_order(viewer, project, dock_first)["Labeling"]
    points, edges = labels_layers(viewer)
    widget.set_frame(5)
    placed = []
    for k, fly in enumerate(gt):
        cx, cy = np.nanmean(fly, axis=0)
        look_at(qtbot, viewer, cy, cx, zoom=2.0)
        qtbot.mouseClick(widget.add_btn, Qt.MouseButton.LeftButton)
        click(qtbot, viewer, cy, cx)
        assert "head end from the image" in widget.status.text()
        inst = find_frame(widget.labels, widget.labels.videos[0], 5).instances[k]
        off = (_heading(inst.numpy()) - _heading(fly) + 180) % 360 - 180
        assert abs(off) < 30, (k, off)  # facing the fly's head, not its tail
        placed.append(inst.numpy())
        if k == 0:
            save_shot(viewer.screenshot(canvas_only=True), "mean_pose_faces_head.png")
    for xy in placed:
        add_expected(before, 5, xy)
    out = widget.save(tmp_path / "edited.slp")
    assert differences(before, load_labels(out, video_search_paths=[tmp_path])) == []
