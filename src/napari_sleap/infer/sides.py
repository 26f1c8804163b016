"""Left/right consistency: put left nodes back on the animal's left side.

Seen from above, an animal's left wing, legs and eye lie on one side of its
body axis (head to tail) and the right ones on the other. Which side is which
in image coordinates is read from labeled poses (:func:`fit_sides`); a
predicted pair whose two nodes both sit on the wrong side is swapped
(:func:`fix_sides`). Numpy only, applied to predicted poses after the fact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def side_signs(
    points: np.ndarray, pairs: Sequence[tuple[int, int]], front: int, back: int
) -> np.ndarray:
    """Side of each paired node relative to the ``back -> front`` axis.

    Args:
        points: ``(n, n_nodes, 2)`` poses, NaN where missing.
        pairs: ``(left, right)`` node indices.
        front: node index of the axis' front (a fly's head).
        back: node index of the axis' back (a fly's abdomen).

    Returns:
        ``(n, n_pairs, 2)`` signs (+1/-1, 0 where undefined) of the left and
        right node: the sign of the cross product of the axis and the node's
        offset from the axis midpoint.
    """
    p = np.asarray(points, dtype=np.float64)
    axis = p[:, front] - p[:, back]
    mid = 0.5 * (p[:, front] + p[:, back])
    idx = np.asarray(pairs, dtype=int).reshape(-1, 2)
    rel = p[:, idx] - mid[:, None, None]  # (n, n_pairs, 2, 2)
    cross = axis[:, None, None, 0] * rel[..., 1] - axis[:, None, None, 1] * rel[..., 0]
    return np.nan_to_num(np.sign(cross), nan=0.0)


@dataclass
class SideConvention:
    """Which side each left node lies on, learned from labeled poses.

    Attributes:
        pairs: ``(left, right)`` node indices.
        front: axis front node index.
        back: axis back node index.
        left_sign: ``(n_pairs,)`` +1/-1, the side of the left node.
        agreement: ``(n_pairs,)`` share of labeled poses with both nodes on
            their side (how far the rule can be trusted for that pair).
    """

    pairs: list[tuple[int, int]]
    front: int
    back: int
    left_sign: np.ndarray
    agreement: np.ndarray


def fit_sides(
    points: np.ndarray, pairs: Sequence[tuple[int, int]], front: int, back: int
) -> SideConvention:
    """Learn each pair's left side from labeled ``(n, n_nodes, 2)`` poses."""
    s = side_signs(points, pairs, front, back)
    both = (s[..., 0] != 0) & (s[..., 1] != 0)
    votes = np.where(both, s[..., 0] - s[..., 1], 0.0).sum(axis=0)
    left = np.where(votes >= 0, 1.0, -1.0)
    ok = both & (s[..., 0] == left) & (s[..., 1] == -left)
    agreement = ok.sum(axis=0) / np.maximum(both.sum(axis=0), 1)
    return SideConvention(list(map(tuple, pairs)), front, back, left, agreement)


def fix_sides(
    points: np.ndarray, conv: SideConvention, min_agreement: float = 0.95
) -> tuple[np.ndarray, int]:
    """Swap pairs whose left and right nodes both lie on the wrong side.

    Only pairs whose rule held in at least ``min_agreement`` of the labeled
    poses are touched; a pair with one node on each wrong side only is left.

    Returns:
        The corrected ``(n, n_nodes, 2)`` copy and the number of swaps.
    """
    out = np.array(points, dtype=np.float64, copy=True)
    if not len(out) or not conv.pairs:
        return out, 0
    s = side_signs(out, conv.pairs, conv.front, conv.back)
    wrong = (s[..., 0] == -conv.left_sign) & (s[..., 1] == conv.left_sign)
    wrong &= (conv.agreement >= min_agreement)[None]
    for k, (a, b) in enumerate(conv.pairs):
        rows = np.nonzero(wrong[:, k])[0]
        out[rows, a], out[rows, b] = out[rows, b], out[rows, a].copy()
    return out, int(wrong.sum())
