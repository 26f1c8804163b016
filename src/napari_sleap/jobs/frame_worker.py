"""A warm job process that predicts single frames on request (Add in the viewer).

Adding an instance where a trained model is at hand predicts *that* frame. The
first request starts a job (:func:`napari_sleap.jobs.start_job`) that loads the
models once and then waits for frames on a queue, so the next Add costs one
forward pass, not a TensorFlow start. No Qt here: the viewer polls
:meth:`FrameWorker.poll` from a timer. TensorFlow loads in the job only.
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_mod
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_sleap.jobs.runner import JobHandle, start_job
from napari_sleap.progress import ProgressFn, StopFlag, check_stop

TARGET = "napari_sleap.jobs.frame_worker:serve"
#: Seconds a warm worker waits for the next frame before it ends by itself.
IDLE_EXIT_S = 600.0


@dataclass
class FramePrediction:
    """What the worker found in one requested frame.

    Attributes:
        request: The request's id (see :meth:`FrameWorker.request`).
        frame_idx: The frame predicted.
        node_names: The model skeleton's node names (columns of ``points``).
        points: ``(instances, nodes, 2)`` image x/y; NaN where not found.
        scores: ``(instances,)`` instance scores.
        seconds: Time the worker spent on the frame (forward pass and peaks).
    """

    request: int
    frame_idx: int
    node_names: list[str]
    points: np.ndarray
    scores: np.ndarray
    seconds: float


def serve(
    model_dirs: Sequence[str],
    requests: Any,
    *,
    peak_threshold: float = 0.2,
    idle_exit_s: float = IDLE_EXIT_S,
    progress: ProgressFn | None = None,
    stop: StopFlag | None = None,
    emit: Callable[[str, Any], None] | None = None,
) -> dict[str, Any]:
    """Job target: load the models, then predict each frame put on ``requests``.

    A request is ``{"id": int, "frame_idx": int, "image": (H, W[, C]) uint8}``;
    each answer is emitted as ``("frame", dict)`` (see :class:`FramePrediction`)
    or ``("failed", {"id", "message"})``. ``("ready", {...})`` says the models are
    loaded. Ends on Stop, on a ``None`` request, or after ``idle_exit_s`` idle.
    """
    from napari_sleap.infer.engine_choice import load_chosen
    from napari_sleap.infer.predictor import PredictorOptions

    emit = emit or (lambda name, value: None)
    t0 = time.monotonic()
    options = PredictorOptions(batch_size=1, peak_threshold=peak_threshold)
    # The predictor, not the auto engine: Add waits on the first answer, and
    # the portable graph's first call (trace + compile) took ~2x the
    # predictor's CPU time there (docs/backends.md); one frame per click
    # gains nothing from bfloat16's faster warm calls.
    predictor, choice = load_chosen(
        [str(d) for d in model_dirs], options, engine="predictor"
    )
    names = list(predictor.skeleton.node_names)
    emit(
        "ready",
        {
            "seconds": time.monotonic() - t0,
            "node_names": names,
            "engine": choice.describe(),
        },
    )
    served, idle_since = 0, time.monotonic()
    while True:
        check_stop(stop)
        try:
            request = requests.get(timeout=0.2)
        except queue_mod.Empty:
            if time.monotonic() - idle_since > idle_exit_s:
                break
            continue
        if request is None:
            break
        start = time.monotonic()
        try:
            image = np.asarray(request["image"])
            if image.ndim == 2:
                image = image[..., None]
            poses = predictor.predict_frame(image.astype(np.uint8, copy=False))
        except Exception as err:  # one bad frame must not end the warm worker
            emit("failed", {"id": request["id"], "message": f"{err}"})
            continue
        emit(
            "frame",
            {
                "id": int(request["id"]),
                "frame_idx": int(request["frame_idx"]),
                "node_names": names,
                "points": np.asarray(poses.points, np.float64),
                "scores": np.asarray(poses.instance_scores, np.float64),
                "seconds": time.monotonic() - start,
            },
        )
        served += 1
        idle_since = time.monotonic()
    return {"served": served}


class FrameWorker:
    """The viewer's side of :func:`serve`: one warm job for one set of models.

    Args:
        model_dirs: The model folders (a complete pipeline).
        peak_threshold: Least confidence of a node.
        start: Starts the job (tests and benches may pass their own).
    """

    def __init__(
        self,
        model_dirs: Sequence[str],
        *,
        peak_threshold: float = 0.2,
        start: Callable[..., JobHandle] = start_job,
    ) -> None:
        self.model_dirs = [str(d) for d in model_dirs]
        self._requests = mp.get_context("spawn").Queue()
        # Frames nobody will read (the job failed or was stopped) must not keep
        # this process from exiting while its queue thread waits to send them.
        self._requests.cancel_join_thread()
        self.handle = start(
            TARGET,
            {
                "model_dirs": self.model_dirs,
                "requests": self._requests,
                "peak_threshold": float(peak_threshold),
            },
        )
        self._next = 0
        self.ready = False
        #: The engine the job chose (``EngineChoice.describe()``), once ready.
        self.engine = ""
        self.results: dict[int, FramePrediction] = {}
        self.failures: dict[int, str] = {}

    @property
    def alive(self) -> bool:
        """True while the job runs (it can take requests)."""
        return not self.handle.done and self.handle.is_alive()

    @property
    def error(self) -> str:
        """Why the job ended, if it failed ('' otherwise)."""
        return self.handle.error

    def request(self, frame_idx: int, image: np.ndarray) -> int:
        """Ask for the poses of ``image`` (frame ``frame_idx``); returns the id."""
        self._next += 1
        self._requests.put(
            {"id": self._next, "frame_idx": int(frame_idx), "image": image}
        )
        return self._next

    def poll(self) -> None:
        """Read what the job sent (non-blocking) into ``results`` / ``failures``."""
        for event in self.handle.poll():
            if event.kind != "data":
                continue
            value = event.value
            if event.message == "ready":
                self.ready = True
                self.engine = value.get("engine", "")
            elif event.message == "frame":
                self.results[value["id"]] = FramePrediction(
                    request=value["id"],
                    frame_idx=value["frame_idx"],
                    node_names=list(value["node_names"]),
                    points=np.asarray(value["points"]),
                    scores=np.asarray(value["scores"]),
                    seconds=float(value["seconds"]),
                )
            elif event.message == "failed":
                self.failures[value["id"]] = str(value["message"])

    def stop(self) -> None:
        """End the job (returns at once)."""
        if self.alive:
            self._requests.put(None)
            self.handle.stop(grace_s=3.0)


def poses_in_skeleton(found: FramePrediction, node_names: Sequence[str]) -> np.ndarray:
    """``found.points`` with columns in ``node_names`` order (NaN: not in model)."""
    index = {name: k for k, name in enumerate(found.node_names)}
    out = np.full((len(found.points), len(node_names), 2), np.nan)
    for j, name in enumerate(node_names):
        if name in index:
            out[:, j] = found.points[:, index[name]]
    return out
