"""compare_labels sees every kind of loss a save could cause, one at a time."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.io.labels import compare_labels


def _labels() -> sio.Labels:
    """Two videos; per frame a user instance made from a tracked prediction."""
    skel = sio.Skeleton(
        ["head", "thorax", "wingL", "wingR"],
        edges=[("head", "thorax"), ("thorax", "wingL"), ("thorax", "wingR")],
        symmetries=[("wingL", "wingR")],
        name="fly4",
    )
    videos = [sio.Video("/data/cam1.mp4"), sio.Video("/data/cam2.mp4")]
    tracks = [sio.Track("male"), sio.Track("female")]
    rng = np.random.default_rng(3)
    frames = []
    for vi, video in enumerate(videos):
        for frame in (3, 10 + vi):
            pts = rng.uniform(0, 200, size=(4, 2))
            pts[2] = np.nan
            user = sio.Instance.from_numpy(pts, skeleton=skel, track=tracks[0])
            pred = sio.PredictedInstance.from_numpy(
                rng.uniform(0, 200, size=(4, 2)),
                point_scores=rng.uniform(0, 1, size=4),
                score=0.75,
                skeleton=skel,
                track=tracks[1],
                tracking_score=0.5,
            )
            user.from_predicted = pred
            frames.append(sio.LabeledFrame(video, frame, [user, pred]))
    labels = sio.Labels(frames, videos=videos, skeletons=[skel], tracks=tracks)
    labels.suggestions = [sio.SuggestionFrame(video=videos[1], frame_idx=7)]
    return labels


def _user(labels: sio.Labels) -> sio.Instance:
    return labels.labeled_frames[1].instances[0]


def _pred(labels: sio.Labels) -> sio.PredictedInstance:
    return labels.labeled_frames[1].instances[1]


def _move_point(labels):
    _user(labels).points["xy"][0] += (0.5, 0.0)


def _hide_point(labels):
    _user(labels).points["visible"][1] = False


def _point_score(labels):
    _pred(labels).points["score"][0] += 0.1


def _instance_score(labels):
    _pred(labels).score = 0.5


def _tracking_score(labels):
    _pred(labels).tracking_score = 0.9


def _swap_track(labels):
    _user(labels).track = labels.tracks[1]


def _untrack(labels):
    _pred(labels).track = None


def _delete_instance(labels):
    labels.labeled_frames[2].instances.pop(1)


def _rename_track(labels):
    labels.tracks[0].name = "male2"


def _drop_edge(labels):
    skel = labels.skeletons[0]
    skel.edges = [e for e in skel.edges if e.destination.name != "wingR"]


def _drop_symmetry(labels):
    skel = labels.skeletons[0]
    skel.symmetries = []


def _rename_node(labels):
    labels.skeletons[0].rename_nodes({"head": "Head"})


def _drop_suggestion(labels):
    labels.suggestions = []


def _rename_video(labels):
    labels.videos[1].filename = "/data/cam3.mp4"


def _unlink_prediction(labels):
    _user(labels).from_predicted = None


def _move_frame(labels):
    labels.labeled_frames[1].frame_idx = 11


MUTATIONS: dict[str, tuple[Callable[[sio.Labels], None], str]] = {
    "moved point": (_move_point, "points differ"),
    "hidden point": (_hide_point, "points differ"),
    "point score": (_point_score, "points differ"),
    "instance score": (_instance_score, "score 0.75 != 0.5"),
    "tracking score": (_tracking_score, "tracking score"),
    "track swapped": (_swap_track, "identity differs"),
    "track removed": (_untrack, "identity differs"),
    "instance deleted": (_delete_instance, "instance count 8 != 7"),
    "track renamed": (_rename_track, "track names differ"),
    "edge dropped": (_drop_edge, "skeletons differ"),
    "symmetry dropped": (_drop_symmetry, "skeletons differ"),
    "node renamed": (_rename_node, "skeletons differ"),
    "suggestion dropped": (_drop_suggestion, "suggestions differ"),
    "video renamed": (_rename_video, "video 1 name"),
    "prediction link lost": (_unlink_prediction, "from_predicted link"),
    "frame moved": (_move_frame, "identity differs"),
}


def test_identical_labels_compare_equal() -> None:
    assert compare_labels(_labels(), _labels()) == []


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_each_loss_is_reported(name: str) -> None:
    mutate, expected = MUTATIONS[name]
    changed = _labels()
    mutate(changed)
    diffs = compare_labels(_labels(), changed)
    assert diffs, f"{name}: not seen"
    assert any(expected in d for d in diffs), diffs


def test_an_instance_missing_in_the_middle_is_reported_not_raised() -> None:
    """Deleting one record shifts the rest: a user instance meets a prediction."""
    changed = _labels()
    changed.labeled_frames[0].instances.pop(0)
    diffs = compare_labels(_labels(), changed)
    assert "instance count 8 != 7" in diffs
    assert any("identity differs" in d for d in diffs)
