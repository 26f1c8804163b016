"""Every row of an instances layer as plain arrays, so the layer can hold a window.

A long recording has millions of point rows; napari redraws and re-validates a
Points layer in O(rows) on every frame change and edit. :class:`RowStore` keeps
all rows (``(frame, y, x)`` plus instance, node, visibility and score columns)
in numpy arrays; the napari layer holds only the rows of the frame on screen
(:func:`window_arrays` builds them) and the writer reads the full arrays.
Numpy only (no napari import), like :mod:`napari_sleap.napari.layers.convert`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sleap_io as sio

from napari_sleap.napari.layers.flat import (
    FlatPoints,
    InstanceTable,
    RowKeys,
    display_xy,
    flatten,
    parked_xy,
)
from napari_sleap.napari.layers.styles import DEFAULT_STYLE, LayerStyle

__all__ = ["WINDOW_MIN_ROWS", "RowStore", "build_store", "window_arrays"]

#: Past this many point rows, a viewer's instances layer holds one frame's rows
#: (the rest stay in arrays here).
WINDOW_MIN_ROWS = 50_000


@dataclass
class RowStore:
    """All point rows of one video's instances, in table order plus spare rows.

    Attributes:
        labels: The Labels the rows show.
        video_index: Index of the video in ``labels.videos``.
        table: Where each instance sits (``instance`` indexes it).
        data: ``(N, 3)`` rows ``(frame, y, x)``; finite display coordinates.
        instance: Instance id of each row (-1: a spare row of no instance).
        node: Node index of each row within its instance's skeleton.
        visible: The node's visibility (the ``visible`` feature).
        shown: Whether the row is drawn (placed, and not an accepted prediction;
            hidden nodes are drawn dimmed).
        score: Point score (NaN for user points).
    """

    labels: sio.Labels
    video_index: int
    table: InstanceTable
    data: np.ndarray
    instance: np.ndarray
    node: np.ndarray
    visible: np.ndarray
    shown: np.ndarray
    score: np.ndarray
    _by_frame: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    _sorted_frames: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    _loose: set[int] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self.reindex()

    def __len__(self) -> int:
        return len(self.data)

    # ------------------------------------------------------------ frame index

    def reindex(self) -> None:
        """Sort the rows by frame (for :meth:`frame_rows`)."""
        frames = np.rint(self.data[:, 0]).astype(np.int64)
        self._by_frame = np.argsort(frames, kind="stable")
        self._sorted_frames = frames[self._by_frame]
        self._loose = set()

    def moved_frame(self, rows: np.ndarray) -> None:
        """Note rows whose frame changed since the index was built."""
        self._loose.update(int(r) for r in rows)
        if len(self._loose) > 4096:
            self.reindex()

    def frame_rows(self, lo: int, hi: int | None = None) -> np.ndarray:
        """Sorted rows of live instances on frames ``lo..hi`` (inclusive)."""
        hi = lo if hi is None else hi
        a, b = np.searchsorted(self._sorted_frames, [lo, hi + 1])
        rows = self._by_frame[a:b]
        if self._loose:
            loose = np.fromiter(self._loose, np.int64, len(self._loose))
            rows = np.union1d(rows, loose)
        else:
            rows = np.sort(rows)
        frame = np.rint(self.data[rows, 0])
        keep = (frame >= lo) & (frame <= hi) & (self.instance[rows] >= 0)
        return rows[keep]

    def frame_range(self) -> tuple[int, int]:
        """First and last frame of the rows (0, 0 when empty).

        Read from the frame index, so rows freed since it was built still count.
        """
        frames = self._sorted_frames
        if not len(frames):
            return 0, 0
        first, last = int(frames[0]), int(frames[-1])
        if self._loose:
            loose = np.rint(self.data[list(self._loose), 0])
            first, last = min(first, int(loose.min())), max(last, int(loose.max()))
        return first, last

    # ---------------------------------------------------------------- edits

    def grow(self, extra: int) -> int:
        """Append ``extra`` spare rows (no instance, hidden); returns the first."""
        old = len(self.data)
        spare = np.zeros((extra, 3))
        # on the first frame, so a layer holding them keeps the frame range
        spare[:, 0] = self.frame_range()[0]
        self.data = np.concatenate([self.data, spare])
        self.instance = np.concatenate([self.instance, np.full(extra, -1, np.int64)])
        self.node = np.concatenate([self.node, np.zeros(extra, np.int64)])
        self.visible = np.concatenate([self.visible, np.zeros(extra, bool)])
        self.shown = np.concatenate([self.shown, np.zeros(extra, bool)])
        self.score = np.concatenate([self.score, np.full(extra, np.nan)])
        self.reindex()
        return old

    def append_rows(
        self,
        data: np.ndarray,
        *,
        instance: np.ndarray,
        node: np.ndarray,
        visible: np.ndarray,
    ) -> int:
        """Append rows (e.g. points added in napari); returns the first new row."""
        first = self.grow(len(data))
        rows = first + np.arange(len(data))
        self.data[rows] = data
        self.instance[rows] = instance
        self.node[rows] = node
        self.visible[rows] = visible
        self.shown[rows] = visible
        self.reindex()
        return first

    def delete_rows(self, rows: np.ndarray) -> None:
        """Remove rows (the rows after them move up)."""
        for name in ("data", "instance", "node", "visible", "shown", "score"):
            setattr(self, name, np.delete(getattr(self, name), rows, axis=0))
        self.reindex()

    def free_rows(self, rows: np.ndarray) -> None:
        """Make rows spare: they stop naming an instance and are hidden."""
        self.instance[rows] = -1
        self.visible[rows] = False
        self.shown[rows] = False

    # ------------------------------------------------------------- derived

    def row_track(self, rows: np.ndarray) -> np.ndarray:
        """Track index of each row (-1: none or a spare row)."""
        inst = self.instance[rows]
        out = np.full(len(rows), -1, np.int64)
        ok = (inst >= 0) & (inst < len(self.table))
        out[ok] = self.table.track[inst[ok]]
        return out

    def row_predicted(self, rows: np.ndarray) -> np.ndarray:
        """Whether each row belongs to a predicted instance."""
        inst = self.instance[rows]
        out = np.zeros(len(rows), bool)
        ok = (inst >= 0) & (inst < len(self.table))
        out[ok] = self.table.predicted[inst[ok]]
        return out

    def node_names(self, rows: np.ndarray) -> np.ndarray:
        """Node name of each row ("" for spare rows)."""
        out = np.full(len(rows), "", dtype=object)
        inst = self.instance[rows]
        ok = (inst >= 0) & (inst < len(self.table))
        skel = np.full(len(rows), -1, np.int64)
        skel[ok] = self.table.skeleton[inst[ok]]
        for si, s in enumerate(self.labels.skeletons):
            mask = skel == si
            if mask.any():
                names = np.asarray(s.node_names, dtype=object)
                out[mask] = names[np.minimum(self.node[rows][mask], len(names) - 1)]
        return out

    def track_names(self, track: np.ndarray) -> np.ndarray:
        """Track index -> name ("" for -1)."""
        names = [t.name for t in self.labels.tracks] + [""]
        table = np.asarray(names, dtype=object)
        return table[np.where(track < 0, len(self.labels.tracks), track)]

    def keys(self) -> RowKeys:
        """Row keys as :func:`.convert.decode_rows` gives them."""
        tab = self.table
        inst = self.instance
        inside = (inst >= 0) & (inst < len(tab))
        known = inside.copy()
        frame = np.rint(self.data[:, 0]).astype(np.int64)
        known[inside] = frame[inside] == tab.frame[inst[inside]]
        return RowKeys(
            instance=inst.copy(),
            node=np.where(inside, self.node, -1),
            visible=self.visible.copy(),
            known=known,
        )

    def instance_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean ``(y, x)`` of each instance's shown rows, and their count.

        Weighted counts over all rows (spare rows land in bin 0, dropped):
        no boolean gathers of the millions of rows.
        """
        n = len(self.table)
        bins = self.instance + 1
        weight = (self.shown & self.visible).astype(np.float64)
        count = np.bincount(bins, weights=weight, minlength=n + 1)[1 : n + 1]
        sums = np.zeros((n, 2))
        for k in (0, 1):
            col = self.data[:, k + 1] * weight
            sums[:, k] = np.bincount(bins, weights=col, minlength=n + 1)[1 : n + 1]
        return sums / np.maximum(count, 1)[:, None], count.astype(np.int64)

    def tracks_data(self) -> tuple[np.ndarray, np.ndarray]:
        """Tracks layer rows ``(track, frame, y, x)`` from the shown rows.

        Returns:
            ``(data, track)``: one row per track and frame (the first instance
            wins), sorted by track then frame, and each row's track index.
        """
        tab = self.table
        centre, count = self.instance_centres()
        keep = (tab.track >= 0) & (count > 0)
        track, frame, centre = tab.track[keep], tab.frame[keep], centre[keep]
        order = np.lexsort((frame, track))
        track, frame, centre = track[order], frame[order], centre[order]
        first = np.ones(len(track), dtype=bool)
        first[1:] = (track[1:] != track[:-1]) | (frame[1:] != frame[:-1])
        track, frame, centre = track[first], frame[first], centre[first]
        data = np.column_stack([track, frame, centre]).astype(np.float64)
        return data, track


