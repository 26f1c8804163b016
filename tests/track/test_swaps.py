"""Likely identity swaps: found where tracks were exchanged, jumped or scored low."""

from __future__ import annotations

import numpy as np
import sleap_io as sio

from napari_sleap.labeling.history import UndoStack
from napari_sleap.labeling.track_edits import SwapTracks
from napari_sleap.track.swaps import (
    TrackPositions,
    describe,
    likely_swaps,
    rank_swaps,
    track_positions,
)


def _walk(n: int, start: tuple[float, float], v: tuple[float, float]) -> np.ndarray:
    t = np.arange(n)[:, None]
    return np.asarray(start) + t * np.asarray(v)


def test_swap_between_two_walkers_ranks_first():
    a = _walk(100, (10, 10), (1, 0.2))
    b = _walk(100, (10, 60), (1, -0.2))
    pos = np.stack([a, b])
    pos[:, 40:] = pos[::-1, 40:]  # identities exchanged from frame 40 on
    tp = TrackPositions(np.arange(100), pos, np.full((2, 100), 0.9), ["a", "b"])
    events = rank_swaps(tp)
    assert events[0].frame == 40
    assert events[0].tracks == (0, 1)
    assert "swap" in events[0].kinds
    assert describe(events[0], tp.names).startswith("frame 40  a / b")


def test_two_swaps_far_apart_are_both_found_once():
    a = _walk(300, (10, 10), (1, 0.2))
    b = _walk(300, (10, 160), (1, -0.2))
    pos = np.stack([a, b])
    pos[:, 60:] = pos[::-1, 60:]
    pos[:, 250:] = pos[::-1, 250:]
    tp = TrackPositions(np.arange(300), pos, np.full((2, 300), 0.9), ["a", "b"])
    events = rank_swaps(tp)
    assert sorted(e.frame for e in events) == [60, 250]
    assert all(e.kinds[:2] == ("swap", "jump") for e in events)


def test_jump_and_low_score_are_reported():
    a = _walk(60, (0, 0), (1, 0))
    a[30:] += 50  # one track teleports
    score = np.full((1, 60), 0.9)
    score[0, 50:53] = 0.05
    tp = TrackPositions(np.arange(60), a[None], score, ["a"])
    events = rank_swaps(tp)
    kinds = {e.kinds[0]: e.frame for e in events}
    assert kinds["jump"] == 30
    assert kinds["low score"] == 50


def test_gap_is_not_a_jump():
    a = _walk(40, (0, 0), (1, 0))
    frames = np.r_[np.arange(20), np.arange(20) + 100]
    a[20:] += 80  # far away, but after 80 missing frames
    tp = TrackPositions(frames, a[None], np.full((1, 40), np.nan), ["a"])
    assert rank_swaps(tp) == []


def test_swapped_sample_labels_point_at_the_swap(sample_small):
    labels = sio.load_slp(str(sample_small.gt))
    assert len(labels.tracks) == 2
    clean = likely_swaps(labels)
    UndoStack().push(SwapTracks(labels, labels.tracks[0], labels.tracks[1], start=31))
    tp = track_positions(labels)
    assert tp.pos.shape[:2] == (2, len(labels.labeled_frames))
    events = likely_swaps(labels)
    assert events and events[0].frame == 31 and "swap" in events[0].kinds
    assert all(e.frame != 31 or "swap" not in e.kinds for e in clean)
