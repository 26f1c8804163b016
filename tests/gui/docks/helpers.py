"""Shared set-up of the widget tests: a small real sample opened in a real viewer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import sleap_io as sio

from napari_sleap.io.labels import save_labels
from napari_sleap.napari.layers.convert import META_KEY

PLUGIN = "napari-sleap"


def with_predictions(train: Path, gt: Path, out: Path, frames: list[int]) -> Path:
    """Train labels plus predicted copies (score 0.3 / 0.9) of GT on ``frames``."""
    labels = sio.load_slp(str(train))
    truth = sio.load_slp(str(gt))
    video = labels.videos[0]
    for k, f in enumerate(frames):
        src = next(lf for lf in truth.labeled_frames if lf.frame_idx == f)
        lf = sio.LabeledFrame(video=video, frame_idx=f, instances=[])
        for inst in src.instances:
            lf.instances.append(
                sio.PredictedInstance.from_numpy(
                    inst.numpy() + 1.5,
                    skeleton=labels.skeletons[0],
                    point_scores=np.full(len(inst.points), 0.8),
                    score=0.3 if k == 0 else 0.9,
                )
            )
        labels.append(lf)
    labels.labeled_frames.sort(key=lambda lf: lf.frame_idx)
    return save_labels(labels, out)


def open_labels(viewer, path: Path):
    """Open a .slp with the plugin; returns its (points, edges) layers."""
    viewer.open(str(path), plugin=PLUGIN)
    points = [la for la in viewer.layers if type(la).__name__ == "Points"][-1]
    edges = [la for la in viewer.layers if type(la).__name__ == "Vectors"][-1]
    return points, edges


def labels_of(points):
    """The Labels object behind an instances layer."""
    return points.metadata[META_KEY]["labels"]


def drag_point(points, row: int, delta: tuple[float, float]) -> None:
    """Move one point the way a mouse drag does (select, drag start, two moves)."""
    points.selected_data = {row}
    start = np.array(points.data[row], dtype=float)
    points._set_drag_start({row}, start)
    points._move({row}, start + np.array([0.0, *delta]) / 2)
    points._move({row}, start + np.array([0.0, *delta]))
    points._drag_start = None


def tracked_predictions(
    n_frames: int,
    swap_at: int,
    *,
    size: int = 512,
    seed: int = 1,
    track_names: tuple[str, str] = ("a", "b"),
    video_name: str = "long.mp4",
    tracking_score: float | None = None,
) -> sio.Labels:
    """Tracked predictions of the sample's motion, identities swapped at one frame."""
    from napari_sleap.sample import make_skeleton, simulate_poses

    poses = simulate_poses(n_frames, size, seed=seed)
    skeleton = make_skeleton()
    video = sio.Video(filename=video_name, open_backend=False)
    tracks = [sio.Track(name) for name in track_names]
    scores = np.full(poses.shape[2], 0.9)
    extra = {} if tracking_score is None else {"tracking_score": tracking_score}
    frames = []
    for f in range(n_frames):
        order = (1, 0) if f >= swap_at else (0, 1)
        instances = [
            sio.PredictedInstance.from_numpy(
                poses[f, a],
                skeleton=skeleton,
                point_scores=scores,
                score=0.9,
                track=tracks[order[a]],
                **extra,
            )
            for a in range(2)
        ]
        frames.append(sio.LabeledFrame(video=video, frame_idx=f, instances=instances))
    return sio.Labels(frames, videos=[video], skeletons=[skeleton], tracks=tracks)
