"""Tracks from identity models: each instance already says which animal it is.

Identity models (top-down or bottom-up with class maps/vectors) give each instance
an identity and a score, stored either as ``instance.identity`` with
``identity_score`` or, as SLEAP 1.x writes them, as a track with ``tracking_score``.
Per frame, instances and identities are paired to maximize the total score, so no
identity is used twice in a frame (``identity_switch_cost=0``); by default the
tracker steadies these per-frame identities with motion (:mod:`.identity_motion`).
"""

from __future__ import annotations

import numpy as np
import sleap_io as sio
from scipy.optimize import linear_sum_assignment


def identity_name(inst: sio.Instance) -> tuple[str | None, float]:
    """The identity an instance was predicted as, and its score (None if none)."""
    ident = getattr(inst, "identity", None)
    if ident is not None:
        score = getattr(inst, "identity_score", None)
        return ident.name, 1.0 if score is None else float(score)
    if inst.track is not None:
        score = inst.tracking_score
        return inst.track.name, 1.0 if not score else float(score)
    return None, 0.0


def assign_identities(
    instances: list[sio.Instance], names: list[str], max_tracks: int | None = None
) -> list[tuple[str | None, float]]:
    """Pair instances with identity names, at most one instance per name.

    Instances whose own identity is taken by a better-scoring one get a free
    identity (the animal count is known), scored 0.

    Returns:
        Per instance, the assigned name (None when there are more instances than
        names) and the identity score behind it.
    """
    if not instances:
        return []
    names = names[:max_tracks] if max_tracks else names
    col = {n: j for j, n in enumerate(names)}
    score = np.zeros((len(instances), len(names)))
    for i, inst in enumerate(instances):
        name, s = identity_name(inst)
        if name in col:
            # The small offset makes any owned identity beat a free one.
            score[i, col[name]] = 1.0 + s
    rows, cols = linear_sum_assignment(score, maximize=True)
    out: list[tuple[str | None, float]] = [(None, 0.0)] * len(instances)
    for r, c in zip(rows, cols, strict=True):
        out[r] = (names[c], max(score[r, c] - 1.0, 0.0))
    return out


def identity_names(frames: list[sio.LabeledFrame]) -> list[str]:
    """Identity names in the frames, most frequent first (ties by name)."""
    counts: dict[str, int] = {}
    for lf in frames:
        for inst in lf.instances:
            name, _ = identity_name(inst)
            if name is not None:
                counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda n: (-counts[n], n))
