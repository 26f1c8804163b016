"""The closed loop: newest frame -> poses -> the user's decision, timed at each step.

:class:`LiveLoop` takes the newest frame from a :mod:`~napari_sleap.live.source`,
runs a :class:`~napari_sleap.live.engines.LiveModel` on it and calls the user's
function with a :class:`LiveResult`; what the function returns is the decision.
Frames that arrived while the model was busy are dropped (counted), never queued,
so the delay from grab to decision stays one model call plus at most one wait.
Ctrl+C or :meth:`LiveLoop.stop` (from any thread, the callback included) end
the run cleanly after the current frame and still give the summary.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from napari_sleap.infer.results import FramePoses
from napari_sleap.live.engines import LiveModel
from napari_sleap.live.source import FrameSource, Grabbed
from napari_sleap.progress import ProgressFn, StopFlag


@dataclass
class LiveResult:
    """One processed frame: its poses and when each step finished.

    Times are ``time.perf_counter()`` seconds.

    Attributes:
        index: frame number (video frame, or count since the camera started).
        poses: the poses found.
        t_due: when the (replay) camera released the frame.
        t_grab: when the frame entered the source's slot.
        t_start: when the model took it.
        t_poses: when its poses were ready.
        t_decision: when the user's function returned (``t_poses`` without one).
        decision: what the user's function returned.
    """

    index: int
    poses: FramePoses
    t_due: float
    t_grab: float
    t_start: float
    t_poses: float
    t_decision: float = float("nan")
    decision: Any = None

    @property
    def latency(self) -> float:
        """Seconds from grab to decision (end to end)."""
        return self.t_decision - self.t_grab

    @property
    def model_latency(self) -> float:
        """Seconds the model took."""
        return self.t_poses - self.t_start


def _ms(values: list[float], q: float) -> float:
    return float(np.percentile(values, q) * 1000.0) if values else float("nan")


@dataclass
class LiveSummary:
    """What a run did and how fast (milliseconds; percentiles over processed frames).

    Attributes:
        source: the source's name.
        engine: the model's engine.
        fps: the source's frame rate.
        grabbed: frames the source delivered.
        processed: frames that got poses.
        dropped: frames the model never got (replaced in the slot while it was
            busy, or ``late``).
        late: frames the source could not deliver on its clock (a replay whose
            decoding fell behind: the machine, not the model, was too slow).
        seconds: wall time from the source's start to the last decision.
        latency_ms: grab -> decision ``{"median", "p99", "max"}``.
        model_ms: model call ``{"median", "p99", "max"}``.
        wait_ms: grab -> model start ``{"median", "p99"}``.
        source_lag_ms: replay only, due -> grab ``{"median", "p99"}``.
        cancelled: ended by Ctrl+C or :meth:`LiveLoop.stop` before the source ended.
    """

    source: str
    engine: str
    fps: float
    grabbed: int
    processed: int
    dropped: int
    seconds: float
    late: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)
    model_ms: dict[str, float] = field(default_factory=dict)
    wait_ms: dict[str, float] = field(default_factory=dict)
    source_lag_ms: dict[str, float] = field(default_factory=dict)
    cancelled: bool = False

    @property
    def processed_fps(self) -> float:
        """Frames given poses per second."""
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        out = asdict(self)
        out["processed_fps"] = self.processed_fps
        return out

    def lines(self) -> list[str]:
        """The figures as a few lines for a terminal."""
        lat, mod, lag = self.latency_ms, self.model_ms, self.source_lag_ms
        wait = self.wait_ms.get("median", 0)
        share = self.dropped / self.grabbed if self.grabbed else 0.0
        out = [
            f"{self.source} at {self.fps:g} frames/s, engine {self.engine}"
            + (" (cancelled)" if self.cancelled else ""),
            f"frames: {self.grabbed} grabbed, {self.processed} processed "
            f"({self.processed_fps:.1f}/s), {self.dropped} dropped ({share:.0%})"
            + (f", {self.late} of them late from the source" if self.late else ""),
            f"end-to-end latency (grab -> decision): median {lat.get('median', 0):.1f}"
            f" ms, p99 {lat.get('p99', 0):.1f} ms, max {lat.get('max', 0):.1f} ms",
            f"model: median {mod.get('median', 0):.1f} ms, p99 {mod.get('p99', 0):.1f}"
            f" ms; waiting for the model: median {wait:.1f} ms",
        ]
        if lag:
            out.append(
                f"replay clock: frames entered the slot {lag['median']:.1f} ms "
                f"(median), {lag['p99']:.1f} ms (p99) after they were due"
            )
        return out


def summarize(
    times: np.ndarray,
    source: FrameSource,
    engine: str,
    seconds: float,
    cancelled: bool,
) -> LiveSummary:
    """Percentiles of a run's timestamps.

    Args:
        times: ``(frames, 5)`` rows of ``t_due, t_grab, t_start, t_poses,
            t_decision`` (as in :class:`LiveResult`).
        source: the source that ran (its name, rate and counts).
        engine: the model's engine.
        seconds: wall time of the run.
        cancelled: whether it was stopped early.
    """
    times = np.asarray(times, np.float64).reshape(-1, 5)
    due, grab, start, poses, decision = times.T
    lat, model = list(decision - grab), list(poses - start)
    replay = bool(np.any(grab != due))
    lag, wait = list(grab - due), list(start - grab)
    return LiveSummary(
        source=source.name,
        engine=engine,
        fps=source.fps,
        grabbed=source.grabbed,
        processed=len(times),
        dropped=source.dropped,
        seconds=seconds,
        late=source.late,
        latency_ms={"median": _ms(lat, 50), "p99": _ms(lat, 99), "max": _ms(lat, 100)},
        model_ms={
            "median": _ms(model, 50),
            "p99": _ms(model, 99),
            "max": _ms(model, 100),
        },
        wait_ms={"median": _ms(wait, 50), "p99": _ms(wait, 99)},
        source_lag_ms={"median": _ms(lag, 50), "p99": _ms(lag, 99)} if replay else {},
        cancelled=cancelled,
    )


#: ``on_result(result) -> decision``: called on the loop's thread for each frame.
OnResult = Callable[[LiveResult], Any]


class LiveLoop:
    """Runs a model on a live source, newest frame first, until the source ends.

    Args:
        source: where frames come from (not yet started).
        model: the pose model (loaded).
        on_result: the user's function, called with each :class:`LiveResult`;
            its return value is stored as ``result.decision``.
        progress: ``progress(frames grabbed, frames the source will give)``
            after each frame (for a camera, which has no end, one more than
            grabbed).
        stop: an extra stop flag (``threading.Event`` ...), checked per frame.
        keep_results: keep every result in :attr:`results` (poses included);
            False keeps only the timestamps, for long camera runs.
        warmup: compile the model on the source's first frame before starting.
    """

    def __init__(
        self,
        source: FrameSource,
        model: LiveModel,
        on_result: OnResult | None = None,
        progress: ProgressFn | None = None,
        stop: StopFlag | None = None,
        keep_results: bool = True,
        warmup: bool = True,
    ) -> None:
        self.source = source
        self.model = model
        self.on_result = on_result
        self.progress = progress
        self._stop_flag = stop
        self._stop = threading.Event()
        self.keep_results = keep_results
        self.warmup = warmup
        self.results: list[LiveResult] = []
        self.summary: LiveSummary | None = None

    def stop(self) -> None:
        """End the run after the current frame (any thread)."""
        self._stop.set()

    def _stopping(self) -> bool:
        flag = self._stop_flag
        return self._stop.is_set() or (flag is not None and flag.is_set())

    def _process(self, frame: Grabbed) -> LiveResult:
        t_start = time.perf_counter()
        poses = self.model.predict(frame.image)
        t_poses = time.perf_counter()
        result = LiveResult(
            frame.index, poses, frame.t_due, frame.t_grab, t_start, t_poses
        )
        if self.on_result is not None:
            result.decision = self.on_result(result)
        result.t_decision = time.perf_counter()
        return result

    def run(self, timeout: float = 10.0) -> LiveSummary:
        """Process frames until the source ends or the run is stopped.

        Ctrl+C (KeyboardInterrupt) ends the run like :meth:`stop`; the source's
        thread is always stopped and its device or file closed.

        Args:
            timeout: seconds to wait for a frame before giving up (a stalled
                camera raises ``TimeoutError`` naming the source).
        """
        if self.warmup:
            try:
                self.model.warmup(self.source.first_frame())
            except BaseException:
                self.source.stop()  # close the camera or file it opened
                raise
        times: list[tuple[float, float, float, float, float]] = []
        self.results = []
        cancelled = False
        self.source.start()
        t0 = self.source.t_start or time.perf_counter()
        t_end = t0
        try:
            while not self._stopping():
                try:
                    frame = self.source.take(timeout)
                except TimeoutError as err:
                    raise TimeoutError(
                        f"{self.source.name} gave no frame for {timeout} s"
                    ) from err
                if frame is None:
                    break
                result = self._process(frame)
                t_end = result.t_decision
                r = result
                times.append((r.t_due, r.t_grab, r.t_start, r.t_poses, r.t_decision))
                if self.keep_results:
                    self.results.append(result)
                if self.progress is not None:
                    grabbed = self.source.grabbed
                    total = self.source.length or grabbed + 1  # a camera: open-ended
                    self.progress(grabbed, total)
            cancelled = self._stopping()
        except KeyboardInterrupt:
            cancelled = True
        finally:
            self.source.stop()
        self.summary = summarize(
            np.asarray(times), self.source, self.model.engine, t_end - t0, cancelled
        )
        return self.summary
