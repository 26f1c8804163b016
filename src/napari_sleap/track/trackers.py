"""The frame-by-frame tracker and the one entry point, :func:`track_labels`.

Per frame: drop extra detections (:mod:`.target`), score every detection against
every track's candidates (:mod:`.candidates`, :mod:`.similarity`), assign
(:mod:`.matching`), then start new tracks or, with ``max_tracks`` reached, hand the
remaining detections to the tracks left free, however long ago they were seen.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sleap_io as sio

from napari_sleap.progress import ProgressFn, StopFlag, check_stop
from napari_sleap.track.candidates import (
    FlowCandidates,
    KalmanCandidates,
    WindowCandidates,
)
from napari_sleap.track.continuity import continue_identities
from napari_sleap.track.frames import FrameSource, open_frames
from napari_sleap.track.identity import (
    assign_identities,
    identity_name,
    identity_names,
)
from napari_sleap.track.identity_motion import best_identity_maps
from napari_sleap.track.matching import get_matcher, hungarian_match
from napari_sleap.track.poses import instance_scores, pose_array
from napari_sleap.track.similarity import default_scale, get_similarity
from napari_sleap.track.target import connect_single_breaks, cull_detections

TRACKERS = ("simple", "flow", "kalman", "identity")


class FrameTracker:
    """Assigns each frame's detections to track indices, one frame at a time.

    Args:
        candidates: A candidate model (window, flow or Kalman).
        similarity: Similarity name (instance, centroid, iou, oks).
        match: Matcher name (hungarian, greedy).
        max_tracks: Number of animals; None for no cap.
        window: Without a cap, frames a track stays open after it was last seen
            (with a cap every track stays open).
        min_similarity: Pairs scoring less are not matched (before forced reuse).
        scale: Distance scale of the instance/centroid kernels, in pixels.
        cull_iou: Overlap above which a lower-scoring detection is a duplicate.
        min_score: Detections scoring below this are ignored (None: keep all).
    """

    def __init__(
        self,
        candidates: WindowCandidates | FlowCandidates | KalmanCandidates,
        similarity: str = "instance",
        match: str = "hungarian",
        max_tracks: int | None = None,
        window: int = 5,
        min_similarity: float = 0.1,
        scale: float = 10.0,
        cull_iou: float = 0.8,
        min_score: float | None = None,
    ) -> None:
        self.candidates = candidates
        self.similarity = get_similarity(similarity)
        self.matcher = get_matcher(match)
        self.max_tracks = max_tracks
        self.window = window
        self.min_similarity = min_similarity
        self.scale = scale
        self.cull_iou = cull_iou
        self.min_score = min_score
        self.n_tracks = 0
        self.last_seen: dict[int, int] = {}
        # Pose of each track's last confident match, kept as an extra candidate
        # while the track holds a detection forced on it by the cap.
        self.anchor: dict[int, np.ndarray] = {}
        self.tentative: set[int] = set()

    def step(
        self, frame_idx: int, poses: np.ndarray, scores: np.ndarray
    ) -> tuple[list[int | None], list[float], np.ndarray]:
        """Track one frame's detections.

        Returns:
            Track index per detection (None when culled), the similarity that
            earned it, and the indices of the kept detections.
        """
        n = len(poses)
        tracks: list[int | None] = [None] * n
        sims = [0.0] * n
        if n == 0:
            self.candidates.predict(frame_idx)
            self.candidates.update(frame_idx, {}, frozenset())
            return tracks, sims, np.zeros(0, dtype=int)
        keep = cull_detections(
            poses, scores, self.max_tracks, self.cull_iou, self.min_score
        )
        kept = poses[keep]
        cand, owner = self.candidates.predict(frame_idx)
        model_sim = np.zeros((self.n_tracks, len(keep)))
        if len(cand):
            per_cand = self.similarity(cand, kept, self.scale)
            np.maximum.at(model_sim, owner, per_cand)
        sim = model_sim.copy()
        tentative = sorted(self.tentative)
        if tentative:
            anchors = np.stack([self.anchor[t] for t in tentative])
            sim[tentative] = np.maximum(
                sim[tentative], self.similarity(anchors, kept, self.scale)
            )
        # With a cap every track may take the detection back, however long it was
        # gone; without one, tracks that ended stay ended.
        active = [
            t
            for t in range(self.n_tracks)
            if self.max_tracks is not None
            or frame_idx - self.last_seen[t] <= self.window
        ]
        got: dict[int, int] = {}  # detection (in kept) -> track
        for r, c in self.matcher(sim[active], self.min_similarity):
            got[c] = active[r]
        rest = [c for c in range(len(keep)) if c not in got]
        rest.sort(key=lambda c: -scores[keep[c]])
        while rest and (self.max_tracks is None or self.n_tracks < self.max_tracks):
            got[rest.pop(0)] = self.n_tracks
            self.n_tracks += 1
        if rest:
            free = [t for t in range(self.n_tracks) if t not in got.values()]
            for r, c in hungarian_match(sim[np.ix_(free, rest)], -np.inf):
                got[rest[c]] = free[r]
        assigned = {}
        reset = set()
        for c, t in got.items():
            det = int(keep[c])
            tracks[det] = t
            fresh = t >= sim.shape[0]
            sims[det] = 1.0 if fresh else float(sim[t, c])
            if not fresh and model_sim[t, c] < self.min_similarity:
                reset.add(t)  # unlike the track's motion: restart it here
            if fresh or sims[det] >= self.min_similarity:
                self.anchor[t] = kept[c]
                self.tentative.discard(t)
            else:
                self.tentative.add(t)
            assigned[t] = kept[c]
            self.last_seen[t] = frame_idx
        self.candidates.update(frame_idx, assigned, frozenset(reset))
        return tracks, sims, keep


def _candidates(
    tracker: str,
    nodes: int,
    window: int,
    frames: FrameSource | None,
    video: sio.Video,
):
    if tracker == "simple":
        return WindowCandidates(nodes, window), None
    if tracker == "kalman":
        return KalmanCandidates(nodes), None
    reader = frames if frames is not None else open_frames(video)
    return FlowCandidates(nodes, reader, window), (None if frames else reader)


def _new_track_name(labels: sio.Labels) -> str:
    """The first ``track_<k>`` not taken in ``labels``."""
    taken = {t.name for t in labels.tracks}
    k = 0
    while f"track_{k}" in taken:
        k += 1
    return f"track_{k}"


def _frames_of(
    labels: sio.Labels, video: sio.Video, frame_range: tuple[int, int] | None
) -> list[sio.LabeledFrame]:
    frames = [lf for lf in labels.labeled_frames if lf.video is video]
    if frame_range is not None:
        start, stop = frame_range
        frames = [lf for lf in frames if start <= lf.frame_idx < stop]
    return sorted(frames, key=lambda lf: lf.frame_idx)


def _used_tracks(labels: sio.Labels) -> set[int]:
    return {id(i.track) for lf in labels.labeled_frames for i in lf.instances}


def _prune_tracks(labels: sio.Labels, used_before: set[int]) -> None:
    """Drop the tracks that tracking left without instances (unused ones stay)."""
    used = _used_tracks(labels)
    labels.tracks[:] = [
        t for t in labels.tracks if id(t) in used or id(t) not in used_before
    ]


def _track_by_identity(
    labels: sio.Labels,
    frames: list[sio.LabeledFrame],
    max_tracks: int | None,
    tick: Callable[[], None],
    switch_cost: float,
    motion: Callable[[int], FrameTracker],
) -> None:
    """Name tracks after identities, per frame or steadied by a motion tracker."""
    names = identity_names(frames)
    if not names:
        raise ValueError(
            "tracker='identity' needs instances carrying identities (identity or "
            "track set by an identity model); none found: use --tracker flow, "
            "simple or kalman"
        )
    names = names[:max_tracks] if max_tracks else names
    by_name = {t.name: t for t in labels.tracks}
    for name in names:
        if name not in by_name:
            by_name[name] = sio.Track(name=name)
            labels.tracks.append(by_name[name])
    if switch_cost <= 0:
        for lf in frames:
            tick()
            insts = list(lf.instances)
            for inst, (name, score) in zip(
                insts, assign_identities(insts, names, max_tracks), strict=True
            ):
                inst.track = by_name[name] if name is not None else None
                inst.tracking_score = score
        return
    col = {n: j for j, n in enumerate(names)}
    ft = motion(len(names))
    nodes = len(labels.skeleton.nodes)
    linked: list[list[tuple[sio.Instance, int | None]]] = []
    evidence = np.zeros((len(frames), len(names), len(names)))
    for t, lf in enumerate(frames):
        tick()
        insts = list(lf.instances)
        said = [identity_name(i) for i in insts]  # read before tracks change
        poses = pose_array(insts) if insts else np.zeros((0, nodes, 2))
        ids, _, _ = ft.step(lf.frame_idx, poses, instance_scores(insts))
        for (name, score), k in zip(said, ids, strict=True):
            if k is not None and name in col:
                evidence[t, k, col[name]] += score
        linked.append(list(zip(insts, ids, strict=True)))
    maps = best_identity_maps(evidence[:, : ft.n_tracks], switch_cost)
    for t, pairs in enumerate(linked):
        for inst, k in pairs:
            if k is None:
                inst.track, inst.tracking_score = None, 0.0
                continue
            j = int(maps[t, k])
            inst.track = by_name[names[j]]
            inst.tracking_score = float(evidence[t, k, j])


def track_labels(
    labels: sio.Labels,
    tracker: str = "flow",
    max_tracks: int | None = None,
    similarity: str = "instance",
    match: str = "hungarian",
    *,
    window: int = 5,
    min_similarity: float = 0.1,
    scale: float | None = None,
    cull_iou: float = 0.8,
    min_score: float | None = None,
    remove_culled: bool = True,
    connect_breaks: bool = True,
    identity_switch_cost: float = 3.0,
    frame_range: tuple[int, int] | None = None,
    frames: FrameSource | None = None,
    inplace: bool = False,
    progress: ProgressFn | None = None,
    stop: StopFlag | None = None,
) -> sio.Labels:
    """Assign every instance a track, frame by frame, video by video.

    Args:
        labels: Poses to track (user and predicted instances); old tracks are
            replaced (except by the identity tracker, which reads them).
        tracker: ``simple`` (recent poses), ``flow`` (poses moved by optical flow;
            reads the video), ``kalman`` (constant-velocity filter) or
            ``identity`` (from identity-model predictions).
        max_tracks: Number of animals: extra detections are culled, no more
            tracks are made and free tracks are reused. None: no cap.
        similarity: ``instance``, ``centroid``, ``iou`` or ``oks``.
        match: ``hungarian`` or ``greedy``.
        window: Frames a track stays open after it was last seen (no cap only;
            with a cap every track can take an animal back); flow carries a
            track this many frames.
        min_similarity: Weaker pairs start new tracks (below the cap).
        scale: Pixel scale of the instance/centroid similarity; None: a quarter
            of the median instance box diagonal.
        cull_iou: Box overlap above which a lower-scoring detection is dropped.
        min_score: Detections scoring below this are dropped; None keeps all.
        remove_culled: Delete culled predicted instances from the output (the
            identity tracker leaves extra instances in place, untracked).
        connect_breaks: Mend one-frame track fragments after the pass.
        identity_switch_cost: Identity tracker only: identity score a motion
            track must gather against its identity before it is relabeled
            (steadies one-frame identity slips, fixes motion swaps); 0 takes
            each frame's identities as they are.
        frame_range: Track only frames ``start <= idx < stop``.
        frames: Grayscale frame source for flow (one video only); default reads
            each video from its file.
        inplace: Change ``labels`` itself instead of a copy.
        progress: Called with (frames done, frames total).
        stop: Checked every frame; when set, raises ``progress.Cancelled``.

    Returns:
        The tracked labels.
    """
    if tracker not in TRACKERS:
        raise ValueError(f"tracker={tracker!r} is not known: use one of {TRACKERS}")
    if max_tracks is not None and max_tracks < 1:
        raise ValueError(f"max_tracks={max_tracks} must be at least 1 (or None)")
    get_similarity(similarity), get_matcher(match)
    out = labels if inplace else labels.copy()
    per_video = [(v, _frames_of(out, v, frame_range)) for v in out.videos]
    per_video = [(v, f) for v, f in per_video if f]
    if frames is not None and len(per_video) > 1:
        raise ValueError(
            "frames= reads one video but the labels have frames in "
            f"{len(per_video)}; leave frames=None to read each video from its file"
        )
    total = sum(len(f) for _, f in per_video)
    done = 0

    def tick() -> None:
        nonlocal done
        check_stop(stop)
        done += 1
        if progress is not None and (done % 10 == 0 or done == total):
            progress(done, total)

    used_before = _used_tracks(out)
    nodes = len(out.skeleton.nodes)

    def frame_tracker(model, cap: int | None, vframes) -> FrameTracker:
        if scale is None:
            sample = [i for lf in vframes[:200] for i in lf.instances]
            sc = default_scale(pose_array(sample)) if sample else 10.0
        else:
            sc = scale
        return FrameTracker(
            model,
            similarity,
            match,
            cap,
            window,
            min_similarity,
            sc,
            cull_iou,
            min_score,
        )

    if tracker == "identity":
        for _, vframes in per_video:
            _track_by_identity(
                out,
                vframes,
                max_tracks,
                tick,
                identity_switch_cost,
                lambda n, vf=vframes: frame_tracker(
                    WindowCandidates(nodes, window), n, vf
                ),
            )
        _prune_tracks(out, used_before)
        return out

    for video, vframes in per_video:
        for lf in vframes:
            for inst in lf.instances:
                inst.track = None
        model, owned = _candidates(tracker, nodes, window, frames, video)
        ft = frame_tracker(model, max_tracks, vframes)
        known = {id(t) for t in out.tracks}
        try:
            _track_video(out, vframes, ft, remove_culled, tick)
        finally:
            if owned is not None:
                owned.close()
        if connect_breaks:
            connect_single_breaks(vframes)
        if frame_range is not None:  # a range continues the identities around it
            made = [t for t in out.tracks if id(t) not in known]
            continue_identities(out, video, frame_range, made, scale)
    _prune_tracks(out, used_before)
    return out


def _track_video(
    labels: sio.Labels,
    frames: list[sio.LabeledFrame],
    tracker: FrameTracker,
    remove_culled: bool,
    tick: Callable[[], None],
) -> None:
    """Run ``tracker`` over one video's frames, naming new tracks in ``labels``."""
    nodes = len(labels.skeleton.nodes)
    made: dict[int, sio.Track] = {}
    for lf in frames:
        tick()
        insts = list(lf.instances)
        poses = pose_array(insts) if insts else np.zeros((0, nodes, 2))
        ids, sims, keep = tracker.step(lf.frame_idx, poses, instance_scores(insts))
        for inst, t, s in zip(insts, ids, sims, strict=True):
            if t is None:
                continue
            if t not in made:
                made[t] = sio.Track(name=_new_track_name(labels))
                labels.tracks.append(made[t])
            inst.track = made[t]
            inst.tracking_score = s
        if remove_culled:
            kept = set(keep.tolist())
            lf.instances = [
                inst
                for k, inst in enumerate(insts)
                if k in kept or not isinstance(inst, sio.PredictedInstance)
            ]
