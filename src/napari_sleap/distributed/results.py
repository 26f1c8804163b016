"""What a batch run reports and the state both of its runners share.

The dask runner (:mod:`~napari_sleap.distributed.batch`) and the in-process one
(:mod:`~napari_sleap.distributed.sequential`) record outcomes the same way, so
the results, the progress board, the outcome records and the run's arguments
(:class:`RunArgs`) live here, where both can import them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from napari_sleap.distributed.plan import VideoPlan
from napari_sleap.progress import ProgressFn, StopFlag


@dataclass(frozen=True)
class RunArgs:
    """What a runner needs of ``predict_batch``'s arguments (typed, not ``locals()``).

    Attributes:
        model_dirs: absolute model folders forming one pipeline.
        options: :class:`napari_sleap.infer.PredictorOptions`.
        tracker: tracker name, or None for no tracking.
        max_tracks: number of animals for the tracker.
        chunk_frames: frames per task.
        threads: TensorFlow threads per worker (None: the default).
        stop: stop flag checked between tasks.
    """

    model_dirs: list[str]
    options: Any
    tracker: str | None = None
    max_tracks: int | None = None
    chunk_frames: int = 500
    threads: int | None = None
    stop: StopFlag | None = None


#: States of one video in :attr:`BatchStatus.videos`.
QUEUED, RUNNING, DONE, FAILED, KEPT = "queued", "running", "done", "failed", "kept"


@dataclass
class VideoStatus:
    """Where one video of a batch stands.

    Attributes:
        video: the input video.
        output: its ``.slp``.
        frames_total: frames this run predicts for it (parts kept from an
            interrupted run are not counted).
        frames_done: of those, frames predicted so far.
        state: ``queued``, ``running``, ``done``, ``failed`` or ``kept`` (the
            output existed already and was left as it is).
        message: why it failed, or a note such as unreadable frames skipped.
    """

    video: Path
    output: Path
    frames_total: int = 0
    frames_done: int = 0
    state: str = QUEUED
    message: str = ""


@dataclass
class BatchStatus:
    """Where a batch run stands (what the terminal line and the GUI show).

    ``videos_done`` and ``videos_total`` count the videos this run predicts
    (finished or failed); ``videos`` has every input, kept and failed too.
    """

    videos_done: int = 0
    videos_total: int = 0
    frames_done: int = 0
    frames_total: int = 0
    elapsed: float = 0.0
    dashboard: str | None = None
    videos_failed: int = 0
    videos: list[VideoStatus] = field(default_factory=list)

    @property
    def fps(self) -> float:
        """Frames predicted per second of this run so far."""
        return self.frames_done / self.elapsed if self.elapsed > 0 else 0.0


@dataclass
class BatchResult:
    """What a batch run did.

    Attributes:
        written: ``.slp`` files written by this run, in input order.
        skipped: outputs that already existed (resume) and were kept.
        failed: video -> error message, for videos that could not be done
            (unreadable, damaged, failed on a worker); the others still ran.
        frames: frames predicted by this run.
        seconds: wall time of the run.
        dashboard: the dask dashboard link (None when nothing ran).
        details: per-video summaries returned by the workers.
    """

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)
    frames: int = 0
    seconds: float = 0.0
    dashboard: str | None = None
    details: list[dict] = field(default_factory=list)


class Board:
    """Per-video and overall progress of a run, handed to the callbacks."""

    def __init__(
        self,
        plans: list[VideoPlan],
        todo: list[VideoPlan],
        start: float,
        progress: ProgressFn | None,
        status: Callable[[BatchStatus], None] | None,
        interval: float = 0.25,
    ) -> None:
        self.start = start
        self.progress = progress
        self.status = status
        self.interval = interval
        self._last = 0.0
        self.state = BatchStatus(videos_total=len(todo))
        self.running = {p.output for p in todo}
        self.of: dict[Path, VideoStatus] = {}
        for p in plans:
            vs = VideoStatus(p.video, p.output)
            if p.done:
                vs.state = KEPT
            elif p.error:
                vs.state, vs.message = FAILED, p.error
            self.state.videos.append(vs)
            self.of[p.output] = vs
        self.state.videos_failed = sum(1 for p in plans if p.error)

    def add_work(self, plan: VideoPlan, frames: int) -> None:
        """Count ``frames`` to predict for ``plan``'s video."""
        self.of[plan.output].frames_total += frames
        self.state.frames_total += frames

    def set_done(self, plan: VideoPlan, frames: int) -> None:
        """Frames of ``plan``'s video predicted so far."""
        vs = self.of[plan.output]
        vs.frames_done = min(frames, vs.frames_total)
        if vs.state == QUEUED and frames > 0:
            vs.state = RUNNING

    def end_video(self, plan: VideoPlan, state: str, message: str = "") -> None:
        """Mark ``plan``'s video finished (``done``) or ``failed``."""
        vs = self.of[plan.output]
        vs.state, vs.message = state, message
        if state == DONE:
            vs.frames_done = vs.frames_total
        if state == FAILED:
            self.state.videos_failed += 1

    def update(self, force: bool = False) -> None:
        """Recount and call the callbacks (at most every ``interval`` s)."""
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        s = self.state
        mine = [v for v in s.videos if v.output in self.running]
        s.frames_done = min(sum(v.frames_done for v in mine), s.frames_total)
        s.videos_done = sum(1 for v in mine if v.state in (DONE, FAILED))
        s.elapsed = now - self.start
        if self.progress:
            self.progress(s.frames_done, s.frames_total)
        if self.status:
            self.status(s)

    def finish(self) -> None:
        """The final state: every frame of the run accounted for."""
        self.update(force=True)
        self.state.frames_done = self.state.frames_total
        if self.progress:
            self.progress(self.state.frames_total, self.state.frames_total)
        if self.status:
            self.status(self.state)


STOPPED_MESSAGE = (
    "batch prediction stopped on request; finished videos and chunks are kept: "
    "rerun the same command to resume"
)


def record_written(
    plan: VideoPlan,
    info: dict,
    result: BatchResult,
    board: Board,
    say: Callable[[str], None],
) -> None:
    """Record a finished video (and the unreadable frames it skipped, if any)."""
    result.written.append(plan.output)
    result.details.append(info)
    note = ""
    if info.get("bad_frames"):
        note = (
            f"{info['bad_frames']} unreadable frame(s) skipped (listed in the "
            "file's provenance, bad_frames)"
        )
    board.end_video(plan, DONE, note)
    say(
        f"{plan.output.name}: {info['labeled_frames']} frames, "
        f"{info['instances']} instances" + (f"; {note}" if note else "")
    )


def record_failed(
    plan: VideoPlan,
    err: BaseException,
    result: BatchResult,
    board: Board,
    say: Callable[[str], None],
) -> None:
    """Record a video that failed; the rest of the batch goes on."""
    message = f"{type(err).__name__}: {err}"
    result.failed[plan.video] = message
    board.end_video(plan, FAILED, message)
    say(f"{plan.video.name}: failed ({message})")
