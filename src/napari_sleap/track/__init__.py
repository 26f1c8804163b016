"""Identity tracking (numpy/scipy; no TensorFlow).

``track_labels(labels, tracker=..., max_tracks=...)`` is the one entry point; the
modules beside it hold its parts: poses as arrays (:mod:`.poses`), candidates
(window, optical flow, Kalman: :mod:`.candidates`, :mod:`.kalman`,
:mod:`.frames`), similarities (:mod:`.similarity`), matching (:mod:`.matching`),
the target animal count (:mod:`.target`), identity-model tracks (:mod:`.identity`,
steadied by motion in :mod:`.identity_motion`), and undoable proofreading edits
(:mod:`.proofread`). Tracking metrics live in :mod:`napari_sleap.evaluate.tracking`.
"""

from napari_sleap.track.trackers import TRACKERS, track_labels

__all__ = ["TRACKERS", "track_labels"]
