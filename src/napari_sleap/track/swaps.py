"""Rank the places where two tracks most likely swapped identities (numpy only).

Proofreading a long recording means finding the few frames where the tracker
mixed animals up. Three signals point at them:

- **swap**: two tracks whose motion is explained better if their identities are
  exchanged between one frame and the next (the clearest evidence);
- **jump**: a track moves much farther in one frame than animals usually do;
- **crossing**: two tracks come close (identities are easily confused there);
- **low score**: the tracker matched an instance with little confidence.

:func:`track_positions` turns Labels into arrays; :func:`rank_swaps` scores the
arrays, so it is testable (and fast) without sleap-io objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sleap_io as sio

#: Weight of each kind in the ranking (a clear swap outranks a mere crossing).
KIND_WEIGHT = {"swap": 3.0, "jump": 2.0, "low score": 1.0, "crossing": 0.5}


@dataclass(frozen=True)
class SwapEvent:
    """One place to check.

    Attributes:
        frame: Frame to jump to (the first frame after the suspected change).
        tracks: Indices of the tracks involved (into ``labels.tracks``).
        kinds: What pointed here: ``swap``, ``jump``, ``crossing``, ``low score``.
        severity: Ranking score; larger is more suspicious.
        note: One line for a list entry.
    """

    frame: int
    tracks: tuple[int, ...]
    kinds: tuple[str, ...]
    severity: float
    note: str


@dataclass
class TrackPositions:
    """Where each track is in each frame of one video.

    Attributes:
        frames: ``(F,)`` sorted frame indices with at least one tracked instance.
        pos: ``(T, F, 2)`` centroid ``(x, y)`` of the track's instance; NaN where
            the track has no instance.
        score: ``(T, F)`` tracking score of that instance (NaN: none or user).
        names: ``(T,)`` track names.
    """

    frames: np.ndarray
    pos: np.ndarray
    score: np.ndarray
    names: list[str]


def track_positions(
    labels: sio.Labels, video: sio.Video | int | None = None
) -> TrackPositions:
    """Centroids and tracking scores of every track in one video, as arrays."""
    if video is None or isinstance(video, int):
        if not labels.videos:
            raise ValueError("the labels have no videos")
        video = labels.videos[video or 0]
    index = {id(t): i for i, t in enumerate(labels.tracks)}
    t_idx, f_idx, xy, sc = [], [], [], []
    for lf in labels.labeled_frames:
        if lf.video is not video:
            continue
        for inst in lf.instances:
            if inst.track is None or id(inst.track) not in index:
                continue
            pts = inst.numpy()
            ok = np.isfinite(pts).all(axis=1)
            if not ok.any():
                continue
            t_idx.append(index[id(inst.track)])
            f_idx.append(lf.frame_idx)
            xy.append(pts[ok].mean(axis=0))
            sc.append(getattr(inst, "tracking_score", np.nan))
    n_tracks = len(labels.tracks)
    frames = np.unique(np.asarray(f_idx, dtype=np.int64))
    pos = np.full((n_tracks, len(frames), 2), np.nan)
    score = np.full((n_tracks, len(frames)), np.nan)
    if f_idx:
        col = np.searchsorted(frames, np.asarray(f_idx, dtype=np.int64))
        row = np.asarray(t_idx, dtype=np.int64)
        pos[row, col] = np.asarray(xy, dtype=np.float64)
        score[row, col] = np.asarray(sc, dtype=np.float64)
    return TrackPositions(frames, pos, score, [t.name for t in labels.tracks])


def _typical_step(pos: np.ndarray) -> float:
    """A robust size of one frame's motion: the 90th percentile of all steps."""
    steps = np.linalg.norm(np.diff(pos, axis=1), axis=-1)
    steps = steps[np.isfinite(steps)]
    if not len(steps):
        return 1.0
    return float(max(np.percentile(steps, 90), 1.0))


