"""A temporal pass: nodes that jump away from where their neighbours agree.

Where two animals touch, a leg tip can be taken from the other animal for a
frame or two while the frames around it have it right. Poses are linked into
tracks from frame to frame (nearest poses, one to one), then a node far from
the median of the same node in the neighbouring frames, while those frames
agree among themselves, is replaced by that median. Numpy only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment


def _pose_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean node distance between every pose of ``a`` and of ``b``."""
    d = np.linalg.norm(a[:, None] - b[None], axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN poses
        out = np.nanmean(d, axis=-1)
    return np.where(np.isnan(out), 1e9, out)


def link_tracks(
    poses: Sequence[np.ndarray], n_tracks: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Consecutive frames' poses as ``(n_frames, n_tracks, n_nodes, 2)`` tracks.

    Each frame's poses join the tracks of the previous frame one to one by the
    smallest mean node distance; a missing pose is NaN. The first frame with
    poses orders the tracks.

    Args:
        poses: per frame ``(n_i, n_nodes, 2)``, in frame order.
        n_tracks: most animals.

    Returns:
        The tracks, and per frame the track of each of its poses (-1: left out
        beyond ``n_tracks``), to put corrected poses back in place.
    """
    n_nodes = next((p.shape[1] for p in poses if len(p)), 0)
    out = np.full((len(poses), n_tracks, n_nodes, 2), np.nan)
    last = np.full((n_tracks, n_nodes, 2), np.nan)
    assign = []
    for t, p in enumerate(poses):
        p = np.asarray(p, dtype=np.float64)
        which = np.full(len(p), -1)
        p = p[:n_tracks]
        if len(p) and np.isnan(last).all():
            which[: len(p)] = np.arange(len(p))
        elif len(p):
            rows, cols = linear_sum_assignment(_pose_distance(last, p))
            which[cols] = rows
            free = [i for i in range(n_tracks) if i not in set(rows)]
            rest = [j for j in range(len(p)) if j not in set(cols)]
            for i, j in zip(free, rest, strict=False):
                which[j] = i
        for j, i in enumerate(which[: len(p)]):
            if i >= 0:
                out[t, i] = p[j]
        seen = ~np.isnan(out[t]).all(axis=(-1, -2))
        last[seen] = out[t, seen]
        assign.append(which)
    return out, assign


def fix_jumps(
    tracks: np.ndarray, window: int = 2, max_jump: float = 10.0, max_spread: float = 6.0
) -> tuple[np.ndarray, int]:
    """Replace nodes far from their neighbours' agreed position.

    Args:
        tracks: ``(n_frames, n_tracks, n_nodes, 2)`` from :func:`link_tracks`.
        window: frames on each side compared.
        max_jump: a node further than this (px) from the neighbours' median
            is replaced by it.
        max_spread: ...only if the neighbours lie within this (px, median
            distance from their median): they agree.

    Returns:
        The corrected copy and the number of nodes replaced.
    """
    out = tracks.copy()
    n = len(tracks)
    changed = 0
    for t in range(n):
        idx = [k for k in range(t - window, t + window + 1) if k != t and 0 <= k < n]
        if len(idx) < 2:
            continue
        near = tracks[idx]  # (k, n_tracks, n_nodes, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN nodes
            med = np.nanmedian(near, axis=0)
            spread = np.nanmedian(np.linalg.norm(near - med[None], axis=-1), axis=0)
        jump = np.linalg.norm(tracks[t] - med, axis=-1)
        bad = (jump > max_jump) & (spread < max_spread)
        out[t][bad] = med[bad]
        changed += int(bad.sum())
    return out, changed
