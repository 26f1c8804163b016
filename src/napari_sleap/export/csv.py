"""Tidy CSV export: one row per video x frame x track x node.

Long ("tidy") rather than DeepLabCut's wide layout because it loads straight
into pandas/R for grouping and keeps any number of animals without a
multi-row header. Columns::

    video, frame_idx, track, instance, node, x, y, score,
    instance_score, tracking_score, source

``track`` is the track name (empty for untracked data, where ``instance`` tells
animals in a frame apart); ``x``/``y`` are empty for a node that is not visible;
the three score columns are empty for user-labeled instances; ``source`` is
``user`` or ``predicted``. Each track is represented once per frame, as in the
analysis HDF5 export. Rows are written while frames are read (bounded memory).
"""

from __future__ import annotations

import csv
import os

import numpy as np
import sleap_io as sio

from napari_sleap.export._common import atomic_output, check_exportable, representatives
from napari_sleap.progress import ProgressFn, StopFlag, check_stop, no_progress

COLUMNS = (
    "video",
    "frame_idx",
    "track",
    "instance",
    "node",
    "x",
    "y",
    "score",
    "instance_score",
    "tracking_score",
    "source",
)


def _num(value: float) -> str:
    return "" if value is None or not np.isfinite(value) else repr(float(value))


def write_csv(
    labels: sio.Labels,
    path: str | os.PathLike,
    *,
    source: str = "labels",
    progress: ProgressFn = no_progress,
    stop: StopFlag | None = None,
) -> int:
    """Write the poses of ``labels`` as a tidy CSV (atomically).

    Args:
        labels: Labels with one skeleton.
        path: Output ``.csv``.
        source: Name of the input, for error messages.
        progress: Called as ``progress(done, total)`` over labeled frames.
        stop: Set it to cancel (raises ``progress.Cancelled``; no file is left).

    Returns:
        Number of data rows written.
    """
    check_exportable(labels, source)
    node_names = list(labels.skeletons[0].node_names)
    tracks = list(labels.tracks)
    video_ids = {id(v): i for i, v in enumerate(labels.videos)}
    video_names = [
        v.filename if isinstance(v.filename, str) else str(v.filename)
        for v in labels.videos
    ]
    frames = sorted(labels, key=lambda lf: (video_ids[id(lf.video)], lf.frame_idx))
    rows = 0
    order_cache: dict[int, np.ndarray] = {}
    with atomic_output(path, suffix=".csv") as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            for k, lf in enumerate(frames):
                if k % 200 == 0:
                    check_stop(stop)
                    progress(k, len(frames))
                chosen, _ = representatives(lf, tracks)
                video = video_names[video_ids[id(lf.video)]]
                for slot in sorted(chosen):
                    inst = chosen[slot]
                    key = id(inst.skeleton)
                    if key not in order_cache:
                        own = list(inst.skeleton.node_names)
                        order_cache[key] = np.array([own.index(n) for n in node_names])
                    idx = order_cache[key]
                    predicted = isinstance(inst, sio.PredictedInstance)
                    if predicted:
                        arr = inst.numpy(invisible_as_nan=True, scores=True)[idx]
                        inst_score = _num(inst.score)
                        trk_score = _num(inst.tracking_score)
                    else:
                        arr = inst.numpy(invisible_as_nan=True)[idx]
                        inst_score = trk_score = ""
                    track = inst.track.name if inst.track is not None else ""
                    for n, name in enumerate(node_names):
                        writer.writerow(
                            (
                                video,
                                int(lf.frame_idx),
                                track,
                                slot,
                                name,
                                _num(arr[n, 0]),
                                _num(arr[n, 1]),
                                _num(arr[n, 2]) if predicted else "",
                                inst_score,
                                trk_score,
                                "predicted" if predicted else "user",
                            )
                        )
                        rows += 1
        progress(len(frames), len(frames))
    return rows
