"""The napari predict panel's batch job: many videos, one ``.slp`` each.

:func:`predict_videos` is a :func:`napari_sleap.jobs.start_job` target: it runs
:func:`napari_sleap.distributed.batch.predict_batch` in the job process (on a
LocalCluster, a running scheduler, or without dask), streams each video's
progress as ``("videos", rows)`` data events and returns plain data, so the
viewer's process never imports TensorFlow or dask.distributed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from napari_sleap.progress import ProgressFn, StopFlag

Emit = Callable[[str, Any], None]


def status_rows(status: Any) -> list[dict[str, Any]]:
    """One plain dict per video of a :class:`~.batch.BatchStatus` (picklable)."""
    return [
        {
            "video": str(v.video),
            "output": str(v.output),
            "frames_done": int(v.frames_done),
            "frames_total": int(v.frames_total),
            "state": v.state,
            "message": v.message,
        }
        for v in status.videos
    ]


def scheduler_for(workers: int, scheduler: str | None) -> tuple[str, int | None]:
    """``(scheduler, workers)`` for predict_batch from the panel's choices.

    ``workers`` 0 means no dask (the job process predicts the videos in turn);
    N > 0 a LocalCluster of N worker processes; a scheduler address wins.
    """
    if scheduler:
        return scheduler, None
    if workers < 0:
        raise ValueError(f"workers {workers}: use 0 (no dask) or more")
    return ("none", None) if workers == 0 else ("local", workers)


def predict_videos(
    model_dirs: Sequence[str],
    videos: Sequence[str],
    out_dir: str,
    *,
    frames: str | None = None,
    tracker: str | None = None,
    max_tracks: int | None = None,
    batch_size: int = 4,
    peak_threshold: float = 0.2,
    workers: int = 0,
    scheduler: str | None = None,
    overwrite: bool = False,
    progress: ProgressFn | None = None,
    stop: StopFlag | None = None,
    emit: Emit | None = None,
) -> dict[str, Any]:
    """Predict (and track) every video into ``out_dir/<stem>.predictions.slp``.

    Streams ``("videos", rows)`` (see :func:`status_rows`) when a video's state
    or frame count changes and ``("log", line)`` for each message. A video that
    cannot be read is reported in its row and in ``failed``; the others finish.

    Returns:
        ``{"out_dir", "written" [paths], "kept" [paths], "failed" {video:
        message}, "videos" (final rows), "frames", "seconds", "dashboard"}``.
    """
    from napari_sleap.distributed.batch import predict_batch
    from napari_sleap.infer.predictor import PredictorOptions

    send = emit or (lambda name, value: None)
    if not model_dirs:
        raise ValueError("no model folder given: pick a trained model folder first")
    if not videos:
        raise ValueError("no videos: add videos or a folder of videos first")
    where, n_workers = scheduler_for(workers, scheduler)
    options = PredictorOptions(batch_size=batch_size, peak_threshold=peak_threshold)
    last: dict[str, Any] = {"rows": None, "at": 0.0}
    final: dict[str, Any] = {"rows": []}

    def on_status(status: Any) -> None:
        rows = status_rows(status)
        final["rows"] = rows
        now = time.monotonic()
        # Frame counts change all the time: send those twice a second, states
        # (a video done or failed) at once.
        states = [r["state"] for r in rows]
        changed = last["rows"] is None or states != [r["state"] for r in last["rows"]]
        if changed or (rows != last["rows"] and now - last["at"] >= 0.5):
            last.update(rows=rows, at=now)
            send("videos", rows)

    send("stage", "predict")
    result = predict_batch(
        [str(d) for d in model_dirs],
        [str(v) for v in videos],
        out_dir,
        frames=frames or None,
        options=options,
        tracker=tracker,
        max_tracks=max_tracks,
        scheduler=where,
        workers=n_workers,
        overwrite=overwrite,
        progress=progress,
        status=on_status,
        stop=stop,
        log=lambda text: send("log", text),
    )
    if final["rows"] != last["rows"]:
        send("videos", final["rows"])
    return {
        "out_dir": str(Path(out_dir)),
        "written": [str(p) for p in result.written],
        "kept": [str(p) for p in result.skipped],
        "failed": {str(k): v for k, v in result.failed.items()},
        "videos": final["rows"],
        "frames": result.frames,
        "seconds": result.seconds,
        "dashboard": result.dashboard,
    }
