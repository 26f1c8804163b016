"""Re-tracking a frame range continues the identities around it.

Tracking frames ``start..stop`` afresh makes new tracks; the frames before and
after keep theirs. Left alone that turns two animals into four half-empty
ones. After the pass, each new track is joined to the old track it continues:
matched by pose to the old tracks' last poses before the range (or, failing
that, their first poses after it), one to one (Hungarian), never where the two
would share a frame, and only within a distance gate so a truly new animal
keeps a new track.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import sleap_io as sio
from scipy.optimize import linear_sum_assignment

from napari_sleap.track.poses import pose_array
from napari_sleap.track.similarity import default_scale

#: A new track joins an old one only if their poses are this many scales apart
#: or closer (the scale is a quarter of the median instance box diagonal, so 8
#: scales are two animal lengths).
GATE_SCALES = 8.0


def _pose_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance of the nodes visible in both poses (centroids if none)."""
    both = np.isfinite(a[:, 0]) & np.isfinite(b[:, 0])
    if both.any():
        return float(np.linalg.norm(a[both] - b[both], axis=1).mean())
    ca, cb = np.nanmean(a, axis=0), np.nanmean(b, axis=0)
    d = float(np.linalg.norm(ca - cb))
    return d if np.isfinite(d) else np.inf


def _by_track(
    frames: Iterable[sio.LabeledFrame],
) -> dict[int, list[tuple[int, sio.Instance]]]:
    """Instances per track (by id), in frame order."""
    out: dict[int, list[tuple[int, sio.Instance]]] = {}
    for lf in sorted(frames, key=lambda f: f.frame_idx):
        for inst in lf.instances:
            if inst.track is not None and np.isfinite(inst.numpy()).any():
                out.setdefault(id(inst.track), []).append((int(lf.frame_idx), inst))
    return out


def _assign(
    new: list[sio.Track],
    old: list[sio.Track],
    new_pose: dict[int, np.ndarray],
    old_pose: dict[int, np.ndarray],
    gate: float,
    allowed,
) -> dict[int, sio.Track]:
    """Hungarian match of new tracks to old ones by pose distance, gated."""
    rows = [t for t in new if id(t) in new_pose]
    cols = [t for t in old if id(t) in old_pose]
    if not rows or not cols:
        return {}
    cost = np.full((len(rows), len(cols)), 1e12)
    for i, t in enumerate(rows):
        for j, o in enumerate(cols):
            d = _pose_distance(new_pose[id(t)], old_pose[id(o)])
            if d <= gate and allowed(t, o):
                cost[i, j] = d
    out = {}
    for i, j in zip(*linear_sum_assignment(cost), strict=True):
        if cost[i, j] < 1e12:
            out[id(rows[i])] = cols[j]
    return out


def continue_identities(
    labels: sio.Labels,
    video: sio.Video,
    frame_range: tuple[int, int],
    new_tracks: list[sio.Track],
    scale: float | None = None,
) -> int:
    """Rename the range's new tracks to the old tracks they continue.

    Args:
        labels: Tracked labels (changed in place); new tracks that join an old
            one are removed from ``labels.tracks``.
        video: The video whose frames were re-tracked.
        frame_range: The re-tracked frames, ``start <= idx < stop``.
        new_tracks: Tracks the re-tracking pass made.
        scale: Distance scale (pixels); None: from the instances' sizes.

    Returns:
        How many new tracks were joined to old ones.
    """
    start, stop = frame_range
    frames = [lf for lf in labels.labeled_frames if lf.video is video]
    inside = [lf for lf in frames if start <= lf.frame_idx < stop]
    before = _by_track(lf for lf in frames if lf.frame_idx < start)
    after = _by_track(lf for lf in frames if lf.frame_idx >= stop)
    new_ids = {id(t) for t in new_tracks}
    old = [
        t
        for t in labels.tracks
        if id(t) not in new_ids and (id(t) in before or id(t) in after)
    ]
    runs = _by_track(inside)
    if not old or not runs:
        return 0
    if scale is None:
        sample = [i for lf in inside[:200] for i in lf.instances]
        scale = default_scale(pose_array(sample)) if sample else 10.0
    gate = GATE_SCALES * scale
    frames_of = {k: {f for f, _ in v} for k, v in runs.items()}
    taken: dict[int, set[int]] = {id(o): set() for o in old}

    def allowed(t: sio.Track, o: sio.Track) -> bool:
        return not (frames_of.get(id(t), set()) & taken[id(o)])

    mapping: dict[int, sio.Track] = {}
    # First the poses just before the range, then just after it.
    sides = (
        (
            {id(t): runs[id(t)][0][1].numpy() for t in new_tracks if id(t) in runs},
            {k: v[-1][1].numpy() for k, v in before.items()},
        ),
        (
            {id(t): runs[id(t)][-1][1].numpy() for t in new_tracks if id(t) in runs},
            {k: v[0][1].numpy() for k, v in after.items()},
        ),
    )
    for new_pose, old_pose in sides:
        pending = [t for t in new_tracks if id(t) not in mapping]
        free = [o for o in old if not any(m is o for m in mapping.values())]
        for key, track in _assign(
            pending, free, new_pose, old_pose, gate, allowed
        ).items():
            mapping[key] = track
            taken[id(track)] |= frames_of.get(key, set())
    for lf in inside:
        for inst in lf.instances:
            if inst.track is not None and id(inst.track) in mapping:
                inst.track = mapping[id(inst.track)]
    joined = {k for k in mapping}
    labels.tracks[:] = [t for t in labels.tracks if id(t) not in joined]
    return len(joined)
