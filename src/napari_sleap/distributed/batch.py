"""Batch prediction over many videos on dask.distributed: ``predict_batch``.

One task per frame chunk of each video (a short video is one chunk), then one
task per video that stitches its chunks in order, tracks and saves the video's
``.slp`` atomically. Finished videos are skipped on a rerun and finished
chunks of an interrupted video are kept, so a killed run resumes. When a
worker dies, the scheduler runs its task again on another worker; parts are
written atomically, so the output is complete either way.
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


@dataclass
class BatchStatus:
    """Where a batch run stands (what the terminal line and the GUI show)."""

    videos_done: int = 0
    videos_total: int = 0
    frames_done: int = 0
    frames_total: int = 0
    elapsed: float = 0.0
    dashboard: str | None = None

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
        failed: video -> error message, for videos that could not be done.
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

    def total(self) -> int:
        with self.lock:
            return sum(self.done.values())


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
        scheduler: ``local`` (a LocalCluster sized to this machine) or the
            address of a running dask scheduler.
        workers: local worker processes (default: see ``local_sizing``).
        threads: TensorFlow threads per worker (default for a local cluster:
            cores/workers; elsewhere TensorFlow's own default).
        client: an existing dask Client to use instead of ``scheduler``.
        overwrite: predict videos again even where their output exists.
        progress: ``progress(frames done, frames total)``.
        status: receives a :class:`BatchStatus` about twice a second.
        stop: stop flag; pending tasks are cancelled, finished parts kept,
            and :class:`napari_sleap.progress.Cancelled` is raised.
        log: receives one-line messages (the dashboard link ...).
    """
    from napari_sleap.infer.model_io import load_model_info
    from napari_sleap.infer.predictor import PredictorOptions

    say = log or (lambda text: None)
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
    todo = [p for p in plans if not p.done]
    for p in plans:
        if p.done:
            say(f"{p.output.name}: already done, skipped (rerun with --overwrite)")
    if not todo:
        return result
    start = time.monotonic()
    if client is not None:
        _run(client, None, todo, result, start, locals(), say)
    else:
        from napari_sleap.distributed.cluster import open_client

        with open_client(scheduler, workers, threads) as (dask_client, sizing):
            if sizing is not None:
                say(
                    f"local cluster: {sizing.workers} worker process(es) x "
                    f"{sizing.threads} thread(s)"
                    + (f", {sizing.gpus} GPU(s)" if sizing.gpus else "")
                )
            _run(dask_client, sizing, todo, result, start, locals(), say)
    result.seconds = time.monotonic() - start
    return result


def _run(
    client: Any,
    sizing: Any,
    todo: list[VideoPlan],
    result: BatchResult,
    start: float,
    args: dict,
    say: Callable[[str], None],
) -> None:
    """Submit the tasks of ``todo`` and follow them to the end."""
    from napari_sleap.distributed import worker as w

    threads = sizing.threads if sizing else args["threads"]
    gpus = sizing.gpus if sizing else None
    result.dashboard = client.dashboard_link
    say(f"dask dashboard: {result.dashboard}")
    run_id = uuid.uuid4().hex[:8]
    tracker = _Tracker()
    client.subscribe_topic(w.PROGRESS_TOPIC, tracker.on_event)
    models, options = args["model_dirs"], args["options"]
    chunk_futures: dict[str, tuple[Any, int]] = {}
    finals: dict[Any, VideoPlan] = {}
    submitted = dict.fromkeys((p.output for p in todo), 0)  # frames per video
    for vi, plan in enumerate(todo):
        deps = []
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
                submitted[plan.output] += len(chunk.frames)
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
    # Frames already in parts from an interrupted run are not counted as work.
    state = BatchStatus(
        videos_total=len(todo),
        frames_total=sum(n for _, n in chunk_futures.values()),
        dashboard=result.dashboard,
    )
    pending = set(finals)
    stop = args["stop"]
    try:
        while pending:
            if stop is not None and stop.is_set():
                client.cancel([f for f, _ in chunk_futures.values()] + list(pending))
                raise Cancelled(
                    "batch prediction stopped on request; finished videos and "
                    "chunks are kept: rerun the same command to resume"
                )
            finished = {f for f in pending if f.done()}
            pending -= finished
            for fut in finished:
                _collect(fut, finals[fut], result, say)
            for cid, (fut, n) in chunk_futures.items():
                if fut.status == "finished":
                    tracker.set(cid, n)
            state.videos_done = len(result.written) + len(result.failed)
            state.frames_done = min(tracker.total(), state.frames_total)
            state.elapsed = time.monotonic() - start
            if args["progress"]:
                args["progress"](state.frames_done, state.frames_total)
            if args["status"]:
                args["status"](state)
            if pending and not finished:
                time.sleep(0.25)
    finally:
        client.unsubscribe_topic(w.PROGRESS_TOPIC)
    result.frames = sum(submitted[p] for p in result.written)
    order = {p.output: i for i, p in enumerate(todo)}  # input order, not finish order
    result.written.sort(key=order.__getitem__)
    result.details.sort(key=lambda d: order[Path(d["output"])])
    state.frames_done = state.frames_total
    state.elapsed = time.monotonic() - start
    if args["progress"]:
        args["progress"](state.frames_total, state.frames_total)
    if args["status"]:
        args["status"](state)


def _collect(fut: Any, plan: VideoPlan, result: BatchResult, say) -> None:
    """Record one video's outcome (its error, if any, without stopping the rest)."""
    if fut.status == "finished":
        info = fut.result()
        result.written.append(plan.output)
        result.details.append(info)
        say(
            f"{plan.output.name}: {info['labeled_frames']} frames, "
            f"{info['instances']} instances"
        )
        return
    if fut.status == "cancelled":
        return
    err = fut.exception()
    message = f"{type(err).__name__}: {err}"
    result.failed[plan.video] = message
    say(f"{plan.video}: failed ({message})")