def rank_swaps(
    tp: TrackPositions,
    *,
    jump_factor: float = 4.0,
    swap_gain: float = 1.0,
    crossing_distance: float | None = None,
    low_score: float = 0.3,
    merge_frames: int = 5,
    limit: int | None = 200,
) -> list[SwapEvent]:
    """The likely identity swaps of one video, most suspicious first.

    Args:
        tp: Track positions (from :func:`track_positions`).
        jump_factor: A step longer than this many typical steps is a jump.
        swap_gain: Exchanging two tracks must shorten their summed motion by more
            than this many typical steps to count as a swap.
        crossing_distance: Tracks closer than this (px) cross; None: three
            typical steps.
        low_score: Tracking scores below this are flagged.
        merge_frames: Events of the same tracks this close in time become one.
        limit: Keep at most this many events (None: all).
    """
    pos, frames = tp.pos, tp.frames
    n_tracks, n_frames = pos.shape[:2]
    if n_frames < 2 or n_tracks == 0:
        return _low_scores(tp, low_score, merge_frames, limit)
    typical = _typical_step(pos)
    cross = 3.0 * typical if crossing_distance is None else crossing_distance
    raw: list[tuple[int, tuple[int, ...], str, float]] = []  # (col, tracks, kind, s)

    # Jumps: the step from the previous frame, per track (adjacent columns only,
    # so a track that reappears after a gap is not a jump).
    adjacent = np.diff(frames) == 1
    steps = np.linalg.norm(np.diff(pos, axis=1), axis=-1)  # (T, F-1)
    z = steps / typical
    for t, c in zip(*np.nonzero((z > jump_factor) & adjacent[None]), strict=True):
        raw.append((int(c) + 1, (int(t),), "jump", float(z[t, c])))

    # Swaps and crossings, per pair of tracks.
    for a in range(n_tracks):
        for b in range(a + 1, n_tracks):
            pa, pb = pos[a], pos[b]
            keep = np.linalg.norm(pa[1:] - pa[:-1], axis=-1) + np.linalg.norm(
                pb[1:] - pb[:-1], axis=-1
            )
            swapped = np.linalg.norm(pb[1:] - pa[:-1], axis=-1) + np.linalg.norm(
                pa[1:] - pb[:-1], axis=-1
            )
            gain = (keep - swapped) / typical
            hit = np.nonzero((gain > swap_gain) & adjacent)[0]
            raw.extend((int(c) + 1, (a, b), "swap", float(gain[c])) for c in hit)
            dist = np.linalg.norm(pa - pb, axis=-1)
            close = np.isfinite(dist) & (dist < cross)
            # one event per approach: where the distance is smallest in each run
            for run in _runs(close):
                c = run[np.nanargmin(dist[run])]
                s = 1.0 + (cross - dist[c]) / cross
                raw.append((int(c), (a, b), "crossing", float(s)))

    events = _merge(raw, frames, merge_frames)
    events += _low_scores(tp, low_score, merge_frames, None)
    events.sort(key=lambda e: (-e.severity, e.frame))
    return events if limit is None else events[:limit]


def _runs(mask: np.ndarray) -> list[np.ndarray]:
    """Index arrays of the runs of True in a 1-D mask."""
    idx = np.nonzero(mask)[0]
    if not len(idx):
        return []
    breaks = np.nonzero(np.diff(idx) > 1)[0] + 1
    return np.split(idx, breaks)


def _merge(
    raw: list[tuple[int, tuple[int, ...], str, float]],
    frames: np.ndarray,
    merge_frames: int,
) -> list[SwapEvent]:
    """Join events of overlapping tracks within ``merge_frames`` of each other."""
    # pairs first within a frame, so single-track jumps join their pair's group
    raw = sorted(raw, key=lambda r: (frames[r[0]], -len(r[1])))
    groups: list[dict] = []
    for col, tracks, kind, s in raw:
        frame = int(frames[col])
        weighted = KIND_WEIGHT[kind] * s
        group = None
        for g in reversed(groups):
            if frame - g["last"] > merge_frames:
                break  # groups are in time order: none further back can match
            if set(tracks) & g["tracks"]:
                group = g
                break
        if group is not None:
            group["tracks"] |= set(tracks)
            group["kinds"][kind] = max(group["kinds"].get(kind, s), s)
            group["last"] = frame
            if weighted > group["best"]:
                group["best"], group["frame"] = weighted, frame
        else:
            groups.append(
                {
                    "frame": frame,
                    "last": frame,
                    "tracks": set(tracks),
                    "kinds": {kind: s},
                    "best": weighted,
                }
            )
    out = []
    for g in groups:
        severity = sum(KIND_WEIGHT[k] * v for k, v in g["kinds"].items())
        kinds = tuple(sorted(g["kinds"], key=lambda k: -KIND_WEIGHT[k]))
        out.append(
            SwapEvent(
                frame=g["frame"],
                tracks=tuple(sorted(g["tracks"])),
                kinds=kinds,
                severity=float(severity),
                note=", ".join(f"{k} {g['kinds'][k]:.1f}" for k in kinds),
            )
        )
    return out


def _low_scores(
    tp: TrackPositions, low_score: float, merge_frames: int, limit: int | None
) -> list[SwapEvent]:
    """One event per run of low tracking scores of a track."""
    out = []
    for t in range(tp.score.shape[0]):
        s = tp.score[t]
        low = np.isfinite(s) & (s < low_score)
        idx = np.nonzero(low)[0]
        if not len(idx):
            continue
        gaps = np.nonzero(np.diff(tp.frames[idx]) > merge_frames)[0] + 1
        for run in np.split(idx, gaps):
            worst = float(np.min(s[run]))
            sev = KIND_WEIGHT["low score"] * (1.0 + (low_score - worst) / low_score)
            out.append(
                SwapEvent(
                    frame=int(tp.frames[run[0]]),
                    tracks=(t,),
                    kinds=("low score",),
                    severity=float(sev),
                    note=f"low score {worst:.2f} over {len(run)} frame(s)",
                )
            )
    out.sort(key=lambda e: (-e.severity, e.frame))
    return out if limit is None else out[:limit]


def likely_swaps(
    labels: sio.Labels, video: sio.Video | int | None = None, **options
) -> list[SwapEvent]:
    """:func:`rank_swaps` of :func:`track_positions`; ``options`` go to the former."""
    return rank_swaps(track_positions(labels, video), **options)


def describe(event: SwapEvent, names: list[str]) -> str:
    """A list entry: ``frame 812  fly0 / fly1  swap 3.2, crossing 1.4``."""
    who = " / ".join(names[t] if t < len(names) else str(t) for t in event.tracks)
    return f"frame {event.frame}  {who}  {event.note}"
