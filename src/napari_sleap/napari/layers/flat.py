"""Every point of one video's instances as flat arrays: the layer model's base.

:func:`flatten` lays out each node of each instance as one row, in Labels order,
with an :class:`InstanceTable` saying where each instance sits; both the layer
conversion (:mod:`~napari_sleap.napari.layers.convert`) and the row store
(:mod:`~napari_sleap.napari.layers.store`) build on it. Numpy only.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sleap_io as sio


@dataclass
class InstanceTable:
    """Where each instance of one video sits in the Labels and in the layer rows.

    All fields are arrays indexed by instance id (the ``instance`` feature).

    Attributes:
        lf: Index into ``labels.labeled_frames``.
        pos: Index into that frame's ``instances``.
        frame: Frame index in the video.
        track: Index into ``labels.tracks`` (-1: no track).
        predicted: Whether it is a ``PredictedInstance``.
        skeleton: Index into ``labels.skeletons``.
        start: First row of its nodes in the Points layer.
        n_nodes: Number of nodes (rows).
    """

    lf: np.ndarray
    pos: np.ndarray
    frame: np.ndarray
    track: np.ndarray
    predicted: np.ndarray
    skeleton: np.ndarray
    start: np.ndarray
    n_nodes: np.ndarray

    def __len__(self) -> int:
        return len(self.lf)


@dataclass
class FlatPoints:
    """Every node of every instance of one video, one row each, in table order."""

    table: InstanceTable
    xy: np.ndarray  # (P, 2) as stored (NaN allowed)
    visible: np.ndarray  # (P,) bool
    score: np.ndarray  # (P,) float, NaN for user points
    node: np.ndarray  # (P,) node index within its skeleton
    instance: np.ndarray  # (P,) instance id


def video_index(labels: sio.Labels, video: sio.Video | int) -> int:
    """Index of ``video`` (a Video of the labels, or already an index) in the labels."""
    if isinstance(video, int):
        if not 0 <= video < len(labels.videos):
            raise IndexError(f"video {video}: labels have {len(labels.videos)} videos")
        return video
    for i, v in enumerate(labels.videos):
        if v is video:
            return i
    raise ValueError(f"video {video.filename!r} is not one of the labels' videos")


def flatten(labels: sio.Labels, video: sio.Video | int = 0) -> FlatPoints:
    """Collect the points of all instances in one video into flat arrays."""
    vid = labels.videos[video_index(labels, video)]
    track_idx = {id(t): i for i, t in enumerate(labels.tracks)}
    skel_idx = {id(s): i for i, s in enumerate(labels.skeletons)}
    cols: dict[str, list] = {k: [] for k in ("lf", "pos", "frame", "track", "pred")}
    skels: list[int] = []
    xys: list[np.ndarray] = []
    vis: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    for li, lf in enumerate(labels.labeled_frames):
        if lf.video is not vid:
            continue
        for j, inst in enumerate(lf.instances):
            pts = inst.points
            pred = isinstance(inst, sio.PredictedInstance)
            cols["lf"].append(li)
            cols["pos"].append(j)
            cols["frame"].append(lf.frame_idx)
            cols["track"].append(
                -1 if inst.track is None else track_idx[id(inst.track)]
            )
            cols["pred"].append(pred)
            if id(inst.skeleton) not in skel_idx:
                raise ValueError(
                    f"frame {lf.frame_idx}: instance skeleton {inst.skeleton.name!r} "
                    "is not in labels.skeletons; call labels.update() first"
                )
            skels.append(skel_idx[id(inst.skeleton)])
            xys.append(pts["xy"])
            vis.append(pts["visible"])
            scores.append(pts["score"] if pred else np.full(len(pts), np.nan))
    n_nodes = np.array([len(v) for v in vis], dtype=np.int64)
    start = np.zeros(len(n_nodes), dtype=np.int64)
    if len(n_nodes):
        start[1:] = np.cumsum(n_nodes)[:-1]
    table = InstanceTable(
        lf=np.asarray(cols["lf"], dtype=np.int64),
        pos=np.asarray(cols["pos"], dtype=np.int64),
        frame=np.asarray(cols["frame"], dtype=np.int64),
        track=np.asarray(cols["track"], dtype=np.int64),
        predicted=np.asarray(cols["pred"], dtype=bool),
        skeleton=np.asarray(skels, dtype=np.int64),
        start=start,
        n_nodes=n_nodes,
    )
    total = int(n_nodes.sum())
    instance = np.repeat(np.arange(len(table), dtype=np.int64), n_nodes)
    return FlatPoints(
        table=table,
        xy=np.concatenate(xys).astype(np.float64) if xys else np.zeros((0, 2)),
        visible=np.concatenate(vis).astype(bool) if vis else np.zeros(0, bool),
        score=np.concatenate(scores).astype(np.float64) if scores else np.zeros(0),
        node=np.arange(total, dtype=np.int64) - np.repeat(start, n_nodes),
        instance=instance,
    )


def display_xy(flat: FlatPoints) -> np.ndarray:
    """Finite coordinates to draw each row at (never-placed nodes: parked).

    Rows with NaN coordinates go to :func:`parked_xy`'s spots beside their
    instance, so the layer never holds NaN; writing back restores the stored NaN
    unless the row was moved or made visible.
    """
    return parked_xy(flat.xy, flat.instance, len(flat.table))


def parked_xy(xy: np.ndarray, instance: np.ndarray, n_instances: int) -> np.ndarray:
    """``xy`` ``(N, 2)`` with NaN rows moved to a column beside their instance.

    A user sees every node of an instance (SLEAP shows them all): a node never
    placed waits right of the instance's placed nodes, one below the other, so
    it can be dragged to where it belongs. ``instance`` ``(N,)`` gives each
    row's instance (rows of one instance contiguous). An instance with no
    placed node parks at 0.
    """
    xy = np.array(xy, dtype=np.float64)
    bad = ~np.isfinite(xy).all(axis=1)
    if not bad.any():
        return xy
    good = ~bad
    inst = np.asarray(instance, dtype=np.int64)
    n = max(int(n_instances), int(inst.max()) + 1 if len(inst) else 0)
    lo = np.full((n, 2), np.inf)
    hi = np.full((n, 2), -np.inf)
    np.minimum.at(lo, inst[good], xy[good])
    np.maximum.at(hi, inst[good], xy[good])
    placed = np.isfinite(lo).all(axis=1)
    lo[~placed], hi[~placed] = 0.0, 0.0
    extent = np.max(hi - lo, axis=1)
    gap = np.clip(0.12 * extent, 4.0, 12.0)
    rows = np.nonzero(bad)[0]
    owner = inst[rows]
    first = np.r_[0, np.nonzero(np.diff(owner))[0] + 1]
    rank = np.arange(len(rows)) - np.repeat(first, np.diff(np.r_[first, len(rows)]))
    g = gap[owner]
    xy[rows, 0] = hi[owner, 0] + np.where(placed[owner], 1.5 * g, 0.0)
    xy[rows, 1] = lo[owner, 1] + rank * g
    return xy


@dataclass
class RowKeys:
    """What each Points-layer row refers to, decoded from its features."""

    instance: np.ndarray  # (N,) instance id (may exceed the table: new instance)
    node: np.ndarray  # (N,) node index, -1 for an unknown node name
    visible: np.ndarray  # (N,) bool
    known: np.ndarray  # (N,) bool: row belongs to an instance in the table


def lookup_names(names: np.ndarray, vocabulary: Sequence[str]) -> np.ndarray:
    """Index of each name in ``vocabulary`` (-1 if absent).

    A dict lookup per row: ~4x faster than sorting strings with ``np.unique``
    for the millions of rows of a long recording.
    """
    where = {n: i for i, n in enumerate(vocabulary)}
    values = np.asarray(names, dtype=object).ravel()
    lookup = map(where.get, values, itertools.repeat(-1))
    return np.fromiter(lookup, dtype=np.int64, count=len(values))
