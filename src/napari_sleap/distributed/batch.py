"""Batch prediction over many videos on dask.distributed: ``predict_batch``.

One task per frame chunk of each video (a short video is one chunk), then one
task per video that stitches its chunks in order, tracks and saves the video's
``.slp`` atomically. Finished videos are skipped on a rerun and finished
chunks of an interrupted video are kept, so a killed run resumes. When a
worker dies, the scheduler runs its task again on another worker; parts are
written atomically, so the output is complete either way.

A video that cannot be read (missing decoder, damaged or not a video at all)
is reported with its reason and skipped; the other videos still finish, and
the result lists which failed. With ``scheduler="none"`` the same plan runs
without dask, one video after another in this process (the napari panel's
default, and a fallback where starting worker processes is unwanted).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from napari_sleap.distributed.plan import VideoPlan, expand_inputs, plan_videos
from napari_sleap.progress import Cancelled, ProgressFn, StopFlag

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


class _Tracker:
    """Frames done per chunk, fed by worker events and finished futures."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done: dict[str, int] = {}

    def on_event(self, event: Any) -> None:
        _, msg = event
        with self.lock:
            self.done[msg["chunk"]] = max(self.done.get(msg["chunk"], 0), msg["done"])

    def set(self, chunk: str, frames: int) -> None:
        with self.lock:
            self.done[chunk] = frames

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.done)


def predict_batch(
    model_dirs: Sequence[str | Path],
    videos: Sequence[str | Path],
    out_dir: str | Path,
    *,
    frames: str | Sequence[int] | None = None,
    options: Any = None,
    tracker: str | None = None,
    max_tracks: int | None = None,
    chunk_frames: int = 500,
    scheduler: str = "local",
    workers: int | None = None,
    threads: int | None = None,
    client: Any = None,
    overwrite: bool = False,
    progress: ProgressFn | None = None,
    status: Callable[[BatchStatus], None] | None = None,
    stop: StopFlag | None = None,
    log: Callable[[str], None] | None = None,
) -> BatchResult:
    """Predict every video into ``out_dir/<stem>.predictions.slp`` on dask.

    Args:
        model_dirs: model folders forming one pipeline (ours or SLEAP 1.x).
        videos: video paths and glob patterns.
        out_dir: folder for the outputs (created if needed).
        frames: ``"0-299"`` or indices, per video; None: all frames.
        options: :class:`napari_sleap.infer.PredictorOptions`.
        tracker: track each video after its poses (``simple``, ``flow`` ...).
        max_tracks: number of animals for the tracker.
        chunk_frames: frames per task; longer videos are split into chunks
            (same chunks as the single-process ``predict``, same results).
        scheduler: ``local`` (a LocalCluster sized to this machine), the
            address of a running dask scheduler, or ``none``: no dask, the
            videos one after another in this process.
        workers: local worker processes (default: see ``local_sizing``).
        threads: TensorFlow threads per worker (default for a local cluster:
            cores/workers; elsewhere TensorFlow's own default).
        client: an existing dask Client to use instead of ``scheduler``.
        overwrite: predict videos again even where their output exists.
        progress: ``progress(frames done, frames total)``.
        status: receives a :class:`BatchStatus` about four times a second.
        stop: stop flag; pending tasks are cancelled, finished parts kept,
            and :class:`napari_sleap.progress.Cancelled` is raised.
        log: receives one-line messages (the dashboard link ...).
    """
    from napari_sleap.infer.model_io import load_model_info
    from napari_sleap.infer.predictor import PredictorOptions

    say = log or (lambda text: None)
    if scheduler == "none" and workers is not None and client is None:
        raise ValueError(
            "--workers needs dask: use --scheduler local (the default) to start "
            "worker processes, or leave --workers out"
        )
    options = options or PredictorOptions()
    model_dirs = [str(Path(d).absolute()) for d in model_dirs]
    if not model_dirs:
        raise ValueError("give at least one model folder")
    for folder in model_dirs:
        load_model_info(folder)  # a missing or foreign folder fails here, fast
    paths = expand_inputs(videos)
    out = Path(out_dir).absolute()
    if out.exists() and not out.is_dir():
        raise ValueError(f"-o {out}: is a file; batch mode writes into a folder")
    out.mkdir(parents=True, exist_ok=True)
    plans = plan_videos(
        model_dirs,
        paths,
        out,
        frames=frames,
        options=options,
        chunk_frames=chunk_frames,
        overwrite=overwrite,
    )
    result = BatchResult(skipped=[p.output for p in plans if p.done])
    todo = [p for p in plans if not p.done and not p.error]
    for p in plans:
        if p.done:
            say(f"{p.output.name}: already done, skipped (rerun with --overwrite)")
        elif p.error:
            result.failed[p.video] = p.error
            say(f"{p.video.name}: not predicted: {p.error}")
    start = time.monotonic()
    board = _Board(plans, todo, start, progress, status)
    if not todo:
        board.finish()
        return result
    if client is not None:
        _run(client, None, todo, result, board, locals(), say)
    elif scheduler == "none":
        from napari_sleap.distributed.sequential import run_in_process

        run_in_process(todo, result, board, locals(), say)
    else:
        from napari_sleap.distributed.cluster import open_client

        with open_client(scheduler, workers, threads) as (dask_client, sizing):
            if sizing is not None:
                say(
                    f"local cluster: {sizing.workers} worker process(es) x "
                    f"{sizing.threads} thread(s)"
                    + (f", {sizing.gpus} GPU(s)" if sizing.gpus else "")
                )
            _run(dask_client, sizing, todo, result, board, locals(), say)
    result.seconds = time.monotonic() - start
    _sort_by_input(result, todo)
    board.finish()
    return result


