"""What runs on a dask worker: process set-up, a kept model, chunk and video tasks.

Each worker process loads a pipeline once and keeps it (keyed by model folders
and options), so the tasks after the first pay no loading cost. Threads (and,
with several GPUs, the visible GPU) are pinned before TensorFlow starts, so
the workers of one machine don't oversubscribe its cores.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: dask event topic carrying ``{"chunk": id, "done": frames}`` from the tasks.
PROGRESS_TOPIC = "napari-sleap-progress"

#: TensorFlow inter-op threads per worker (scheduling independent ops).
INTER_OP_THREADS = 2

_CACHE_LOCK = threading.Lock()
_PREDICTORS: dict[tuple, tuple[Any, threading.Lock]] = {}
_CONFIGURED = False


def _worker_index() -> int | None:
    """The integer name LocalCluster gives its workers (None elsewhere)."""
    try:
        from distributed import get_worker

        return int(get_worker().name)
    except (ValueError, TypeError):
        return None


def configure_process(threads: int | None, gpus: int | None) -> None:
    """Pin this process's TensorFlow threads and GPU, once, before TF starts.

    Args:
        threads: intra-op threads for TensorFlow (None: leave TF's default).
        gpus: GPUs on this machine; worker ``i`` then sees only GPU ``i % gpus``.
    """
    global _CONFIGURED
    if _CONFIGURED:
        return
    _CONFIGURED = True
    fresh = "tensorflow" not in sys.modules
    if gpus and fresh:
        index = _worker_index()
        if index is not None:
            os.environ["CUDA_VISIBLE_DEVICES"] = str(index % gpus)
    if not threads:
        return
    # Two inter-op threads let independent ops (the top-down crops) overlap;
    # the compute itself stays in the pinned intra-op pool.
    inter = INTER_OP_THREADS
    if fresh:
        os.environ["OMP_NUM_THREADS"] = str(threads)
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
        os.environ["TF_NUM_INTEROP_THREADS"] = str(inter)
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError:  # TensorFlow was already running in this process
        pass


def thread_settings() -> dict[str, Any]:
    """This process's pinning, for checks: env variables and TF's own settings."""
    import tensorflow as tf

    env = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "CUDA_VISIBLE_DEVICES")
    return {
        "pid": os.getpid(),
        "env": {k: os.environ.get(k) for k in env},
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        "models": len(_PREDICTORS),
    }


def get_predictor(model_dirs: Sequence[str | Path], options: Any):
    """The kept predictor of this process for these folders and options.

    Returns the predictor and a lock: workers with several task threads share
    one model, one run at a time.
    """
    from napari_sleap.infer.predictor import Predictor

    key = (tuple(str(Path(d).resolve()) for d in model_dirs), repr(options))
    with _CACHE_LOCK:
        if key not in _PREDICTORS:
            predictor = Predictor.from_model_dirs(list(model_dirs), options)
            _PREDICTORS[key] = (predictor, threading.Lock())
        return _PREDICTORS[key]


class _Reporter:
    """Sends a chunk's frames done to the client as dask events, throttled."""

    def __init__(self, chunk_id: str, interval: float = 0.5) -> None:
        from distributed import get_worker

        self.worker = get_worker()
        self.chunk_id = chunk_id
        self.interval = interval
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self.interval:
            return
        self._last = now
        self.worker.log_event(PROGRESS_TOPIC, {"chunk": self.chunk_id, "done": done})


def predict_chunk(
    model_dirs: Sequence[str],
    options: Any,
    video: str,
    frames: list[int],
    part: str,
    chunk_id: str,
    threads: int | None = None,
    gpus: int | None = None,
) -> dict[str, Any]:
    """Predict ``frames`` of ``video`` into the part file ``part`` (atomic).

    A part already on disk (a retried task whose first try got that far) is
    kept as it is.
    """
    import numpy as np
    import sleap_io as sio

    from napari_sleap.infer.frame_damage import screen_frames
    from napari_sleap.infer.parts import open_frames, pack_poses, save_part

    configure_process(threads, gpus)
    path = Path(part)
    start = time.monotonic()
    if path.exists():
        return {"chunk": chunk_id, "frames": len(frames), "cached": True}
    predictor, lock = get_predictor(model_dirs, options)
    report = _Reporter(chunk_id)
    got: list[int] = []
    poses: list[Any] = []
    with lock:
        reader = open_frames(sio.Video.from_filename(video))
        try:
            screened = screen_frames(reader, frames)  # damaged packets' frames
            for inds, batch in predictor.run(screened, frames, progress=report):
                got.extend(inds)
                poses.extend(batch)
        finally:
            reader.close()
    data = pack_poses(got, poses, len(predictor.info.node_names))
    data["skipped"] = np.asarray(sorted(set(frames) - set(got)), np.int64)
    save_part(path, data)
    return {
        "chunk": chunk_id,
        "frames": len(frames),
        "skipped": len(data["skipped"]),
        "seconds": time.monotonic() - start,
        "pid": os.getpid(),
    }


def finish_video(
    model_dirs: Sequence[str],
    options: Any,
    video: str,
    frames: list[int],
    output: str,
    chunk_frames: int,
    tracker: str | None,
    max_tracks: int | None,
    threads: int | None,
    gpus: int | None,
    *chunk_results: dict,
) -> dict[str, Any]:
    """Stitch a video's parts in order, track, save its ``.slp`` atomically.

    This is :func:`napari_sleap.infer.predict.predict` finding every part on
    disk, so the file is the one a single-process run writes.
    """
    from napari_sleap.infer.predict import predict

    configure_process(threads, gpus)
    predictor, lock = get_predictor(model_dirs, options)
    with lock:
        labels = predict(
            list(model_dirs),
            video,
            output,
            frames=frames,
            options=options,
            tracker=tracker,
            max_tracks=max_tracks,
            chunk_frames=chunk_frames,
            predictor=predictor,
        )
    info = labels.provenance.get("napari_sleap.predict", {})
    return {
        "video": video,
        "output": output,
        "frames": len(frames),
        "labeled_frames": len(labels.labeled_frames),
        "instances": sum(len(lf.instances) for lf in labels.labeled_frames),
        "bad_frames": len(info.get("bad_frames", [])),
        "chunks": len(chunk_results),
        "pid": os.getpid(),
    }
