"""Assign detections to tracks from a similarity matrix: optimal or greedy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import linear_sum_assignment

MatchFn = Callable[[np.ndarray, float], list[tuple[int, int]]]


def hungarian_match(
    sim: np.ndarray, min_similarity: float = 0.0
) -> list[tuple[int, int]]:
    """Pairs (row, col) maximizing the total similarity (Hungarian algorithm).

    Pairs scoring below ``min_similarity`` are dropped after the assignment.
    """
    if sim.size == 0:
        return []
    rows, cols = linear_sum_assignment(np.nan_to_num(sim, nan=0.0), maximize=True)
    return [
        (int(r), int(c))
        for r, c in zip(rows, cols, strict=True)
        if sim[r, c] >= min_similarity
    ]


def greedy_match(sim: np.ndarray, min_similarity: float = 0.0) -> list[tuple[int, int]]:
    """Pairs taken best-first, each row and column at most once."""
    if sim.size == 0:
        return []
    sim = np.nan_to_num(sim, nan=0.0)
    order = np.argsort(-sim, axis=None, kind="stable")
    used_r: set[int] = set()
    used_c: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for flat in order:
        r, c = divmod(int(flat), sim.shape[1])
        if sim[r, c] < min_similarity:
            break
        if r in used_r or c in used_c:
            continue
        used_r.add(r)
        used_c.add(c)
        pairs.append((r, c))
        if len(used_r) == sim.shape[0] or len(used_c) == sim.shape[1]:
            break
    return pairs


MATCHERS: dict[str, MatchFn] = {"hungarian": hungarian_match, "greedy": greedy_match}


def get_matcher(name: str) -> MatchFn:
    """Look a matcher up by name; the error lists the valid names."""
    try:
        return MATCHERS[name]
    except KeyError:
        raise ValueError(
            f"match={name!r} is not known: use one of {sorted(MATCHERS)}"
        ) from None