def build_store(
    labels: sio.Labels, video_index: int, flat: FlatPoints | None = None
) -> RowStore:
    """The row store of one video, in :func:`.convert.flatten` order."""
    flat = flat if flat is not None else flatten(labels, video_index)
    tab = flat.table
    xy = display_xy(flat)
    frames = np.repeat(tab.frame, tab.n_nodes).astype(np.float64)
    return RowStore(
        labels=labels,
        video_index=video_index,
        table=tab,
        data=np.column_stack([frames, xy[:, 1], xy[:, 0]]),
        instance=flat.instance.copy(),
        node=flat.node.copy(),
        # a node with no position is not visible, whatever its flag says (as
        # frame_block has it): no edge runs to where it is parked
        visible=flat.visible & np.isfinite(flat.xy).all(axis=1),
        # hidden nodes stay on screen (dimmed) so they can be picked and shown;
        # a user instance's never-placed nodes too, parked beside it
        shown=np.isfinite(flat.xy).all(axis=1) | ~tab.predicted[flat.instance],
        score=flat.score.copy(),
    )


@dataclass
class WindowArrays:
    """What a Points layer holding some rows of a store is set to."""

    data: np.ndarray
    features: dict[str, np.ndarray]
    face: np.ndarray
    border: np.ndarray
    shown: np.ndarray
    predicted: np.ndarray


