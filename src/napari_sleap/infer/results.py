"""Per-frame inference results as plain arrays, and their sleap-io form."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class FramePoses:
    """Poses found in one frame.

    Attributes:
        points: ``(instances, nodes, 2)`` image ``(x, y)``; NaN for missing nodes.
        point_scores: ``(instances, nodes)`` confidence per node.
        instance_scores: ``(instances,)`` confidence per instance.
        class_inds: ``(instances,)`` identity class index (-1 = none), id models only.
        class_scores: ``(instances,)`` confidence of that identity.
    """

    points: np.ndarray
    point_scores: np.ndarray
    instance_scores: np.ndarray
    class_inds: np.ndarray | None = None
    class_scores: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def empty(cls, n_nodes: int) -> FramePoses:
        """No instances."""
        return cls(np.zeros((0, n_nodes, 2)), np.zeros((0, n_nodes)), np.zeros((0,)))

    def __len__(self) -> int:
        return len(self.points)


def to_labeled_frame(poses: FramePoses, video, frame_idx: int, skeleton, tracks=None):
    """Build a sleap-io LabeledFrame of PredictedInstances (None if no instances).

    ``tracks`` maps identity class index -> ``sleap_io.Track``.
    """
    import sleap_io as sio

    instances = []
    for i in range(len(poses)):
        pts = poses.points[i]
        if np.all(np.isnan(pts)):
            continue
        scores = np.nan_to_num(poses.point_scores[i], nan=0.0)
        track, tscore = None, 0.0
        if tracks is not None and poses.class_inds is not None:
            k = int(poses.class_inds[i])
            if k >= 0:
                track = tracks[k]
                tscore = float(poses.class_scores[i])
        instances.append(
            sio.PredictedInstance.from_numpy(
                pts,
                skeleton=skeleton,
                point_scores=scores,
                score=float(poses.instance_scores[i]),
                track=track,
                tracking_score=tscore,
            )
        )
    if not instances:
        return None
    return sio.LabeledFrame(video=video, frame_idx=int(frame_idx), instances=instances)
