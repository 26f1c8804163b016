"""Write predictions to a ``.slp`` without building them as sleap-io objects.

A long video's poses come in parts; holding them all as ``PredictedInstance``
objects costs memory and sleap-io's per-object writer time. Here sleap-io writes
the file's metadata (skeleton, videos, tracks, provenance) with no frames, and
the ``frames``/``instances``/``pred_points`` tables, in the same layout and
dtypes sleap-io uses, are appended part by part with h5py. Memory stays at one
part; the file is written beside the target and renamed into place.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from napari_sleap.io.atomic import atomic_path

TABLES = ("frames", "instances", "pred_points")
PREDICTED = 1  # sleap-io's InstanceType.PREDICTED


def part_rows(
    data: dict,
    video_index: int,
    frame_id0: int,
    instance_id0: int,
    point_id0: int,
    with_tracks: bool,
    dtypes: dict[str, np.dtype],
) -> dict[str, np.ndarray]:
    """Table rows for one part (arrays as packed by ``parts.pack_poses``).

    Instances whose nodes are all missing are dropped, then frames left empty,
    exactly as the in-memory path does.
    """
    counts = np.asarray(data["counts"], np.int64)
    points = np.asarray(data["points"], np.float64)
    frame_of = np.repeat(np.arange(len(counts)), counts)
    keep = ~np.all(np.isnan(points[..., 0]), axis=1)
    frame_of = frame_of[keep]
    points = points[keep]
    n_inst, n_nodes = points.shape[:2]
    per_frame = np.bincount(frame_of, minlength=len(counts))
    has = per_frame > 0

    frames = np.zeros(int(has.sum()), dtypes["frames"])
    frames["frame_id"] = frame_id0 + np.arange(len(frames))
    frames["video"] = video_index
    frames["frame_idx"] = np.asarray(data["frame_inds"])[has]
    ends = instance_id0 + np.cumsum(per_frame[has])
    frames["instance_id_start"] = ends - per_frame[has]
    frames["instance_id_end"] = ends

    frame_ids = np.cumsum(has) - 1 + frame_id0  # part frame -> file frame id
    inst = np.zeros(n_inst, dtypes["instances"])
    inst["instance_id"] = instance_id0 + np.arange(n_inst)
    inst["instance_type"] = PREDICTED
    inst["frame_id"] = frame_ids[frame_of]
    inst["skeleton"] = 0
    inst["from_predicted"] = -1
    inst["score"] = np.asarray(data["instance_scores"])[keep]
    inst["point_id_start"] = point_id0 + n_nodes * np.arange(n_inst)
    inst["point_id_end"] = inst["point_id_start"] + n_nodes
    if with_tracks:
        inst["track"] = np.asarray(data["class_inds"])[keep]
        cls = inst["track"] >= 0
        inst["tracking_score"] = np.where(
            cls, np.asarray(data["class_scores"])[keep], 0.0
        )
    else:
        inst["track"] = -1

    pts = np.zeros(n_inst * n_nodes, dtypes["pred_points"])
    xy = points.reshape(-1, 2)
    pts["x"], pts["y"] = xy[:, 0], xy[:, 1]
    pts["visible"] = ~np.isnan(xy[:, 0])
    pts["complete"] = False
    scores = np.asarray(data["point_scores"], np.float64)[keep].reshape(-1)
    pts["score"] = np.nan_to_num(scores, nan=0.0)
    return {"frames": frames, "instances": inst, "pred_points": pts}


def write_predictions(
    path: str | Path,
    videos: list[Any],
    skeleton: Any,
    tracks: list[Any],
    provenance: dict,
    parts: Iterable[tuple[int, dict]],
) -> dict[str, int]:
    """Write a predictions-only ``.slp`` from ``(video index, part arrays)`` pairs.

    Returns:
        Row counts written: ``frames``, ``instances``, ``pred_points``.
    """
    import h5py
    import sleap_io as sio

    path = Path(path)
    labels = sio.Labels(videos=list(videos), skeletons=[skeleton], tracks=list(tracks))
    labels.provenance.update(provenance)
    with atomic_path(path, suffix=".slp") as tmp:
        sio.save_slp(labels, str(tmp), verbose=False)
        totals = dict.fromkeys(TABLES, 0)
        with h5py.File(tmp, "a") as f:
            dtypes = {}
            for name in TABLES:
                dtypes[name] = f[name].dtype
                del f[name]
                f.create_dataset(
                    name, shape=(0,), maxshape=(None,), dtype=dtypes[name], chunks=True
                )
            for vi, data in parts:
                rows = part_rows(
                    data,
                    vi,
                    totals["frames"],
                    totals["instances"],
                    totals["pred_points"],
                    bool(tracks),
                    dtypes,
                )
                for name in TABLES:
                    ds, new = f[name], rows[name]
                    ds.resize((totals[name] + len(new),))
                    ds[totals[name] :] = new
                    totals[name] += len(new)
    return totals