def window_arrays(
    store: RowStore, rows: np.ndarray, style: LayerStyle = DEFAULT_STYLE
) -> WindowArrays:
    """Layer data, features and colors of ``rows`` of the store (-1: an anchor).

    Anchor rows (-1) are hidden rows of no instance that a window adds at the
    first and last frame, so that the viewer's frame slider keeps its range.
    """
    rows = np.asarray(rows, dtype=np.int64)
    real = rows >= 0
    rr = rows[real]
    n = len(rows)
    data = np.zeros((n, 3))
    data[real] = store.data[rr]
    if (~real).any():
        lo, hi = store.frame_range()
        anchors = np.nonzero(~real)[0]
        data[anchors, 0] = np.where(np.arange(len(anchors)) % 2, hi, lo)

    def column(values: np.ndarray, fill: Any, dtype: Any) -> np.ndarray:
        out = np.full(n, fill, dtype=dtype)
        out[real] = values
        return out

    inst = column(store.instance[rr], -1, np.int64)
    track = column(store.row_track(rr), -1, np.int64)
    pred = column(store.row_predicted(rr), False, bool)
    node = column(store.node[rr], 0, np.int64)
    shown = column(store.shown[rr], False, bool)
    features = {
        "frame": np.rint(data[:, 0]).astype(np.int64),
        "instance": inst,
        "node": column(store.node_names(rr), "", object),
        "track": store.track_names(track),
        "visible": column(store.visible[rr], False, bool),
        "predicted": pred,
        "score": column(store.score[rr], np.nan, np.float64),
    }
    max_nodes = max((len(s.nodes) for s in store.labels.skeletons), default=1)
    max_nodes = max(max_nodes, 1)
    face = style.points.node_colors(max_nodes)[np.clip(node, 0, max_nodes - 1)]
    face[pred, 3] = style.points.predicted_alpha
    hidden = real & ~features["visible"]
    face[hidden, 3] = style.points.hidden_alpha  # hollow-looking, still clickable
    border = style.tracks.colors_for(track, len(store.labels.tracks))
    return WindowArrays(
        data=data,
        features=features,
        face=face,
        border=border,
        shown=shown,
        predicted=pred,
    )


