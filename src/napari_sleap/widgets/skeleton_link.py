"""Keep skeleton edge lines on the points they join while the user edits.

npe2 readers return plain layer tuples, so the link is made when layers land in
a viewer: :func:`install` watches ``viewer.layers`` and pairs each instances
Points layer with the Vectors layer sharing its ``metadata['napari_sleap']['link']``.
Dragging updates only the edges touching the moved rows and deleting drops
theirs; adding points (or replacing the data) rebuilds the edges from the rows.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_sleap.convert import META_KEY, decode_rows, edge_vectors
from napari_sleap.styles import DEFAULT_STYLE, LayerStyle

if TYPE_CHECKING:
    import napari
    from napari.layers import Layer, Points, Vectors

_LINKS: weakref.WeakKeyDictionary[Any, SkeletonLink] = weakref.WeakKeyDictionary()
_INSTALLED: weakref.WeakSet[Any] = weakref.WeakSet()


def _meta(layer: Layer) -> dict[str, Any]:
    return (getattr(layer, "metadata", None) or {}).get(META_KEY) or {}


class SkeletonLink:
    """Recomputes a Vectors layer's edges from a Points layer's rows.

    Keeps, for every row, the edges that touch it (sorted index), so a drag
    step costs time in the number of moved rows, not in the layer size.
    """

    def __init__(
        self, points: Points, vectors: Vectors, style: LayerStyle = DEFAULT_STYLE
    ) -> None:
        self.points = points
        self.vectors = vectors
        self.style = style
        self.src = np.zeros(0, np.int64)
        self.dst = np.zeros(0, np.int64)
        self.colors = np.zeros((0, 4), np.float32)
        self._n_rows = -1
        self.rebuild()
        points.events.data.connect(self._on_data)

    def disconnect(self) -> None:
        """Stop following the points."""
        self.points.events.data.disconnect(self._on_data)

    def _index(self) -> None:
        ends = np.concatenate([self.src, self.dst])
        self._order = np.argsort(ends, kind="stable")
        self._sorted_rows = ends[self._order]

    def _set(self, vectors: np.ndarray) -> None:
        self._n_rows = len(self.points.data)
        self._index()
        self.vectors.data = vectors
        if len(self.colors):
            self.vectors.edge_color = self.colors

    def rebuild(self) -> None:
        """Recompute every edge (and its track color) from the current rows."""
        meta = _meta(self.points)
        data = np.asarray(self.points.data)
        keys = decode_rows(data, self.points.features, meta)
        vectors, self.src, self.dst = edge_vectors(data, keys, meta)
        track = meta["table"].track[keys.instance[self.src]]
        self.colors = self.style.tracks.colors_for(track, len(meta["labels"].tracks))
        self._set(vectors)

    def edges_of(self, rows: np.ndarray) -> np.ndarray:
        """Indices of the edges that start or end at ``rows``."""
        lo = np.searchsorted(self._sorted_rows, rows, side="left")
        hi = np.searchsorted(self._sorted_rows, rows, side="right")
        if not len(rows) or not (hi > lo).any():
            return np.zeros(0, np.int64)
        picks = np.concatenate([self._order[a:b] for a, b in zip(lo, hi, strict=True)])
        return np.unique(picks % max(len(self.src), 1))

    def update_rows(self, rows: np.ndarray) -> None:
        """Move the edges that touch ``rows`` to the rows' current positions."""
        hit = self.edges_of(rows)
        if not len(hit):
            return
        data = np.asarray(self.points.data)
        vectors = self.vectors.data  # edited in place: no copy of every edge
        src, dst = self.src[hit], self.dst[hit]
        vectors[hit, 0] = data[src]
        vectors[hit, 1] = data[dst] - data[src]
        vectors[hit, 1, 0] = 0.0
        self.vectors.refresh()

    def remove_rows(self, rows: np.ndarray) -> None:
        """Drop the edges of deleted rows and renumber the rest."""
        rows = np.unique(rows)
        keep = np.ones(len(self.src), dtype=bool)
        keep[self.edges_of(rows)] = False
        self.src = self.src[keep] - np.searchsorted(rows, self.src[keep])
        self.dst = self.dst[keep] - np.searchsorted(rows, self.dst[keep])
        self.colors = self.colors[keep]
        self._set(np.asarray(self.vectors.data)[keep])

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


def link_layers(points: Points, vectors: Vectors) -> SkeletonLink:
    """Make ``vectors`` follow ``points`` (idempotent per Points layer)."""
    existing = _LINKS.get(points)
    if existing is not None and existing.vectors is vectors:
        return existing
    if existing is not None:
        existing.disconnect()
    link = SkeletonLink(points, vectors)
    _LINKS[points] = link
    return link


def link_all(viewer: napari.Viewer) -> list[SkeletonLink]:
    """Link every instances/edges layer pair in ``viewer`` that shares a link id."""
    by_link: dict[str, dict[str, Layer]] = {}
    for layer in viewer.layers:
        meta = _meta(layer)
        if meta.get("role") in ("instances", "edges") and meta.get("link"):
            by_link.setdefault(meta["link"], {})[meta["role"]] = layer
    links = []
    for pair in by_link.values():
        if "instances" in pair and "edges" in pair:
            links.append(link_layers(pair["instances"], pair["edges"]))
    return links


def install(viewer: napari.Viewer | None) -> None:
    """Link existing and future napari-sleap layer pairs in ``viewer``."""
    if viewer is None:
        return
    link_all(viewer)
    if viewer in _INSTALLED:
        return
    _INSTALLED.add(viewer)
    viewer.layers.events.inserted.connect(lambda event: link_all(viewer))
