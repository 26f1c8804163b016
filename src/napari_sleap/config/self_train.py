"""Self-training settings: confident predictions on unlabeled frames as extra labels.

A centered-instance model trains for part of its budget, predicts a sample of
the labeled videos' unlabeled frames (images only), keeps the confident
instances as pseudo-labels and fine-tunes on labels + pseudo-labels for the
rest of the budget (``napari_sleap.train.self_train``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from napari_sleap.config.base import ConfigError


@dataclass
class SelfTrainConfig:
    """Self-training of a centered-instance model (top-down pipelines).

    Attributes:
        enabled: train in two phases with pseudo-labels in between.
        first_phase: share of the epochs and the time budget before pseudo-labeling.
        frames: unlabeled frames to predict, spread evenly over the labeled
            videos (frames with user labels are never taken).
        min_node_score: every node of a kept instance must be found with at
            least this confidence.
        min_instance_score: a kept instance's mean node confidence (found nodes).
        max_missing_nodes: nodes per instance that may be missing or below
            ``min_node_score``; they are left out of the pseudo-label (NaN), which
            trains them as not visible, so keep this small.
        max_box_iou: two instances whose bounding boxes overlap more than this
            (one animal found twice) reject the frame.
        min_node_gap: two instances with nodes closer than this many pixels (a
            part claimed by both) reject the frame.
        flip_agreement: when set, each frame is also predicted mirrored, and
            every node must agree within this many pixels between the views.
        weight: a pseudo-labeled frame counts this much next to a user-labeled
            one (user frames are drawn ``round(1 / weight)`` times as often).
        exclude_frames: ``[start, stop)`` frame ranges never used as unlabeled
            images (in every video).
    """

    enabled: bool = False
    first_phase: float = 0.5
    frames: int = 200
    min_node_score: float = 0.2
    min_instance_score: float = 0.4
    max_missing_nodes: int = 1
    max_box_iou: float = 0.5
    min_node_gap: float = 2.0
    flip_agreement: float | None = None
    weight: float = 0.5
    exclude_frames: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 0 < self.first_phase < 1:
            raise ConfigError("first_phase", f"{self.first_phase} is outside (0, 1)")
        if self.max_missing_nodes < 0:
            raise ConfigError("max_missing_nodes", "must be >= 0")
        if self.frames < 1:
            raise ConfigError("frames", f"must be >= 1, got {self.frames}")
        if not 0 < self.weight <= 1:
            raise ConfigError("weight", f"{self.weight} is outside (0, 1]")
        for name in ("min_node_score", "min_instance_score", "max_box_iou"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(name, f"{getattr(self, name)} is outside [0, 1]")
        if self.flip_agreement is not None and self.flip_agreement <= 0:
            raise ConfigError("flip_agreement", "must be > 0 pixels or null")
        ranges = []
        for r in self.exclude_frames:
            if len(r) != 2 or int(r[0]) > int(r[1]):
                raise ConfigError(
                    "exclude_frames", f"{r!r}: give [start, stop) pairs, start <= stop"
                )
            ranges.append((int(r[0]), int(r[1])))
        self.exclude_frames = ranges
