"""Where each track is expected in the next frame: the candidates matching scores.

Three models share one small interface: ``predict(frame_idx)`` returns candidate
poses and the track each belongs to; ``update(frame_idx, assigned, reset)`` takes
the pose each track got in that frame (tracks not in ``assigned`` were not seen);
tracks in ``reset`` got a detection unlike their past (forced on them by the animal
count), so their motion history restarts there instead of being bent toward it.

- :class:`WindowCandidates`: the poses each track had in the last few frames.
- :class:`FlowCandidates`: each track's pose carried forward by pyramidal
  Lucas-Kanade optical flow, so it follows the animal between detections.
- :class:`KalmanCandidates`: each track's pose predicted by a constant-velocity
  Kalman filter per node.
"""

from __future__ import annotations

import warnings
from collections import deque

import numpy as np

from napari_sleap.track.frames import FrameSource
from napari_sleap.track.kalman import PoseKalman
from napari_sleap.track.poses import fill_missing


def _stack(poses: list[np.ndarray], owners: list[int], nodes: int):
    if not poses:
        return np.zeros((0, nodes, 2)), np.zeros(0, dtype=int)
    return np.stack(poses), np.asarray(owners, dtype=int)


class WindowCandidates:
    """Candidates are the track's own poses in the last ``window`` frames.

    A track unseen for longer keeps its last pose as its only candidate, so capped
    tracking can still hand it back to a returning animal.
    """

    def __init__(self, nodes: int, window: int = 5) -> None:
        self.nodes = nodes
        self.window = window
        self._recent: dict[int, deque[tuple[int, np.ndarray]]] = {}
        self._last: dict[int, np.ndarray] = {}

    def predict(self, frame_idx: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidate poses ``(c, nodes, 2)`` and their track index ``(c,)``."""
        poses: list[np.ndarray] = []
        owners: list[int] = []
        for track, hist in self._recent.items():
            recent = [p for f, p in hist if frame_idx - f <= self.window]
            for pose in recent or [self._last[track]]:
                poses.append(pose)
                owners.append(track)
        return _stack(poses, owners, self.nodes)

    def update(
        self,
        frame_idx: int,
        assigned: dict[int, np.ndarray],
        reset: frozenset[int] = frozenset(),
    ) -> None:
        """Record the poses tracks got in ``frame_idx``."""
        for track, pose in assigned.items():
            if track in reset:
                self._recent.pop(track, None)
            hist = self._recent.setdefault(track, deque(maxlen=self.window))
            hist.append((frame_idx, pose))
            self._last[track] = pose


class KalmanCandidates:
    """Candidates are each track's pose predicted by its Kalman filter."""

    def __init__(
        self, nodes: int, measurement_px: float = 10.0, accel_px: float = 1.0
    ) -> None:
        self.nodes = nodes
        self.measurement_px = measurement_px
        self.accel_px = accel_px
        self._filters: dict[int, PoseKalman] = {}

    def predict(self, frame_idx: int) -> tuple[np.ndarray, np.ndarray]:
        """Predicted pose of every track at ``frame_idx``."""
        owners = list(self._filters)
        poses = [self._filters[t].predict(frame_idx) for t in owners]
        return _stack(poses, owners, self.nodes)

    def update(
        self,
        frame_idx: int,
        assigned: dict[int, np.ndarray],
        reset: frozenset[int] = frozenset(),
    ) -> None:
        """Fold in the detections; unseen tracks coast on their velocity."""
        for track, pose in assigned.items():
            if track in self._filters and track not in reset:
                self._filters[track].step(frame_idx, pose)
            else:
                self._filters[track] = PoseKalman(
                    pose, frame_idx, self.measurement_px, self.accel_px
                )
        for track, filt in self._filters.items():
            if track not in assigned:
                filt.step(frame_idx, None)
                # Coasting forever would fling the pose away: damp the velocity.
                filt.vel *= 0.5


class FlowCandidates:
    """Candidates are track poses moved by optical flow from the previous frame.

    Flow is computed once per frame for the nodes of every track seen in the last
    ``window`` frames, on crops around them (OpenCV's pyramidal Lucas-Kanade), and
    a track's missing nodes are filled from its flow-shifted pose so it stays whole.

    Args:
        nodes: Skeleton size.
        frames: Returns grayscale frame ``idx``.
        window: Frames a track is carried by flow after its last detection.
        win_size: Lucas-Kanade window, pixels.
        levels: Pyramid levels above the full resolution.
        max_error: Flow points whose LK error exceeds this stay in place.
    """

    def __init__(
        self,
        nodes: int,
        frames: FrameSource,
        window: int = 5,
        win_size: int = 21,
        levels: int = 3,
        max_error: float = 30.0,
    ) -> None:
        self.nodes = nodes
        self.frames = frames
        self.window = window
        self.win_size = win_size
        self.levels = levels
        self.max_error = max_error
        self._pose: dict[int, np.ndarray] = {}
        self._seen: dict[int, int] = {}
        self._prev: tuple[int, np.ndarray] | None = None
        self._shifted: dict[int, np.ndarray] = {}

    def _box(self, pts: np.ndarray, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Crop (x0, y0, x1, y1) around ``pts`` wide enough for the pyramid."""
        margin = self.win_size * (2**self.levels) // 2 + 8
        x0, y0 = np.floor(pts.min(axis=0)).astype(int) - margin
        x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + margin
        return max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])

    def _flow(self, img0: np.ndarray, img1: np.ndarray, pts: np.ndarray) -> np.ndarray:
        """Move ``pts`` (k, 2) from ``img0`` to ``img1``; lost points stay put."""
        import cv2

        x0, y0, x1, y1 = self._box(pts, img0.shape)
        if x1 <= x0 or y1 <= y0:
            return pts.copy()
        offset = np.array([x0, y0], dtype=np.float32)
        p0 = (pts.astype(np.float32) - offset).reshape(-1, 1, 2)
        p1, status, err = cv2.calcOpticalFlowPyrLK(
            img0[y0:y1, x0:x1],
            img1[y0:y1, x0:x1],
            p0,
            None,
            winSize=(self.win_size, self.win_size),
            maxLevel=self.levels,
        )
        moved = p1.reshape(-1, 2) + offset
        ok = (status.ravel() == 1) & (err.ravel() <= self.max_error)
        return np.where(ok[:, None], moved, pts)

    def _flow_groups(
        self, img0: np.ndarray, img1: np.ndarray, groups: list[np.ndarray]
    ) -> list[np.ndarray]:
        """Flow for each group of points (one per track), on one crop or several.

        Animals far apart share one crop only when it is not much bigger than
        their separate crops put together; otherwise each gets its own.
        """

        def area(box: tuple[int, ...]) -> int:
            return max(box[2] - box[0], 0) * max(box[3] - box[1], 0)

        union = self._box(np.concatenate(groups), img0.shape)
        apart = sum(area(self._box(g, img0.shape)) for g in groups)
        if len(groups) == 1 or area(union) <= apart:
            moved = self._flow(img0, img1, np.concatenate(groups))
            return np.split(moved, np.cumsum([len(g) for g in groups])[:-1])
        return [self._flow(img0, img1, g) for g in groups]

    def predict(self, frame_idx: int) -> tuple[np.ndarray, np.ndarray]:
        """Flow-shifted pose of every track at ``frame_idx``.

        A frame that cannot be decoded is reported (a warning) and tracked without
        flow, as is the frame after it.
        """
        try:
            img = self.frames(frame_idx)
        except ValueError as err:
            warnings.warn(f"{err}; tracking it without optical flow", stacklevel=2)
            img = None
        self._shifted = dict(self._pose)
        active = [
            t
            for t, pose in self._pose.items()
            if frame_idx - self._seen[t] <= self.window
        ]
        prev = self._prev
        if img is not None and prev is not None and active and prev[0] != frame_idx:
            seen = [t for t in active if not np.isnan(self._pose[t][:, 0]).all()]
            if seen:
                masks = [~np.isnan(self._pose[t][:, 0]) for t in seen]
                groups = [self._pose[t][m] for t, m in zip(seen, masks, strict=True)]
                moved = self._flow_groups(prev[1], img, groups)
                for t, m, pts in zip(seen, masks, moved, strict=True):
                    shifted = self._pose[t].copy()
                    shifted[m] = pts
                    self._shifted[t] = shifted
        self._prev = None if img is None else (frame_idx, img)
        owners = list(self._shifted)
        return _stack([self._shifted[t] for t in owners], owners, self.nodes)

    def update(
        self,
        frame_idx: int,
        assigned: dict[int, np.ndarray],
        reset: frozenset[int] = frozenset(),
    ) -> None:
        """Adopt the detections; unseen tracks keep their flow-shifted pose."""
        for track, pose in assigned.items():
            old = None if track in reset else self._shifted.get(track)
            self._pose[track] = fill_missing(pose, old)
            self._seen[track] = frame_idx
        for track, pose in self._shifted.items():
            if track not in assigned:
                self._pose[track] = pose
