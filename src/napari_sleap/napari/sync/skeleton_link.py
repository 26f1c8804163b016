"""Keep skeleton edge lines on the points they join while the user edits.

npe2 readers return plain layer tuples, so the link is made when layers land in
a viewer: :func:`install` watches ``viewer.layers`` and pairs each instances
Points layer with the Vectors layer sharing its
``metadata['napari_sleap']['link']``.

The link keeps every edge as a pair of Points rows and shows only the current
frame's edges in the Vectors layer while the frame axis is a slider: napari
recomputes a Vectors layer's extent from all its data on every change, which on
a long recording (millions of edges) made each frame step and drag slow. Dragging
moves only the edges that touch the moved rows; deleting drops theirs; adding
points (or replacing the data) rebuilds the edges from the rows.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_sleap.napari.compat import unproxied
from napari_sleap.napari.layers.convert import decode_rows, edge_rows, layer_meta
from napari_sleap.napari.layers.styles import DEFAULT_STYLE, LayerStyle

if TYPE_CHECKING:
    import napari
    from napari.components import Dims
    from napari.layers import Layer, Points, Vectors

_LINKS: weakref.WeakKeyDictionary[Any, SkeletonLink] = weakref.WeakKeyDictionary()
_INSTALLED: weakref.WeakSet[Any] = weakref.WeakSet()


class SkeletonLink:
    """Draws a Points layer's skeleton edges in a Vectors layer, following edits.

    Args:
        points: The instances layer (rows carry instance/node features).
        vectors: The edges layer it fills.
        dims: The viewer's dims; with it, only the current frame's edges are
            drawn while axis 0 (frames) is a slider. Without it, all edges.
        style: Colors (edges are colored by track).
    """

    def __init__(
        self,
        points: Points,
        vectors: Vectors,
        dims: Dims | None = None,
        style: LayerStyle = DEFAULT_STYLE,
    ) -> None:
        self.points = points
        self.vectors = vectors
        self.dims = dims
        self.style = style
        self.src = np.zeros(0, np.int64)
        self.dst = np.zeros(0, np.int64)
        self.colors = np.zeros((0, 4), np.float32)
        self.shown = np.zeros(0, np.int64)  # edges now in the Vectors layer
        self._n_rows = -1
        self.rebuild()
        points.events.data.connect(self._on_data)
        if dims is not None:
            dims.events.current_step.connect(self._on_step)
            dims.events.order.connect(self._on_step)
            dims.events.ndisplay.connect(self._on_step)

    def disconnect(self) -> None:
        """Stop following the points and the frame slider."""
        from napari_sleap.napari.sync.window import window_for

        window = window_for(self.points)
        if window is not None and self.rebuild in window.refilled:
            window.refilled.remove(self.rebuild)
        self.points.events.data.disconnect(self._on_data)
        if self.dims is not None:
            self.dims.events.current_step.disconnect(self._on_step)
            self.dims.events.order.disconnect(self._on_step)
            self.dims.events.ndisplay.disconnect(self._on_step)

    # -- which edges -------------------------------------------------------

    def _frame(self) -> int | None:
        """The frame on the slider, or None when every frame is drawn."""
        dims = self.dims
        if dims is None or 0 in dims.displayed:
            return None
        return int(np.rint(dims.point[0]))

    def _index(self) -> None:
        """Sort edge ends by row (for edits) and edges by frame (for the slider)."""
        ends = np.concatenate([self.src, self.dst])
        self._order = np.argsort(ends, kind="stable")
        self._sorted_rows = ends[self._order]
        frame = np.rint(np.asarray(self.points.data)[self.src, 0]).astype(np.int64)
        self._by_frame = np.argsort(frame, kind="stable")
        self._sorted_frames = frame[self._by_frame]
        self._n_rows = len(self.points.data)

    def edges_of(self, rows: np.ndarray) -> np.ndarray:
        """Indices of the edges that start or end at ``rows``."""
        lo = np.searchsorted(self._sorted_rows, rows, side="left")
        hi = np.searchsorted(self._sorted_rows, rows, side="right")
        if not len(rows) or not (hi > lo).any():
            return np.zeros(0, np.int64)
        picks = np.concatenate([self._order[a:b] for a, b in zip(lo, hi, strict=True)])
        return np.unique(picks % max(len(self.src), 1))

    def _wanted(self) -> np.ndarray:
        frame = self._frame()
        if frame is None:
            return np.arange(len(self.src))
        lo, hi = np.searchsorted(self._sorted_frames, [frame, frame + 1])
        return np.sort(self._by_frame[lo:hi])

    # -- drawing -----------------------------------------------------------

    def _vectors(self, edges: np.ndarray) -> np.ndarray:
        data = np.asarray(self.points.data)
        src, dst = self.src[edges], self.dst[edges]
        out = np.zeros((len(edges), 2, data.shape[1]))
        out[:, 0] = data[src]
        out[:, 1] = data[dst] - data[src]
        out[:, 1, 0] = 0.0
        return out

    def show(self) -> None:
        """Put the wanted edges (this frame's, or all) into the Vectors layer."""
        self.shown = self._wanted()
        self.vectors.data = self._vectors(self.shown)
        if len(self.shown):
            self.vectors.edge_color = self.colors[self.shown]

    def rebuild(self) -> None:
        """Recompute every edge (and its track color) from the current rows."""
        meta = layer_meta(self.points)
        data = np.asarray(self.points.data)
        keys = decode_rows(data, self.points.features, meta)
        shown = np.asarray(self.points.shown, dtype=bool)
        if len(shown) == len(data):  # no edge to a node never placed (NaN)
            keys.visible = keys.visible & shown
        self.src, self.dst = edge_rows(keys, meta)
        track = meta["table"].track[keys.instance[self.src]]
        self.colors = self.style.tracks.colors_for(track, len(meta["labels"].tracks))
        self._index()
        self.show()

    def update_rows(self, rows: np.ndarray) -> None:
        """Move the drawn edges that touch ``rows`` to the rows' positions."""
        hit = self.edges_of(rows)
        where = np.searchsorted(self.shown, hit)
        where = where[where < len(self.shown)]
        where = where[np.isin(self.shown[where], hit)]
        if not len(where):
            return
        vectors = self.vectors.data  # edited in place: no copy of every edge
        vectors[where] = self._vectors(self.shown[where])
        self.vectors.refresh()

    def remove_rows(self, rows: np.ndarray) -> None:
        """Drop the edges of deleted rows and renumber the rest."""
        rows = np.unique(rows)
        keep = np.ones(len(self.src), dtype=bool)
        keep[self.edges_of(rows)] = False
        self.src = self.src[keep] - np.searchsorted(rows, self.src[keep])
        self.dst = self.dst[keep] - np.searchsorted(rows, self.dst[keep])
        self.colors = self.colors[keep]
        self._index()
        self.show()

    # -- events ------------------------------------------------------------

    def _on_step(self, event: Any = None) -> None:
        if self._frame() is None and len(self.shown) == len(self.src):
            return
        wanted = self._wanted()
        if len(wanted) != len(self.shown) or not np.array_equal(wanted, self.shown):
            self.show()

    def _on_data(self, event: Any) -> None:
        action = str(getattr(event, "action", "changed")).lower()
        if action.endswith(("adding", "removing", "changing")):
            return
        rows = np.asarray(getattr(event, "data_indices", ()) or (), dtype=np.int64)
        n = len(self.points.data)
        if action.endswith("changed") and n == self._n_rows and 0 < len(rows) < n:
            self.update_rows(rows)
        elif action.endswith("removed") and n == self._n_rows - len(set(rows)) > 0:
            self.remove_rows(rows)
        else:
            self.rebuild()


def link_layers(
    points: Points, vectors: Vectors, dims: Dims | None = None
) -> SkeletonLink:
    """Make ``vectors`` follow ``points`` (idempotent per Points layer)."""
    points, vectors, dims = unproxied(points), unproxied(vectors), unproxied(dims)
    existing = _LINKS.get(points)
    if existing is not None and existing.vectors is vectors:
        return existing
    if existing is not None:
        existing.disconnect()
    link = SkeletonLink(points, vectors, dims)
    _LINKS[points] = link
    if layer_meta(points).get("store") is not None:
        from napari_sleap.napari.sync.window import attach_window

        # the window refills the points as the slider moves: edges follow
        window = attach_window(points, dims)
        window.refilled.append(link.rebuild)
        if window.windowed:
            link.rebuild()
    return link


def link_all(viewer: napari.Viewer) -> list[SkeletonLink]:
    """Link every instances/edges layer pair in ``viewer`` that shares a link id."""
    viewer = unproxied(viewer)
    by_link: dict[str, dict[str, Layer]] = {}
    for layer in viewer.layers:
        meta = layer_meta(layer)
        if meta.get("role") in ("instances", "edges") and meta.get("link"):
            by_link.setdefault(meta["link"], {})[meta["role"]] = layer
    links = []
    for pair in by_link.values():
        points = pair.get("instances")
        if points is not None and layer_meta(points).get("store") is not None:
            from napari_sleap.napari.sync.tracks_follow import follow_tracks
            from napari_sleap.napari.sync.window import attach_window

            attach_window(points, viewer.dims)
            follow_tracks(viewer, points)
        if "instances" in pair and "edges" in pair:
            fresh = pair["instances"] not in _LINKS
            link = link_layers(pair["instances"], pair["edges"], viewer.dims)
            if fresh:
                _go_to_labels(viewer, pair["instances"])
            links.append(link)
    return links


def _go_to_labels(viewer: napari.Viewer, points: Points) -> None:
    """Move the frame slider to the first labeled frame if this one has none."""
    if 0 in viewer.dims.displayed or not len(points.data):
        return
    frames = np.rint(np.asarray(points.data)[:, 0])
    if not (frames == np.rint(viewer.dims.point[0])).any():
        viewer.dims.set_point(0, float(frames.min()))


def install(viewer: napari.Viewer | None) -> None:
    """Link existing and future napari-sleap layer pairs in ``viewer``."""
    if viewer is None:
        return
    viewer = unproxied(viewer)
    link_all(viewer)
    name_frame_axis(viewer)
    if viewer in _INSTALLED:
        return
    _INSTALLED.add(viewer)
    viewer.layers.events.inserted.connect(lambda event: link_all(viewer))
    viewer.layers.events.inserted.connect(lambda event: name_frame_axis(viewer))
    viewer.layers.events.removed.connect(_unlink_removed)


def name_frame_axis(viewer: napari.Viewer) -> None:
    """Call the slider's axis "frame" (napari names it by number: "-3", "0").

    Only where a napari-sleap layer (labels or video) spans the first axis and
    the name is still napari's default (a number); public ``dims.axis_labels``.
    """
    dims = viewer.dims
    ours = any(
        layer_meta(la) or type(la.data).__name__ == "LazyFrames"  # our video reader
        for la in viewer.layers
    )
    if dims.ndim < 3 or not ours:
        return
    labels = list(dims.axis_labels)
    first = str(labels[0]).lstrip("-")
    if first.isdigit():
        labels[0] = "frame"
        dims.axis_labels = labels


def _unlink_removed(event: Any) -> None:
    """Forget links (and windows) whose Points or Vectors layer left the viewer."""
    from napari_sleap.napari.sync.tracks_follow import unfollow
    from napari_sleap.napari.sync.window import detach_window

    layer = event.value
    for points, link in list(_LINKS.items()):
        if layer is points or layer is link.vectors:
            link.disconnect()
            del _LINKS[points]
    detach_window(layer)
    unfollow(layer)
