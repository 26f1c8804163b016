"""Add where a model is at hand: predict that frame in a warm job, then place.

SLEAP places a new instance from a prediction first. When the frame has none
but a trained model is at hand (listed in a Predict panel, else the last one
trained in this viewer), Add sends the frame to a
:class:`~napari_sleap.jobs.frame_worker.FrameWorker` (TensorFlow stays in the
job) and says "predicting this frame..."; a timer polls it and places the
predicted animal nearest the click. No model, a failed job or no answer within
the time limit: the usual placement (previous frame, mean pose). The UI never
waits: the click returns at once. The worker stays warm for the next Add.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QCheckBox

from napari_sleap.jobs.frame_worker import FrameWorker, poses_in_skeleton
from napari_sleap.labeling.placement import Placement, placement_from_poses
from napari_sleap.napari.docks.predict import chosen_models
from napari_sleap.napari.docks.train import trained_models

if TYPE_CHECKING:
    from napari_sleap.napari.docks.labeling import LabelingWidget

#: Seconds to wait for the first answer (the job loads TensorFlow and models).
FIRST_TIMEOUT_S = 90.0
#: Seconds to wait for an answer from a warm worker.
WARM_TIMEOUT_S = 20.0


def models_at_hand(viewer: Any) -> list[str]:
    """Model folders for Add: a Predict panel's list, else the last trained here."""
    chosen = chosen_models(viewer)
    if chosen:
        return chosen
    trained = trained_models(viewer)
    return list(trained[-1]) if trained else []


@dataclass
class Pending:
    """An Add waiting for its frame's prediction."""

    request: int
    x: float
    y: float
    frame: int
    started: float
    deadline: float
    warm: bool


class PredictOnAdd:
    """Predicts the frame for an Add of ``widget`` (the Labeling dock).

    Args:
        widget: The Labeling dock (its ``viewer``, ``sync``, ``status``).
        place: ``place(x, y, frame, placement_or_None, note)`` adds the instance;
            None means "use the usual placement".
    """

    def __init__(
        self,
        widget: LabelingWidget,
        place: Callable[[float, float, int, Placement | None, str], Any],
    ) -> None:
        self.widget = widget
        self._place = place
        self.worker: FrameWorker | None = None
        self.pending: Pending | None = None
        #: Poses predicted per frame for this worker (a second Add reuses them).
        self.cache: dict[int, np.ndarray] = {}
        #: ``(seconds from click to placement, warm)`` of each predicted Add.
        self.latencies: list[tuple[float, bool]] = []
        self.first_timeout_s = FIRST_TIMEOUT_S
        self.warm_timeout_s = WARM_TIMEOUT_S
        self.enabled = QCheckBox("Add predicts the frame (model)")
        self.enabled.setChecked(True)
        self.enabled.setToolTip(
            "Where a trained model is at hand (Predict panel or the last training) "
            "and the frame has no prediction, Add predicts this frame in a job "
            "process and places the animal nearest the click"
        )
        self._timer = QTimer(widget)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._tick)
        widget.destroyed.connect(lambda *_: self.close())

    # ----------------------------------------------------------- starting

    def start(self, x: float, y: float, frame: int) -> bool:
        """Predict ``frame`` for an Add at ``(x, y)``; False: not possible here.

        Not possible: switched off, no model at hand, the frame already has
        predictions, or no image of it is open.
        """
        sync = self.widget.sync
        dirs = models_at_hand(self.widget.viewer)
        if not (self.enabled.isChecked() and dirs and sync is not None):
            return False
        if self.pending is not None:
            self.widget.status.setText(
                f"still predicting frame {self.pending.frame}...; wait for it"
            )
            return True
        if self._has_predictions(frame):
            return False
        if self.worker is not None and (
            self.worker.model_dirs != [str(d) for d in dirs] or not self.worker.alive
        ):
            self.close()
        if self.worker is not None and frame in self.cache:
            self._finish(x, y, frame, self.cache[frame], time.monotonic(), True)
            return True
        image = self.widget._frame_image(frame)
        if image is None:
            return False
        warm = self.worker is not None and self.worker.ready
        if self.worker is None:
            self.worker = FrameWorker(dirs)
        now = time.monotonic()
        limit = self.warm_timeout_s if warm else self.first_timeout_s
        self.pending = Pending(
            self.worker.request(frame, np.asarray(image)),
            x,
            y,
            frame,
            now,
            now + limit,
            warm,
        )
        names = ", ".join(Path(d).name for d in dirs)
        self.widget.status.setText(f"predicting this frame... ({names})")
        self._timer.start()
        return True

    def _has_predictions(self, frame: int) -> bool:
        sync = self.widget.sync
        assert sync is not None
        return any(
            type(i).__name__ == "PredictedInstance" for i in sync.frame_instances(frame)
        )

    # ------------------------------------------------------------ polling

    def _tick(self) -> None:
        pending, worker = self.pending, self.worker
        if pending is None or worker is None:
            self._timer.stop()
            return
        worker.poll()
        found = worker.results.pop(pending.request, None)
        if found is not None:
            names = self.widget.labels.skeletons[0].node_names
            poses = poses_in_skeleton(found, names)
            self.cache[pending.frame] = poses
            self._finish(
                pending.x,
                pending.y,
                pending.frame,
                poses,
                pending.started,
                pending.warm,
            )
            return
        failed = worker.failures.pop(pending.request, None)
        if failed is None and not worker.alive:
            failed = worker.error or "the prediction job ended"
        if failed is None and time.monotonic() > pending.deadline:
            failed = "no answer in time (the job still loads; next Add may be quick)"
        if failed is not None:
            self._fall_back(f"prediction failed: {failed.splitlines()[0][:120]}")

    def _finish(
        self,
        x: float,
        y: float,
        frame: int,
        poses: np.ndarray,
        started: float,
        warm: bool,
    ) -> None:
        self.pending = None
        self._timer.stop()
        placement = placement_from_poses(self.widget.labels, poses, (x, y))
        self.latencies.append((time.monotonic() - started, warm))
        if placement is None:
            self._place(x, y, frame, None, "the model found no animal there")
            return
        self._place(x, y, frame, placement, "")

    def _fall_back(self, why: str) -> None:
        pending, self.pending = self.pending, None
        self._timer.stop()
        if pending is not None:
            self._place(pending.x, pending.y, pending.frame, None, why)

    def close(self) -> None:
        """End the warm worker (another model chosen, the dock closed)."""
        self.cache.clear()
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
