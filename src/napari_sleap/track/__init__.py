"""Identity tracking and track proofreading (numpy/scipy; no TensorFlow).

``track_labels(labels, tracker=..., max_tracks=...)`` is the one entry point; the
modules beside it hold its parts: poses as arrays, candidates (window, optical
flow, Kalman), similarities, matching, the target animal count, identity-model
tracks, and undoable proofreading edits (:mod:`.proofread`).
"""

from napari_sleap.track.trackers import TRACKERS, track_labels

__all__ = ["TRACKERS", "track_labels"]
