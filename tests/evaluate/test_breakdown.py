"""Contact / time / per-node breakdown on hand-made poses with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap.evaluate.breakdown import (
    breakdown,
    closest_distance,
    format_breakdown,
    swapped_sides,
)
from napari_sleap.evaluate.matching import FramePair

NAMES = ["head", "thorax", "wingL", "wingR"]


def fly(x: float, y: float) -> np.ndarray:
    """A 4-node animal at (x, y): head, thorax, wings 10 px to each side."""
    return np.array([[x, y - 20], [x, y], [x - 10, y + 10], [x + 10, y + 10]], float)


def frame(idx: int, gt: list[np.ndarray], pr: list[np.ndarray]) -> FramePair:
    return FramePair(
        video=0,
        frame_idx=idx,
        gt=np.stack(gt),
        pr=np.stack(pr) if pr else np.zeros((0, len(NAMES), 2)),
        pr_scores=np.ones(len(pr)),
    )


def test_closest_distance_between_two_animals():
    a, b = fly(0, 0), fly(35, 0)  # wingR of a at (10,10), wingL of b at (25,10)
    assert closest_distance(np.stack([a, b])) == pytest.approx(15.0)
    b[2] = np.nan  # without b's left wing the closest is b's head/thorax
    assert closest_distance(np.stack([a, b])) == pytest.approx(np.hypot(25, 10))
    assert closest_distance(a[None]) == np.inf


def test_swapped_sides_counts_only_crossed_pairs():
    gt = np.stack([fly(0, 0), fly(100, 0)])
    pr = gt.copy()
    pr[1, [2, 3]] = pr[1, [3, 2]]  # second animal's wings swapped
    swapped, counted = swapped_sides(gt, pr, [(2, 3)])
    assert swapped[:, 0].tolist() == [False, True]
    assert counted.all()
    pr[0, 3] = np.nan
    swapped, counted = swapped_sides(gt, pr, [(2, 3)])
    assert counted[:, 0].tolist() == [False, True]


def test_breakdown_splits_contact_apart_and_time():
    # Frames 0..2 apart and exact; frames 25..27 in contact with one node 8 px
    # off and the wings of one animal swapped in frame 27.
    pairs = []
    for f in range(3):
        g = [fly(0, 0), fly(200, 0)]
        pairs.append(frame(f, g, [p.copy() for p in g]))
    for f in range(25, 28):
        g = [fly(0, 0), fly(30, 0)]  # closest nodes 10 px apart
        p = [x.copy() for x in g]
        p[0][0] += [8.0, 0.0]
        if f == 27:
            p[1][[2, 3]] = p[1][[3, 2]]
        pairs.append(frame(f, g, p))
    rep = breakdown(pairs, NAMES, contact_px=20, bin_frames=25, pck_px=5)

    assert rep["contact_share"] == pytest.approx(0.5)
    assert rep["apart"]["frames"] == 3 and rep["contact"]["frames"] == 3
    assert rep["apart"]["oks_map"] == pytest.approx(1.0)
    assert rep["apart"]["error_p90"] == 0.0 and rep["apart"]["pck"] == 1.0
    assert rep["apart"]["lr_swaps"] == [0, 6]
    # Contact: 24 visible nodes; 3 heads off by 8 px, 2 wings off by 20 px.
    c = rep["contact"]
    assert c["pck"] == pytest.approx(19 / 24)
    assert c["lr_swaps"] == [1, 6]
    assert c["per_node"]["head"]["pck"] == pytest.approx(0.5)
    assert c["per_node"]["head"]["p50"] == pytest.approx(4.0)
    assert c["per_node"]["thorax"]["p90"] == 0.0
    assert c["oks_map"] < 1.0
    assert list(rep["time"]) == ["0-24", "25-49"]
    assert rep["time"]["25-49"]["contact_share"] == 1.0
    assert rep["time"]["0-24"]["oks_map"] == pytest.approx(1.0)
    text = format_breakdown(rep, title="toy")
    assert "contact" in text and "t 25-49" in text and "1/6" in text


def test_missed_animal_lowers_recall_and_map():
    g = [fly(0, 0), fly(200, 0)]
    pairs = [frame(0, g, [g[0].copy()]), frame(1, g, [p.copy() for p in g])]
    rep = breakdown(pairs, NAMES)
    assert rep["all"]["gt_instances"] == 4 and rep["all"]["matched"] == 3
    assert rep["all"]["oks_map"] == pytest.approx(0.75, abs=0.02)


def test_missing_predicted_node_fails_pck_not_percentiles():
    g = [fly(0, 0)]
    p = g[0].copy()
    p[2] = np.nan
    rep = breakdown([frame(0, g, [p])], NAMES)
    assert rep["all"]["pck"] == pytest.approx(3 / 4)
    assert rep["all"]["error_p90"] == 0.0
    assert rep["all"]["missing_nodes"] == [1, 4]
    assert rep["all"]["per_node"]["wingL"]["n"] == 1
    assert rep["all"]["per_node"]["wingL"]["pck"] == 0.0
