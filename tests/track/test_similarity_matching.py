from __future__ import annotations

import numpy as np
import pytest

from napari_sleap.track.matching import get_matcher, greedy_match, hungarian_match
from napari_sleap.track.similarity import (
    SIMILARITIES,
    centroid_similarity,
    default_scale,
    get_similarity,
    instance_similarity,
    iou_similarity,
    oks_similarity,
)


def square(x: float, y: float, size: float = 10.0) -> np.ndarray:
    return np.array([[x, y], [x + size, y], [x + size, y + size], [x, y + size]])


@pytest.mark.parametrize("name", sorted(SIMILARITIES))
def test_identical_poses_score_highest_and_far_ones_lower(name: str) -> None:
    ref = np.stack([square(0, 0), square(100, 100)])
    query = np.stack([square(100, 100), square(0, 0), square(3, 2)])
    sim = get_similarity(name)(ref, query, 10.0)
    assert sim.shape == (2, 3)
    assert np.all((sim >= 0) & (sim <= 1))
    assert sim[0, 1] == pytest.approx(1.0)
    assert sim[1, 0] == pytest.approx(1.0)
    assert sim[0, 1] > sim[0, 2] > sim[0, 0]


def test_missing_nodes_are_ignored_and_no_shared_node_scores_zero() -> None:
    a = square(0, 0)
    b = square(0, 0)
    b[0] = np.nan
    b[1] = [500, 500]  # one bad node lowers but does not zero the score
    s = instance_similarity(a[None], b[None], 10.0)[0, 0]
    assert 0.5 < s < 1.0
    only_a = a.copy()
    only_a[2:] = np.nan
    only_b = b.copy()
    only_b[:2] = np.nan
    assert instance_similarity(only_a[None], only_b[None], 10.0)[0, 0] == 0.0
    empty = np.full_like(a, np.nan)
    assert iou_similarity(a[None], empty[None])[0, 0] == 0.0
    assert centroid_similarity(a[None], empty[None], 5.0)[0, 0] == 0.0


def test_heavy_tail_keeps_far_candidates_ordered() -> None:
    ref = square(0, 0)[None]
    query = np.stack([square(200, 0), square(400, 0)])
    sim = instance_similarity(ref, query, 10.0)[0]
    assert sim[0] > sim[1] > 0


def test_iou_and_oks_values() -> None:
    a = square(0, 0, 10)
    b = square(5, 0, 10)
    assert iou_similarity(a[None], b[None])[0, 0] == pytest.approx(50 / 150)
    # OKS: every node 5 px off, area 100, kappa 0.1 -> exp(-25 / (2 * 100 * 0.01)).
    assert oks_similarity(a[None], b[None])[0, 0] == pytest.approx(np.exp(-12.5))


def test_default_scale_is_a_quarter_of_the_box_diagonal() -> None:
    poses = np.stack([square(0, 0, 30), square(50, 50, 40)])
    assert default_scale(poses) == pytest.approx(np.median([30, 40]) * np.sqrt(2) / 4)


def test_unknown_names_say_what_is_valid() -> None:
    with pytest.raises(ValueError, match="instance"):
        get_similarity("nope")
    with pytest.raises(ValueError, match="hungarian"):
        get_matcher("nope")


def test_hungarian_is_optimal_where_greedy_is_not() -> None:
    sim = np.array([[0.9, 0.8], [0.85, 0.1]])
    assert sorted(hungarian_match(sim)) == [(0, 1), (1, 0)]
    assert sorted(greedy_match(sim)) == [(0, 0), (1, 1)]


def test_threshold_and_rectangular_matrices() -> None:
    sim = np.array([[0.9, 0.05, 0.3]])
    assert hungarian_match(sim, 0.5) == [(0, 0)]
    assert greedy_match(sim.T, 0.5) == [(0, 0)]
    assert hungarian_match(np.array([[0.2]]), 0.5) == []
    assert hungarian_match(np.zeros((0, 3))) == []
    assert greedy_match(np.zeros((2, 0))) == []
