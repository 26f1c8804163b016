"""SLEAP Labels <-> napari layer data, with numpy only (no napari import).

One Points layer per video holds every node of every instance as a row
``(frame, y, x)``; its features name the instance, node, track, visibility,
whether it was predicted, and the point score. Invisible nodes stay as hidden rows
(``shown=False``) so the row layout always mirrors the Labels; the Labels object
itself rides along in the layer metadata, and writing back changes exactly the
points whose rows moved, appeared or were deleted. Skeleton edges become a
Vectors layer; tracked instances a Tracks layer ``(track_id, t, y, x)``.
Layers are returned as napari's plain ``(data, kwargs, layer_type)`` tuples;
:mod:`napari_sleap.napari.layers.edits` turns edited layers back into Labels.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np
import sleap_io as sio

from napari_sleap.napari.layers.flat import (
    FlatPoints,
    InstanceTable,
    RowKeys,
    display_xy,
    flatten,
    lookup_names,
    video_index,
)
from napari_sleap.napari.layers.store import (
    WINDOW_MIN_ROWS,
    build_store,
    wanted_rows,
    window_arrays,
)
from napari_sleap.napari.layers.styles import DEFAULT_STYLE, LayerStyle

__all__ = [
    "META_KEY",
    "WINDOW_MIN_ROWS",
    "FlatPoints",
    "InstanceTable",
    "LayerDataTuple",
    "RowKeys",
    "decode_rows",
    "display_xy",
    "edge_rows",
    "flatten",
    "labels_to_layers",
    "labels_to_points",
    "labels_to_tracks",
    "layer_meta",
    "lookup_names",
]

#: Key of this plugin's entry in a layer's ``metadata``.
META_KEY = "napari_sleap"


def layer_meta(layer: Any) -> dict[str, Any]:
    """This plugin's part of a layer's metadata ({} for layers it didn't make)."""
    return (getattr(layer, "metadata", None) or {}).get(META_KEY) or {}


LayerDataTuple = tuple[Any, dict[str, Any], str]


def _track_names(labels: sio.Labels, track: np.ndarray) -> np.ndarray:
    table = np.asarray([t.name for t in labels.tracks] + [""], dtype=object)
    return table[np.where(track < 0, len(labels.tracks), track)]


def labels_to_points(
    labels: sio.Labels,
    video: sio.Video | int = 0,
    *,
    style: LayerStyle = DEFAULT_STYLE,
    link: str | None = None,
    name: str | None = None,
    window_min_rows: int | None = None,
    flat: FlatPoints | None = None,
) -> LayerDataTuple:
    """Points layer data for all instances of one video.

    Args:
        labels: The labels.
        video: Video (or its index).
        style: Layer looks.
        link: Identifier shared with the edges and tracks layers.
        name: Layer name (default from the video).
        window_min_rows: Past this many rows the layer holds only the first
            labeled frame's rows (a viewer's window refills it as the slider
            moves); None: always every row.
        flat: :func:`flatten` of the video, if already made.

    Returns:
        ``(data, kwargs, "points")`` with ``data`` of shape ``(N, 3)`` as
        ``(frame, y, x)``; ``kwargs["features"]`` holds ``frame``, ``instance``,
        ``node``, ``track``, ``visible``, ``predicted`` and ``score``; colors are
        by node (face) and by track (border). Every row, as arrays, is in
        ``metadata["napari_sleap"]["store"]`` (:class:`~.store.RowStore`),
        and the store rows the layer holds in ``window_rows``.
    """
    vi = video_index(labels, video)
    store = build_store(labels, vi, flat)
    windowed = window_min_rows is not None and len(store) > window_min_rows
    rows = wanted_rows(store, store.frame_range()[0], windowed)
    arrays = window_arrays(store, rows, style)
    link = link or uuid.uuid4().hex
    meta = {
        "role": "instances",
        "link": link,
        "labels": labels,
        "video_index": vi,
        "table": store.table,
        "store": store,
        "window_rows": rows,
        "windowed": windowed,
        "track_colors": style.tracks.track_colors(len(labels.tracks)),
    }
    kwargs = {
        "name": name or f"instances [{_video_name(labels, vi)}]",
        "features": arrays.features,
        "face_color": arrays.face,
        "border_color": arrays.border,
        "border_width": style.points.border_width,
        "border_width_is_relative": True,
        "size": style.points.size,
        "shown": arrays.shown,
        # node names on request: off, so napari's "display text" is never ticked
        # with no text (the Labeling dock's Display box switches it on)
        "text": {
            "string": {"feature": "node"},
            "visible": False,
            "size": 8,
            "color": "white",
            "anchor": "upper_left",
        },
        "metadata": {META_KEY: meta},
    }
    return arrays.data, kwargs, "points"


def _video_name(labels: sio.Labels, vi: int) -> str:
    name = labels.videos[vi].filename
    name = name[0] if isinstance(name, list) else name
    return str(name).replace("\\", "/").rsplit("/", 1)[-1]


def decode_rows(
    data: np.ndarray, features: Mapping[str, Any], meta: Mapping[str, Any]
) -> RowKeys:
    """Decode rows of an instances layer into instance and node indices."""
    labels: sio.Labels = meta["labels"]
    tab: InstanceTable = meta["table"]
    n = len(data)
    inst = np.asarray(features["instance"], dtype=np.int64).reshape(n)
    names = np.asarray(features["node"]).reshape(n)
    visible = np.asarray(features["visible"], dtype=bool).reshape(n)
    inside = (inst >= 0) & (inst < len(tab))
    row_skel = np.zeros(n, dtype=np.int64)
    row_skel[inside] = tab.skeleton[inst[inside]]
    node = np.full(n, -1, dtype=np.int64)
    for si, skel in enumerate(labels.skeletons):
        mask = row_skel == si
        if mask.any():
            node[mask] = lookup_names(names[mask], skel.node_names)
    frame = np.rint(data[:, 0]).astype(np.int64) if n else np.zeros(0, np.int64)
    known = inside & (node >= 0)
    known[known] = frame[known] == tab.frame[inst[known]]
    return RowKeys(instance=inst, node=node, visible=visible, known=known)


def edge_rows(keys: RowKeys, meta: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The Points rows joined by each skeleton edge of each known instance.

    An edge exists where both of its nodes have a visible row; edges are listed
    instance by instance in skeleton order.
    """
    labels: sio.Labels = meta["labels"]
    tab: InstanceTable = meta["table"]
    max_nodes = max((len(s.nodes) for s in labels.skeletons), default=0)
    use = keys.known & keys.visible
    rows = np.nonzero(use)[0]
    # only the instances the rows hold (a window holds a few of a long table's)
    ids, local = np.unique(keys.instance[rows], return_inverse=True)
    lookup = np.full((len(ids), max(max_nodes, 1)), -1, dtype=np.int64)
    lookup[local, keys.node[rows]] = rows
    srcs, dsts = [], []
    for si, skel in enumerate(labels.skeletons):
        edges = np.asarray(skel.edge_inds, dtype=np.int64).reshape(-1, 2)
        sel = np.nonzero(tab.skeleton[ids] == si)[0]
        if not len(edges) or not len(sel):
            continue
        src = lookup[sel][:, edges[:, 0]].ravel()
        dst = lookup[sel][:, edges[:, 1]].ravel()
        ok = (src >= 0) & (dst >= 0)
        srcs.append(src[ok])
        dsts.append(dst[ok])
    src = np.concatenate(srcs) if srcs else np.zeros(0, np.int64)
    dst = np.concatenate(dsts) if dsts else np.zeros(0, np.int64)
    return src, dst


def edge_vectors(
    data: np.ndarray, keys: RowKeys, meta: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Skeleton edges between visible rows of each known instance.

    Returns:
        ``(vectors, src_rows, dst_rows)``: vectors ``(M, 2, 3)`` as napari's
        (position, projection), and the Points rows each edge joins.
    """
    src, dst = edge_rows(keys, meta)
    vectors = np.zeros((len(src), 2, data.shape[1]), dtype=np.float64)
    vectors[:, 0] = data[src]
    vectors[:, 1] = data[dst] - data[src]
    vectors[:, 1, 0] = 0.0  # edges stay within their frame
    return vectors, src, dst


def edges_layer(
    points: LayerDataTuple,
    *,
    style: LayerStyle = DEFAULT_STYLE,
    frame: int | None = None,
) -> LayerDataTuple:
    """Vectors layer data for the skeleton edges of an instances Points layer.

    Args:
        points: The instances layer tuple (from :func:`labels_to_points`).
        style: Colors and widths.
        frame: Only this frame's edges (a viewer's skeleton link shows the
            others as the slider moves); None for every frame.
    """
    data, kwargs, _ = points
    meta = kwargs["metadata"][META_KEY]
    keys = decode_rows(data, kwargs["features"], meta)
    vectors, src, _ = edge_vectors(data, keys, meta)
    if frame is not None:
        here = vectors[:, 0, 0] == frame
        vectors, src = vectors[here], src[here]
    tab: InstanceTable = meta["table"]
    track = tab.track[keys.instance[src]] if len(src) else np.zeros(0, np.int64)
    colors = style.tracks.colors_for(track, len(meta["labels"].tracks))
    return (
        vectors,
        {
            "name": kwargs["name"].replace("instances", "edges", 1),
            "edge_color": colors if len(colors) else "white",
            "edge_width": style.edges.width,
            "opacity": style.edges.opacity,
            "vector_style": "line",
            "metadata": {
                META_KEY: {
                    "role": "edges",
                    "link": meta["link"],
                    "video_index": meta["video_index"],
                }
            },
        },
        "vectors",
    )


def instance_centroids(flat: FlatPoints, node: int | None = None) -> np.ndarray:
    """Per-instance ``(x, y)``: a node's position or the mean of visible points.

    NaN where the node (or every node) is invisible.
    """
    tab = flat.table
    ok = flat.visible & np.isfinite(flat.xy).all(axis=1)
    if node is not None:
        rows = tab.start + node
        out = flat.xy[rows].copy()
        out[~ok[rows]] = np.nan
        return out
    sums = np.zeros((len(tab), 2))
    np.add.at(sums, flat.instance[ok], flat.xy[ok])
    counts = np.bincount(flat.instance[ok], minlength=len(tab))[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def labels_to_tracks(
    labels: sio.Labels,
    video: sio.Video | int = 0,
    *,
    node: str | int | None = None,
    style: LayerStyle = DEFAULT_STYLE,
    link: str | None = None,
    flat: FlatPoints | None = None,
) -> LayerDataTuple | None:
    """Tracks layer data ``(track_id, t, y, x)`` for tracked instances of a video.

    Args:
        labels: The labels.
        video: Video (or its index).
        node: Node name or index to follow; ``None`` follows the centroid.
        style: Layer looks (tail length, width).
        link: Identifier shared with the Points layer.
        flat: :func:`flatten` of the video, if already made.

    Returns:
        The layer tuple, or ``None`` when no instance in the video has a track.
        ``track_id`` is the index into ``labels.tracks``; one row per track and
        frame (the first instance wins if a track repeats within a frame).
    """
    vi = video_index(labels, video)
    flat = flat if flat is not None else flatten(labels, vi)
    tab = flat.table
    if isinstance(node, str):
        node = labels.skeletons[0].node_names.index(node)
    pos = instance_centroids(flat, node)
    keep = (tab.track >= 0) & np.isfinite(pos).all(axis=1)
    if not keep.any():
        return None
    track, frame, pos = tab.track[keep], tab.frame[keep], pos[keep]
    order = np.lexsort((frame, track))
    track, frame, pos = track[order], frame[order], pos[order]
    first = np.ones(len(track), dtype=bool)
    first[1:] = (track[1:] != track[:-1]) | (frame[1:] != frame[:-1])
    track, frame, pos = track[first], frame[first], pos[first]
    data = np.column_stack([track, frame, pos[:, 1], pos[:, 0]]).astype(np.float64)
    n_tracks = len(labels.tracks)
    what = "centroid" if node is None else labels.skeletons[0].node_names[node]
    return (
        data,
        {
            "name": f"tracks {what} [{_video_name(labels, vi)}]",
            "properties": {"track_id": track, "track": _track_names(labels, track)},
            "tail_length": style.trajectories.tail_length,
            "head_length": style.trajectories.head_length,
            "tail_width": style.trajectories.tail_width,
            "blending": style.trajectories.blending,
            "metadata": {
                META_KEY: {
                    "role": "tracks",
                    "video_index": vi,
                    "link": link,
                    "track_colors": style.tracks.track_colors(n_tracks),
                }
            },
        },
        "tracks",
    )


def labels_to_layers(
    labels: sio.Labels,
    *,
    style: LayerStyle = DEFAULT_STYLE,
    tracks_node: str | int | None = None,
    max_rows_all_edges: int = 500_000,
    window_min_rows: int | None = WINDOW_MIN_ROWS,
) -> list[LayerDataTuple]:
    """Tracks (where tracked), edges and Points layers for every labeled video.

    Points come last in each group so that napari draws them on top. Past
    ``max_rows_all_edges`` points, the edges layer starts with the first
    labeled frame only (the viewer's skeleton link fills in the rest). Past
    ``window_min_rows`` points, the Points layer holds the first labeled
    frame's rows only (see :func:`labels_to_points`).
    """
    out: list[LayerDataTuple] = []
    labeled = {id(lf.video) for lf in labels.labeled_frames}
    for vi, video in enumerate(labels.videos):
        if id(video) not in labeled and len(labels.videos) > 1:
            continue
        link = uuid.uuid4().hex
        flat = flatten(labels, vi)
        points = labels_to_points(
            labels,
            vi,
            style=style,
            link=link,
            window_min_rows=window_min_rows,
            flat=flat,
        )
        tracks = labels_to_tracks(
            labels, vi, node=tracks_node, style=style, link=link, flat=flat
        )
        if tracks is not None:
            out.append(tracks)
        meta = points[1]["metadata"][META_KEY]
        big = meta["windowed"] or len(meta["store"]) > max_rows_all_edges
        first = meta["store"].frame_range()[0] if big else None
        out.append(edges_layer(points, style=style, frame=first))
        out.append(points)  # last, so points draw above edges and tracks
    return out
