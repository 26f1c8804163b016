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
from pathlib import Path
from typing import Any

from napari_sleap.distributed.plan import VideoPlan, expand_inputs, plan_videos
from napari_sleap.distributed.results import (
    STOPPED_MESSAGE,
    BatchResult,
    BatchStatus,
    Board,
    RunArgs,
    record_failed,
    record_written,
)
from napari_sleap.distributed.sequential import run_in_process
from napari_sleap.progress import Cancelled, ProgressFn, StopFlag

__all__ = ["BatchResult", "BatchStatus", "predict_batch"]


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
    board = Board(plans, todo, start, progress, status)
    if not todo:
        board.finish()
        return result
    run = RunArgs(
        model_dirs=model_dirs,
        options=options,
        tracker=tracker,
        max_tracks=max_tracks,
        chunk_frames=chunk_frames,
        threads=threads,
        stop=stop,
    )
    if client is not None:
        _run(client, None, todo, result, board, run, say)
    elif scheduler == "none":
        run_in_process(todo, result, board, run, say)
    else:
        from napari_sleap.distributed.cluster import open_client

        with open_client(scheduler, workers, threads) as (dask_client, sizing):
            if sizing is not None:
                say(
                    f"local cluster: {sizing.workers} worker process(es) x "
                    f"{sizing.threads} thread(s)"
                    + (f", {sizing.gpus} GPU(s)" if sizing.gpus else "")
                )
            _run(dask_client, sizing, todo, result, board, run, say)
    result.seconds = time.monotonic() - start
    _sort_by_input(result, todo)
    board.finish()
    return result


def _run(
    client: Any,
    sizing: Any,
    todo: list[VideoPlan],
    result: BatchResult,
    board: Board,
    args: RunArgs,
    say: Callable[[str], None],
) -> None:
    """Submit the tasks of ``todo`` and follow them to the end."""
    from napari_sleap.distributed import worker as w

    threads = sizing.threads if sizing else args.threads
    gpus = sizing.gpus if sizing else None
    result.dashboard = board.state.dashboard = client.dashboard_link
    say(f"dask dashboard: {result.dashboard}")
    run_id = uuid.uuid4().hex[:8]
    tracker = _Tracker()
    client.subscribe_topic(w.PROGRESS_TOPIC, tracker.on_event)
    models, options = args.model_dirs, args.options
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
            args.chunk_frames,
            args.tracker,
            args.max_tracks,
            threads,
            gpus,
            *deps,
            key=f"finish-video-{plan.video.name}-{run_id}",
            priority=-vi,
            pure=False,
        )
        finals[final] = plan
    pending = set(finals)
    stop = args.stop
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


def _collect(
    fut: Any,
    plan: VideoPlan,
    result: BatchResult,
    board: Board,
    say: Callable[[str], None],
) -> None:
    """Record one video's outcome (its error, if any, without stopping the rest)."""
    if fut.status == "finished":
        record_written(plan, fut.result(), result, board, say)
    elif fut.status != "cancelled":
        record_failed(plan, fut.exception(), result, board, say)
