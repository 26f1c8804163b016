"""SLEAP's analysis HDF5: dense pose arrays per video, laid out as SLEAP writes them.

SLEAP builds frame-first arrays and stores each one transposed (MATLAB's column
order), so on disk:

========================  ==================================  =========
dataset                   shape                               dtype
========================  ==================================  =========
``tracks``                (n_tracks, 2, n_nodes, n_frames)    float64
``track_occupancy``       (n_frames, n_tracks)                uint8
``point_scores``          (n_tracks, n_nodes, n_frames)       float64
``instance_scores``       (n_tracks, n_frames)                float64
``tracking_scores``       (n_tracks, n_frames)                float64
``track_names``           (n_tracks,)                         bytes
``node_names``            (n_nodes,)                          bytes
``edge_names``            (n_edges, 2)                        bytes
``edge_inds``             (n_edges, 2)                        int32
``labels_path``           scalar                              str
``video_path``            scalar                              str
``video_ind``             scalar                              int32
``provenance``            scalar (JSON)                       str
========================  ==================================  =========

The frame axis runs from 0 to the last labeled frame, so column ``f`` is frame
``f``; tracks with no instance are left out; missing points and the scores of
user-labeled instances are NaN. Each array also carries a ``dims`` attribute
naming its axes, which sleap-io reads to confirm the order. The dtypes are those
of SLEAP's own export (its test file
``small_robot.000_small_robot_3_frame.analysis.h5``: int32 ``edge_inds`` and
``video_ind``, uint8 occupancy, float64 arrays).

Untracked data is written as SLEAP writes it: one slot and an empty
``track_names`` (shape ``(0,)``; no names are made up). That layout holds one
animal per frame, so untracked data with several animals in a frame is refused
with the fix (track it first, or export CSV), rather than dropping animals as
SLEAP does or inventing ``track_0``... names as ``sleap_io.save_analysis_h5``
does (sleap-io 0.9.5 cannot read back several slots without names: IndexError).

Why not ``sleap_io.save_analysis_h5`` (checked with 0.9.5): its arrays equal
these over the labeled frames, but where the video is readable it pads the frame
axis to the video's length (1500 frames for the clip's labels, where SLEAP and
this writer stop at the last labeled frame: the export CLI test pins 1246), it
stores user instances' tracking scores as 0 instead of NaN, and it writes in
place rather than atomically.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import sleap_io as sio

from napari_sleap.export._common import atomic_output, check_exportable, representatives


@dataclass
class AnalysisArrays:
    """Frame-first pose arrays of one video (before SLEAP's transpose).

    Attributes:
        tracks: ``(n_frames, n_tracks, n_nodes, 2)`` x, y.
        occupancy: ``(n_frames, n_tracks)`` 1 where a track has an instance.
        point_scores: ``(n_frames, n_tracks, n_nodes)``.
        instance_scores: ``(n_frames, n_tracks)``.
        tracking_scores: ``(n_frames, n_tracks)``.
        track_names: One name per kept track; empty for untracked data
            (one slot).
        dropped: Instances not exported (duplicates on a track, or untracked
            instances in a tracked project).
    """

    tracks: np.ndarray
    occupancy: np.ndarray
    point_scores: np.ndarray
    instance_scores: np.ndarray
    tracking_scores: np.ndarray
    track_names: list[str]
    dropped: int = 0


def analysis_arrays(labels: sio.Labels, video: int = 0) -> AnalysisArrays:
    """Build the analysis arrays of one video of ``labels``.

    Args:
        labels: Labels with one skeleton.
        video: Index of the video in ``labels.videos``.

    Raises:
        ValueError: If the video index is out of range, it has no labeled frame,
            or untracked data has several animals in a frame.
    """
    if not 0 <= video < len(labels.videos):
        raise ValueError(
            f"--video {video}: the labels have {len(labels.videos)} video(s) "
            f"(indices 0..{len(labels.videos) - 1})"
        )
    vid = labels.videos[video]
    lfs = [lf for lf in labels if lf.video is vid]
    if not lfs:
        raise ValueError(f"video {video} ({vid.filename}) has no labeled frames")
    node_names = list(labels.skeletons[0].node_names)
    n_nodes = len(node_names)
    tracks = list(labels.tracks)
    picks = [(int(lf.frame_idx), *representatives(lf, tracks)) for lf in lfs]
    n_frames = max(f for f, _, _ in picks) + 1
    if not tracks:
        _check_one_untracked_animal(picks, video, vid.filename)
    n_slots = max(len(tracks), 1)

    xy = np.full((n_frames, n_slots, n_nodes, 2), np.nan)
    occ = np.zeros((n_frames, n_slots), dtype=np.uint8)
    pscore = np.full((n_frames, n_slots, n_nodes), np.nan)
    iscore = np.full((n_frames, n_slots), np.nan)
    tscore = np.full((n_frames, n_slots), np.nan)
    dropped = 0
    order_cache: dict[int, np.ndarray] = {}
    for frame, chosen, lost in picks:
        dropped += len(lost)
        for slot, inst in chosen.items():
            key = id(inst.skeleton)
            if key not in order_cache:
                own = list(inst.skeleton.node_names)
                order_cache[key] = np.array([own.index(n) for n in node_names])
            idx = order_cache[key]
            occ[frame, slot] = 1
            if isinstance(inst, sio.PredictedInstance):
                arr = inst.numpy(invisible_as_nan=True, scores=True)[idx]
                xy[frame, slot] = arr[:, :2]
                pscore[frame, slot] = arr[:, 2]
                iscore[frame, slot] = float(inst.score)
                tscore[frame, slot] = float(inst.tracking_score or 0.0)
            else:
                xy[frame, slot] = inst.numpy(invisible_as_nan=True)[idx]

    keep = occ.any(axis=0)  # untracked: one slot and no track (no name)
    return AnalysisArrays(
        tracks=xy[:, keep],
        occupancy=occ[:, keep],
        point_scores=pscore[:, keep],
        instance_scores=iscore[:, keep],
        tracking_scores=tscore[:, keep],
        track_names=[t.name for t, k in zip(tracks, keep, strict=False) if k],
        dropped=dropped,
    )


def _check_one_untracked_animal(
    picks: list[tuple[int, dict[int, sio.Instance], list[sio.Instance]]],
    video: int,
    filename: object,
) -> None:
    """Refuse untracked data with several animals in a frame (one slot only)."""
    crowded = [(f, len(chosen)) for f, chosen, _ in picks if len(chosen) > 1]
    if not crowded:
        return
    frame, n = crowded[0]
    raise ValueError(
        f"video {video} ({filename}): frame {frame} has {n} untracked instances "
        f"({len(crowded)} frames have more than one); SLEAP's analysis HDF5 holds "
        "one untracked animal per frame (its slots are tracks). Fix: assign "
        "tracks first (`napari-sleap track IN.slp -o OUT.slp`), or export "
        "--format csv, which keeps every instance"
    )


def _bytes(names: list[str]) -> np.ndarray:
    if not names:
        return np.zeros((0,), dtype="S1")
    return np.array([n.encode("utf-8") for n in names])


def _track_names(names: list[str]) -> np.ndarray:
    """Track names; no tracks is an empty float64 array, as SLEAP stores ``[]``."""
    return _bytes(names) if names else np.zeros((0,), dtype=np.float64)


def write_analysis_h5(
    labels: sio.Labels,
    path: str | os.PathLike,
    *,
    video: int = 0,
    labels_path: str | os.PathLike | None = None,
) -> AnalysisArrays:
    """Write one video's poses as a SLEAP analysis HDF5 file (atomically).

    Args:
        labels: Labels with one skeleton.
        path: Output file (``.h5``).
        video: Index of the video to export.
        labels_path: The ``.slp`` the labels came from (stored as ``labels_path``).

    Returns:
        The arrays written (frame-first), for reporting.
    """
    check_exportable(labels, str(labels_path or "labels"))
    arrays = analysis_arrays(labels, video)
    skeleton = labels.skeletons[0]
    edge_names = [(a, b) for a, b in skeleton.edge_names]
    vid = labels.videos[video]
    video_path = vid.filename if isinstance(vid.filename, str) else str(vid.filename)
    # SLEAP transposes every array; track_occupancy is built (tracks, frames)
    # there, so it lands frames-first on disk.
    data = {
        "tracks": (
            arrays.tracks.transpose(1, 3, 2, 0),
            ("track", "xy", "node", "frame"),
        ),
        "track_occupancy": (arrays.occupancy, ("frame", "track")),
        "point_scores": (
            arrays.point_scores.transpose(1, 2, 0),
            ("track", "node", "frame"),
        ),
        "instance_scores": (arrays.instance_scores.T, ("track", "frame")),
        "tracking_scores": (arrays.tracking_scores.T, ("track", "frame")),
    }
    with atomic_output(path, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        for key, (arr, dims) in data.items():
            ds = f.create_dataset(
                key, data=np.ascontiguousarray(arr), compression="gzip"
            )
            ds.attrs["dims"] = json.dumps(list(dims))
        f.create_dataset("track_names", data=_track_names(arrays.track_names))
        f.create_dataset("node_names", data=_bytes(list(skeleton.node_names)))
        f.create_dataset(
            "edge_names",
            data=np.array(
                [[a.encode(), b.encode()] for a, b in edge_names], dtype="S"
            ).reshape(-1, 2)
            if edge_names
            else np.zeros((0, 2), dtype="S1"),
        )
        f.create_dataset(
            "edge_inds",
            data=np.array(skeleton.edge_inds, dtype=np.int32).reshape(-1, 2),
        )
        f.create_dataset(
            "labels_path", data="" if labels_path is None else str(labels_path)
        )
        f.create_dataset("video_path", data=video_path)
        f.create_dataset("video_ind", data=np.int32(video))
        f.create_dataset("provenance", data=json.dumps(_plain(labels.provenance)))
        f.attrs["format"] = "analysis"
        f.attrs["preset"] = "matlab"
    return arrays


def _plain(obj: object) -> object:
    """Provenance made JSON-safe (paths and numpy scalars become plain values)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def default_paths(
    labels: sio.Labels, source: str | os.PathLike, out: str | os.PathLike | None
) -> list[tuple[int, Path]]:
    """Output file per video: ``OUT`` for one video, SLEAP-style names for several.

    With several videos each gets ``{stem}.{index:03d}_{video name}.analysis.h5``
    beside ``OUT`` (or the source), as SLEAP names its exports.
    """
    source = Path(source)
    stem = source.name[: -len(".slp")] if source.name.endswith(".slp") else source.stem
    if len(labels.videos) <= 1:
        return [(0, Path(out) if out else source.with_name(f"{stem}.analysis.h5"))]
    folder = Path(out).parent if out else source.parent
    base = Path(out).name.removesuffix(".h5").removesuffix(".analysis") if out else stem
    paths = []
    for i, vid in enumerate(labels.videos):
        name = Path(vid.filename if isinstance(vid.filename, str) else vid.filename[0])
        paths.append((i, folder / f"{base}.{i:03d}_{name.stem}.analysis.h5"))
    return paths
