"""Skeleton helpers for training: left/right symmetries and anchor choice.

The shared fly clip stores no symmetries, yet left/right flips are only valid
when they swap symmetric nodes, so pairs are proposed from node names.
"""

from __future__ import annotations

import re

import numpy as np

# "left"/"right" words in any case, or a lone L/R marker that is not the start of
# a word (wingL, forelegL4, L_ear, l-eye; but not "Leg" or "tRunk").
_WORD = re.compile(r"(?i)(left|right)")
_MARK = re.compile(
    r"(?<![A-Z])([LR])(?![a-z])"  # upper-case marker: wingL, L_ear, forelegR4
    r"|(?:(?<=^)|(?<=[_\-. ]))([lr])(?=$|[_\-. \d])"  # lower-case: l_ear, ear_r
)


def _swap_word(match: re.Match) -> str:
    word = match.group(0)
    other = "right" if word.lower() == "left" else "left"
    if word.isupper():
        return other.upper()
    if word[0].isupper():
        return other.capitalize()
    return other


def _candidates(name: str) -> list[str]:
    out = []
    for m in _WORD.finditer(name):
        out.append(name[: m.start()] + _swap_word(m) + name[m.end() :])
    for m in _MARK.finditer(name):
        ch = m.group(0)
        swap = {"L": "R", "R": "L", "l": "r", "r": "l"}[ch]
        out.append(name[: m.start()] + swap + name[m.end() :])
    return out


def propose_symmetries(node_names: list[str]) -> list[tuple[int, int]]:
    """Left/right node pairs guessed from names (``wingL``/``wingR``, ``left_ear``...).

    Returns:
        Sorted ``(i, j)`` index pairs with ``i < j``; each node in at most one pair.
    """
    index = {n: i for i, n in enumerate(node_names)}
    pairs: set[tuple[int, int]] = set()
    used: set[int] = set()
    for i, name in enumerate(node_names):
        if i in used:
            continue
        for cand in _candidates(name):
            j = index.get(cand)
            if j is not None and j != i and j not in used:
                pairs.add((min(i, j), max(i, j)))
                used.update((i, j))
                break
    return sorted(pairs)


def symmetry_permutation(n_nodes: int, pairs: list[tuple[int, int]]) -> np.ndarray:
    """Node order after a left/right flip: each symmetric pair swapped."""
    perm = np.arange(n_nodes)
    for i, j in pairs:
        perm[i], perm[j] = j, i
    return perm


def skeleton_symmetries(skeleton) -> list[tuple[int, int]]:
    """Symmetries stored in a sleap-io skeleton, as node index pairs."""
    names = skeleton.node_names
    pairs = []
    for sym in skeleton.symmetries:
        a, b = (names.index(n.name) for n in sym.nodes)
        pairs.append((min(a, b), max(a, b)))
    return sorted(set(pairs))


def choose_anchor(points: np.ndarray, node_names: list[str]) -> str | None:
    """The node nearest the instances' bounding-box centres among always-visible nodes.

    A stable body-centre node (a fly's thorax) makes a better centroid than a
    box centre that shifts as wings and legs move. None if no node is visible
    in every instance.

    Args:
        points: ``(n_instances, n_nodes, 2)`` of all training instances.
        node_names: skeleton node names.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.size == 0:
        return None
    visible = np.all(np.isfinite(points), axis=2)  # (n, nodes)
    always = np.all(visible, axis=0)
    if not always.any():
        return None
    lo = np.nanmin(points, axis=1)
    hi = np.nanmax(points, axis=1)
    centre = (lo + hi) / 2  # (n, 2)
    dist = np.linalg.norm(points - centre[:, None, :], axis=2)  # (n, nodes)
    med = np.where(always, np.median(np.where(visible, dist, 0), axis=0), np.inf)
    return node_names[int(np.argmin(med))]
