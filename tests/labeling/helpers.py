"""Small in-memory projects for the labeling tests (synthetic poses, real types)."""

from __future__ import annotations

import numpy as np
import sleap_io as sio

from napari_sleap.sample import poses_to_labels, simulate_poses


def sample_labels(n_frames: int = 30, every: int = 10) -> sio.Labels:
    """Two tracked animals, user-labeled every ``every`` frames of ``n_frames``."""
    poses = simulate_poses(n_frames, (128, 128), 0)
    video = sio.Video(filename="sample.mp4", open_backend=False)
    video.backend_metadata["shape"] = (n_frames, 128, 128, 1)
    return poses_to_labels(poses, video, np.arange(0, n_frames, every))


def add_prediction(
    labels: sio.Labels, frame_idx: int, score: float = 0.3
) -> sio.PredictedInstance:
    """Put a predicted copy of the first user instance on ``frame_idx``."""
    src = labels.labeled_frames[0].instances[0]
    pred = sio.PredictedInstance.from_numpy(
        src.numpy() + 5.0,
        skeleton=src.skeleton,
        point_scores=np.full(len(src.skeleton.nodes), 0.9),
        score=score,
    )
    lf = next((f for f in labels.labeled_frames if f.frame_idx == frame_idx), None)
    if lf is None:
        lf = sio.LabeledFrame(video=labels.videos[0], frame_idx=frame_idx)
        labels.append(lf)
    lf.instances.append(pred)
    return pred
