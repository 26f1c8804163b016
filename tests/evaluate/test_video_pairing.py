"""Pose and tracking evaluation pair the videos of two files by one rule."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.evaluate.matching import find_frame_pairs
from napari_sleap.evaluate.tracking import evaluate_tracking
from napari_sleap.evaluate.videos import pair_videos

SKELETON = sio.Skeleton(["head", "tail"], edges=[("head", "tail")])


def _two_cameras(order: tuple[str, str], folder: str) -> sio.Labels:
    """Two videos, each with 3 frames of one tracked animal at a camera's place."""
    videos = {name: sio.Video(f"{folder}/{name}.mp4") for name in order}
    track = sio.Track("animal")
    frames = []
    for name, x0 in (("cam1", 10.0), ("cam2", 200.0)):
        for t in range(3):
            pts = np.array([[x0 + t, 50.0], [x0 + t + 20.0, 50.0]])
            inst = sio.Instance.from_numpy(pts, skeleton=SKELETON, track=track)
            frames.append(sio.LabeledFrame(videos[name], t, [inst]))
    return sio.Labels(
        frames, videos=[videos[n] for n in order], skeletons=[SKELETON], tracks=[track]
    )


def test_cameras_listed_in_another_order_pair_by_name_for_poses_and_tracks():
    gt = _two_cameras(("cam1", "cam2"), "/lab/day1")
    pr = _two_cameras(("cam2", "cam1"), "/scratch")
    assert pair_videos(gt, pr) == {0: 1, 1: 0}
    # tracking used to pair by position when the counts agreed: cam1 with cam2
    metrics = evaluate_tracking(gt, pr, max_distance=5.0)
    assert metrics.frames == 6 and metrics.matches == 6
    assert metrics.misses == 0 and metrics.false_positives == 0
    assert metrics.mota == pytest.approx(1.0)
    pairs = find_frame_pairs(gt, pr)
    assert len(pairs) == 6
    assert all(p.video in (0, 1) for p in pairs)


def test_same_path_wins_over_a_second_file_with_the_same_name():
    gt = sio.Labels(videos=[sio.Video("/a/cam.mp4")])
    pr = sio.Labels(videos=[sio.Video("/b/cam.mp4"), sio.Video("/a/cam.mp4")])
    assert pair_videos(gt, pr) == {0: 1}


def test_unrelated_videos_are_a_clear_error_in_both_evaluations():
    gt = _two_cameras(("cam1", "cam2"), "/lab")
    pr = _two_cameras(("cam1", "cam2"), "/lab")
    for video, name in zip(pr.videos, ("x", "y"), strict=True):
        video.filename = f"/elsewhere/{name}.mp4"
    with pytest.raises(ValueError, match="no video of the ground truth"):
        evaluate_tracking(gt, pr, max_distance=5.0)
    with pytest.raises(ValueError, match="no video of the ground truth"):
        find_frame_pairs(gt, pr)
