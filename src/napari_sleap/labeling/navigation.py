"""Which frame to go to next: labeled, unlabeled, suggested, or low-score predictions.

:class:`FrameSets` gathers, in one pass over the labels, the sorted frame indices of
each kind for one video; stepping is then a binary search, so moving through
100,000 labeled frames costs microseconds per key press.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sleap_io as sio

from napari_sleap.labeling.commands import used_predictions

#: The kinds of frames one can step through.
KINDS = ("labeled", "unlabeled", "suggested", "predicted", "low_score")


@dataclass
class FrameSets:
    """Sorted frame indices of one video, by kind.

    Attributes:
        labeled: Frames with at least one user instance.
        predicted: Frames with at least one predicted instance not yet accepted.
        suggested: Suggested frames.
        low_score: Frames with such a prediction scoring below the threshold.
        n_frames: Frames in the video (for "unlabeled"); 0 when unknown.
    """

    labeled: np.ndarray
    predicted: np.ndarray
    suggested: np.ndarray
    low_score: np.ndarray
    n_frames: int = 0

    @classmethod
    def from_labels(
        cls,
        labels: sio.Labels,
        video: sio.Video | None = None,
        *,
        score_threshold: float = 0.5,
        n_frames: int | None = None,
    ) -> FrameSets:
        """Collect the frame sets of ``video`` (default: the first video)."""
        video = video or labels.videos[0]
        labeled, predicted, low = [], [], []
        for lf in labels.labeled_frames:
            if lf.video is not video:
                continue
            user, pred, pred_low = frame_kinds([lf], score_threshold)
            if user:
                labeled.append(lf.frame_idx)
            if pred:
                predicted.append(lf.frame_idx)
            if pred_low:
                low.append(lf.frame_idx)
        suggested = [s.frame_idx for s in labels.suggestions if s.video is video]
        if n_frames is None:
            try:
                n_frames = int(video.shape[0]) if video.shape is not None else 0
            except Exception:  # a video whose file cannot be opened
                n_frames = 0

        def arr(x: list[int]) -> np.ndarray:
            return np.unique(np.asarray(x, dtype=np.int64))

        return cls(arr(labeled), arr(predicted), arr(suggested), arr(low), n_frames)

    def set_frame(
        self, frame: int, labeled: bool, predicted: bool, low_score: bool
    ) -> None:
        """Put ``frame`` in (or take it out of) each set: one edited frame.

        A binary search and one array copy per set that changes, instead of a
        pass over every labeled frame.
        """
        for kind, member in (
            ("labeled", labeled),
            ("predicted", predicted),
            ("low_score", low_score),
        ):
            frames = getattr(self, kind)
            i = int(np.searchsorted(frames, frame))
            there = i < len(frames) and frames[i] == frame
            if member and not there:
                setattr(self, kind, np.insert(frames, i, frame))
            elif there and not member:
                setattr(self, kind, np.delete(frames, i))

    def frames(self, kind: str) -> np.ndarray:
        """The sorted frames of ``kind`` (one of :data:`KINDS` but "unlabeled")."""
        if kind not in KINDS or kind == "unlabeled":
            raise ValueError(f"frame kind {kind!r}: expected one of {KINDS}")
        return getattr(self, kind)

    def step(self, kind: str, current: int, direction: int = 1) -> int | None:
        """The next (``direction=1``) or previous (-1) frame of ``kind``, or None."""
        if kind == "unlabeled":
            return self._step_unlabeled(current, direction)
        frames = self.frames(kind)
        if direction > 0:
            i = np.searchsorted(frames, current, side="right")
            return int(frames[i]) if i < len(frames) else None
        i = np.searchsorted(frames, current, side="left") - 1
        return int(frames[i]) if i >= 0 else None

    def _step_unlabeled(self, current: int, direction: int) -> int | None:
        taken = self.labeled
        f = current + (1 if direction > 0 else -1)
        # jump over runs of labeled frames with a binary search per run
        while f >= 0 and (self.n_frames <= 0 or f < self.n_frames):
            i = np.searchsorted(taken, f)
            if i >= len(taken) or taken[i] != f:
                return int(f)
            if direction > 0:
                run_end = i
                while (
                    run_end + 1 < len(taken)
                    and taken[run_end + 1] == taken[run_end] + 1
                ):
                    run_end += 1
                f = int(taken[run_end]) + 1
            else:
                run_start = i
                while run_start > 0 and taken[run_start - 1] == taken[run_start] - 1:
                    run_start -= 1
                f = int(taken[run_start]) - 1
        return None


def frame_kinds(
    frames: list[sio.LabeledFrame], score_threshold: float = 0.5
) -> tuple[bool, bool, bool]:
    """What the labeled frames of one frame index hold: ``(user, pred, low)``.

    ``user``: a user instance; ``pred``: a prediction not yet accepted; ``low``:
    such a prediction scoring below ``score_threshold``.
    """
    user = pred = low = False
    for lf in frames:
        used = used_predictions(lf)
        for inst in lf.instances:
            if isinstance(inst, sio.PredictedInstance):
                if id(inst) in used:
                    continue  # a user instance was made from it
                pred = True
                low |= bool(float(inst.score) < score_threshold)
            else:
                user = True
    return user, pred, low
