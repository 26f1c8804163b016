"""The proximity trigger on the fly clip's proofread poses (frames 1000..1249).

The poses of ``clip_0-1249.slp`` go through the trigger as if a model had found
them; it must be on exactly on the frames where one fly's head is within N px
of the other's thorax, computed here by plain loops over the labels, and switch
exactly at the rule's onsets and offsets. The scoring against labels is checked
on known answers (a perfect trigger, one late by two frames).
"""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap.infer.results import FramePoses
from napari_sleap.live.loop import LiveResult
from napari_sleap.live.trigger import (
    ProximityTrigger,
    TriggerEvent,
    compare_to_labels,
    onsets,
    rule_from_labels,
)

pytestmark = pytest.mark.shared_data

#: The flies walk from frame 1000; at 60 px the rule switches several times.
FRAMES = range(1000, 1250)
N_PX = 60.0


@pytest.fixture(scope="module")
def clip_poses(clip_all_slp):
    """Frame -> ``(animals, 13, 2)`` proofread points, and the node names."""
    import sleap_io as sio

    labels = sio.load_slp(str(clip_all_slp))
    names = [n.name for n in labels.skeletons[0].nodes]
    by_frame = {}
    for lf in labels.labeled_frames:
        if lf.frame_idx in FRAMES:
            by_frame[lf.frame_idx] = np.stack([i.numpy() for i in lf.user_instances])
    return labels, names, by_frame


def _head_near_thorax(points: np.ndarray, names: list[str], n_px: float) -> bool:
    head, thorax = names.index("head"), names.index("thorax")
    for i in range(len(points)):
        for j in range(len(points)):
            if i != j and np.hypot(*(points[i, head] - points[j, thorax])) < n_px:
                return True
    return False


def _result(frame: int, points: np.ndarray) -> LiveResult:
    poses = FramePoses(points, np.ones(points.shape[:2]), np.ones(len(points)))
    t = frame / 30.0
    return LiveResult(frame, poses, t, t, t, t)


def test_trigger_is_on_exactly_where_the_rule_holds(clip_poses):
    _, names, by_frame = clip_poses
    switches = []
    trigger = ProximityTrigger(
        names, N_PX, on_change=lambda on, r: switches.append((r.index, on))
    )
    live = {f: trigger(_result(f, by_frame[f])) for f in FRAMES}
    truth = {f: _head_near_thorax(by_frame[f], names, N_PX) for f in FRAMES}
    assert live == truth
    # The rule holds on some frames and not others (a real test of the rule).
    assert 10 < sum(truth.values()) < len(truth) - 10
    flips = [f for f in FRAMES if f > FRAMES[0] and truth[f] != truth[f - 1]]
    if truth[FRAMES[0]]:
        flips = [FRAMES[0], *flips]
    assert [f for f, _ in switches] == flips
    assert [e.index for e in trigger.events] == flips
    assert [e.on for e in trigger.events] == [on for _, on in switches]


def test_rule_from_labels_agrees_with_the_loops(clip_poses):
    labels, names, by_frame = clip_poses
    rule = rule_from_labels(labels, FRAMES, N_PX)
    assert rule == {f: _head_near_thorax(by_frame[f], names, N_PX) for f in FRAMES}
    assert onsets(rule) == [
        f for f in FRAMES if f > FRAMES[0] and rule[f] and not rule[f - 1]
    ]


def test_scoring_a_perfect_and_a_late_trigger(clip_poses):
    labels, _, _ = clip_poses
    truth = rule_from_labels(labels, FRAMES, N_PX)
    on_frames = onsets(truth)
    due = {f: f / 30.0 for f in FRAMES}
    # Perfect: decided on every frame, fired 10 ms after each onset frame.
    events = [TriggerEvent(f, due[f] + 0.010, truth[f]) for f in FRAMES]
    events = [e for p, e in zip(FRAMES, events[1:], strict=False) if truth[p] != e.on]
    score = compare_to_labels(dict(truth), events, truth, due.__getitem__)
    assert score["processed"]["precision"] == 1.0 == score["held"]["recall"]
    assert score["onsets"]["matched"] == len(on_frames) and not score["onsets"]["false"]
    np.testing.assert_allclose(score["onsets"]["delay_ms"], 10.0)
    # Late by two frames, deciding only on even frames: held states lag, the
    # onsets are found 2-3 frames (67-100 ms, plus the 10 ms) late.
    frames = list(FRAMES)
    late = {f: truth[frames[max(k - 2, 0)]] for k, f in enumerate(frames) if f % 2 == 0}
    late_events, prev = [], False
    for f in sorted(late):
        if late[f] != prev:
            late_events.append(TriggerEvent(f, due[f] + 0.010, late[f]))
            prev = late[f]
    score = compare_to_labels(late, late_events, truth, due.__getitem__)
    held = score["held"]
    assert held["fn"] > 0 and held["fp"] > 0
    assert held["tp"] + held["fn"] == sum(truth.values())
    delays = score["onsets"]["delay_ms"]
    assert delays and set(delays) <= {76.7, 110.0}, delays


def test_unknown_node_is_named_with_the_skeleton(clip_poses):
    _, names, _ = clip_poses
    with pytest.raises(ValueError, match="no node 'nose'.*head, thorax"):
        ProximityTrigger(names, 10.0, node="nose")
    with pytest.raises(ValueError, match="distance_px must be > 0"):
        ProximityTrigger(names, 0.0)