class _Board:
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


def _run(
    client: Any,
    sizing: Any,
    todo: list[VideoPlan],
    result: BatchResult,
    board: _Board,
    args: dict,
    say: Callable[[str], None],
) -> None:
    """Submit the tasks of ``todo`` and follow them to the end."""
    from napari_sleap.distributed import worker as w

    threads = sizing.threads if sizing else args["threads"]
    gpus = sizing.gpus if sizing else None
    result.dashboard = board.state.dashboard = client.dashboard_link
    say(f"dask dashboard: {result.dashboard}")
    run_id = uuid.uuid4().hex[:8]
    tracker = _Tracker()
    client.subscribe_topic(w.PROGRESS_TOPIC, tracker.on_event)
    models, options = args["model_dirs"], args["options"]
    chunk_futures: dict[str, tuple[Any, int]] = {}
    chunks_of: dict[Path, list[str]] = {}
    finals: dict[Any, VideoPlan] = {}
    for vi, plan in enumerate(todo):
        deps = []
        chunks_of[plan.output] = []
        for chunk in plan.chunks:
            cid = f"{plan.video.name}#{chunk.index}-{run_id}"
            if not chunk.part.exists():
                fut = client.submit(
                    w.predict_chunk,
                    models,
                    options,
                    str(plan.video),
                    chunk.frames,
                    str(chunk.part),
                    cid,
                    threads,
                    gpus,
                    key=f"predict-chunk-{cid}",
                    priority=-vi,
                    pure=False,
                )
                chunk_futures[cid] = (fut, len(chunk.frames))
                chunks_of[plan.output].append(cid)
                # Frames already in parts of an interrupted run are not work.
                board.add_work(plan, len(chunk.frames))
                deps.append(fut)
        final = client.submit(
            w.finish_video,
            models,
            options,
            str(plan.video),
            plan.frames,
            str(plan.output),
            args["chunk_frames"],
            args["tracker"],
            args["max_tracks"],
            threads,
            gpus,
            *deps,
            key=f"finish-video-{plan.video.name}-{run_id}",
            priority=-vi,
            pure=False,
        )
        finals[final] = plan
    pending = set(finals)
    stop = args["stop"]
    try:
        while pending:
            if stop is not None and stop.is_set():
                client.cancel([f for f, _ in chunk_futures.values()] + list(pending))
                raise Cancelled(STOPPED_MESSAGE)
            finished = {f for f in pending if f.done()}
            pending -= finished
            for cid, (fut, n) in chunk_futures.items():
                if fut.status == "finished":
                    tracker.set(cid, n)
            done = tracker.snapshot()
            for plan in todo:
                board.set_done(
                    plan, sum(done.get(c, 0) for c in chunks_of[plan.output])
                )
            for fut in finished:
                _collect(fut, finals[fut], result, board, say)
            board.update(force=bool(finished))
            if pending and not finished:
                time.sleep(0.25)
    finally:
        client.unsubscribe_topic(w.PROGRESS_TOPIC)
    result.frames = sum(board.of[p].frames_total for p in result.written)


def _sort_by_input(result: BatchResult, todo: list[VideoPlan]) -> None:
    """Outputs and details in input order, not finish order."""
    order = {p.output: i for i, p in enumerate(todo)}
    result.written.sort(key=order.__getitem__)
    result.details.sort(key=lambda d: order[Path(d["output"])])


def record_written(
    plan: VideoPlan, info: dict, result: BatchResult, board: _Board, say
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
    plan: VideoPlan, err: BaseException, result: BatchResult, board: _Board, say
) -> None:
    """Record a video that failed; the rest of the batch goes on."""
    message = f"{type(err).__name__}: {err}"
    result.failed[plan.video] = message
    board.end_video(plan, FAILED, message)
    say(f"{plan.video.name}: failed ({message})")


def _collect(
    fut: Any, plan: VideoPlan, result: BatchResult, board: _Board, say
) -> None:
    """Record one video's outcome (its error, if any, without stopping the rest)."""
    if fut.status == "finished":
        record_written(plan, fut.result(), result, board, say)
    elif fut.status != "cancelled":
        record_failed(plan, fut.exception(), result, board, say)