def wanted_rows(store: RowStore, frame: int | None, windowed: bool) -> np.ndarray:
    """Rows a layer should hold: all rows, or one frame's plus two anchors."""
    if not windowed or frame is None:
        return np.arange(len(store), dtype=np.int64)
    rows = store.frame_rows(frame)
    return np.concatenate([rows, np.array([-1, -1], np.int64)])


def full_rows(
    store: RowStore, window: Any = None, window_rows: Any = None
) -> tuple[np.ndarray, RowKeys, np.ndarray]:
    """Every row for the writer: data, keys and track names.

    ``window``/``window_rows``: a layer's rows and the store rows they show;
    their positions overwrite the store's (edits the store never heard of).
    """
    data = store.data
    if window is not None and window_rows is not None:
        window = np.asarray(window, dtype=np.float64)
        rows = np.asarray(window_rows, dtype=np.int64)
        if len(window) == len(rows) and len(rows):
            real = rows >= 0
            data = data.copy()
            data[rows[real]] = window[real]
    keys = store.keys()
    names = store.track_names(store.row_track(np.arange(len(store))))
    return data, keys, names


@dataclass
class FrameBlock:
    """The rows one labeled frame should have now, instance by instance."""

    instances: list[sio.Instance]
    track: np.ndarray
    predicted: np.ndarray
    skeleton: np.ndarray
    n_nodes: np.ndarray
    xy: np.ndarray  # (R, 2) display (finite) coordinates
    visible: np.ndarray
    shown: np.ndarray  # placed, and not a prediction already accepted
    score: np.ndarray
    node: np.ndarray


def frame_block(labels: sio.Labels, lf: sio.LabeledFrame) -> FrameBlock:
    """Rows of a labeled frame's instances (as :func:`build_store` lays them out).

    Predictions a user instance was made from are kept but not shown.
    """
    insts = list(lf.instances)
    track_idx = {id(t): i for i, t in enumerate(labels.tracks)}
    skel_idx = {id(s): i for i, s in enumerate(labels.skeletons)}
    used = {
        id(i.from_predicted)
        for i in insts
        if i.from_predicted is not None and not isinstance(i, sio.PredictedInstance)
    }
    xy, vis, score, node, shown = [], [], [], [], []
    n_nodes, track, pred, skel = [], [], [], []
    for inst in insts:
        pts = inst.points
        is_pred = isinstance(inst, sio.PredictedInstance)
        p = np.array(pts["xy"], dtype=np.float64)
        good = np.isfinite(p).all(axis=1)
        xy.append(parked_xy(p, np.zeros(len(p), np.int64), 1))
        vis.append(np.array(pts["visible"], dtype=bool) & good)
        # hidden nodes drawn dimmed; a user instance's never-placed ones parked
        shown.append((good | (not is_pred)) & (id(inst) not in used))
        score.append(
            np.array(pts["score"], float) if is_pred else np.full(len(p), np.nan)
        )
        node.append(np.arange(len(p)))
        n_nodes.append(len(p))
        track.append(-1 if inst.track is None else track_idx[id(inst.track)])
        pred.append(is_pred)
        skel.append(skel_idx[id(inst.skeleton)])

    def cat(parts: list, shape: tuple, dtype: Any) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(shape, dtype)

    return FrameBlock(
        instances=insts,
        track=np.asarray(track, dtype=np.int64),
        predicted=np.asarray(pred, dtype=bool),
        skeleton=np.asarray(skel, dtype=np.int64),
        n_nodes=np.asarray(n_nodes, dtype=np.int64),
        xy=cat(xy, (0, 2), np.float64),
        visible=cat(vis, (0,), bool),
        shown=cat(shown, (0,), bool),
        score=cat(score, (0,), np.float64),
        node=cat(node, (0,), np.int64),
    )
