"""Closed-loop pose estimation: live frames in, poses and decisions out, timed.

``source`` grabs frames (a camera, or a video replayed on its clock) keeping only
the newest; ``engines`` runs a model on one frame; ``loop`` ties them to a user
function and times each step; ``trigger`` is a decision rule on poses (one
animal's node near another's) with its scoring against labels.
"""

from napari_sleap.live.engines import ENGINES, LiveModel, load_live_model
from napari_sleap.live.loop import LiveLoop, LiveResult, LiveSummary
from napari_sleap.live.source import (
    CameraSource,
    FrameSource,
    Grabbed,
    LatestFrame,
    VideoReplaySource,
    open_source,
)

__all__ = [
    "ENGINES",
    "CameraSource",
    "FrameSource",
    "Grabbed",
    "LatestFrame",
    "LiveLoop",
    "LiveModel",
    "LiveResult",
    "LiveSummary",
    "VideoReplaySource",
    "load_live_model",
    "open_source",
]
