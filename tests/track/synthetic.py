"""Small made-up scenes for tracker tests: animals on straight paths, with truth."""

from __future__ import annotations

import numpy as np
import sleap_io as sio

SKELETON = sio.Skeleton(["head", "thorax", "tail"])


def body(x: float, y: float, heading: float, length: float = 20.0) -> np.ndarray:
    """A three-node animal centred at (x, y) facing ``heading`` radians."""
    d = np.array([np.cos(heading), np.sin(heading)]) * length / 2
    c = np.array([x, y])
    return np.stack([c + d, c, c - d])


def scene(
    paths: list[tuple[tuple[float, float], tuple[float, float]]],
    frames: int = 40,
    jitter: float = 0.0,
    seed: int = 0,
    shuffle: bool = True,
) -> tuple[sio.Labels, sio.Labels]:
    """Ground truth (user instances with tracks) and detections (predicted, untracked).

    Args:
        paths: Per animal, start (x, y) and velocity (vx, vy) in px/frame.
        frames: Number of frames.
        jitter: Gaussian noise on detections, px.
        seed: Seed for jitter and detection order.
        shuffle: Shuffle detection order per frame so order carries no identity.
    """
    rng = np.random.default_rng(seed)
    video = sio.Video(filename="synthetic.mp4")
    tracks = [sio.Track(name=f"animal{i}") for i in range(len(paths))]
    gt_frames, det_frames = [], []
    for t in range(frames):
        gt, det = [], []
        for track, ((x, y), (vx, vy)) in zip(tracks, paths, strict=True):
            pose = body(x + vx * t, y + vy * t, np.arctan2(vy, vx))
            gt.append(sio.Instance.from_numpy(pose, skeleton=SKELETON, track=track))
            noisy = pose + rng.normal(0, jitter, pose.shape)
            det.append(
                sio.PredictedInstance.from_numpy(noisy, skeleton=SKELETON, score=0.9)
            )
        if shuffle:
            det = [det[i] for i in rng.permutation(len(det))]
        gt_frames.append(sio.LabeledFrame(video=video, frame_idx=t, instances=gt))
        det_frames.append(sio.LabeledFrame(video=video, frame_idx=t, instances=det))
    gt_labels = sio.Labels(
        labeled_frames=gt_frames, videos=[video], skeletons=[SKELETON], tracks=tracks
    )
    det_labels = sio.Labels(
        labeled_frames=det_frames, videos=[video], skeletons=[SKELETON]
    )
    return gt_labels, det_labels


def track_sequence(labels: sio.Labels, frame_idx: int) -> list[str | None]:
    """Track names of a frame's instances, sorted by x."""
    lf = next(lf for lf in labels.labeled_frames if lf.frame_idx == frame_idx)
    insts = sorted(lf.instances, key=lambda i: np.nanmean(i.numpy()[:, 0]))
    return [i.track.name if i.track else None for i in insts]
