"""An instances Points layer that holds only the frame on screen.

All rows live in the layer's :class:`~napari_sleap.napari.layers.store.RowStore`
(``metadata['napari_sleap']['store']``). Past
:data:`~napari_sleap.napari.layers.convert.WINDOW_MIN_ROWS` rows the layer holds the
current frame's rows (plus two hidden anchors at the first and last frame, which keep
the slider's range) and :class:`InstancesWindow` refills it in place when the frame
slider moves: a napari Points layer costs O(rows) per frame change and edit, so
millions of rows made every step take seconds. Below the threshold the layer
holds every row in store order (layer row == store row) and nothing is refilled.

Either way the window keeps the store in step with what napari does to the layer
(drags, deleted and added points), so the writer saves every row.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_sleap.napari.compat import (
    fill_points,
    set_symbols,
    symbols_for,
    unproxied,
    write_rows,
)
from napari_sleap.napari.layers.convert import META_KEY, layer_meta, lookup_names
from napari_sleap.napari.layers.store import RowStore, wanted_rows, window_arrays
from napari_sleap.napari.layers.styles import DEFAULT_STYLE, LayerStyle

if TYPE_CHECKING:
    from napari.components import Dims
    from napari.layers import Points

_WINDOWS: weakref.WeakKeyDictionary[Any, InstancesWindow] = weakref.WeakKeyDictionary()


class InstancesWindow:
    """Fills an instances Points layer with the rows of the current frame.

    Args:
        points: The instances layer (its metadata carries the row store).
        dims: The viewer's dims (None: the first labeled frame stays shown).
        style: Layer looks.
    """

    def __init__(
        self,
        points: Points,
        dims: Dims | None = None,
        style: LayerStyle = DEFAULT_STYLE,
    ) -> None:
        self.layer = points
        self.dims = dims
        self.style = style
        #: Called with no argument after every refill (edges, panels).
        self.refilled: list[Callable[[], None]] = []
        #: When True (a labeling sync owns the layer) napari's raw point edits
        #: are left to it; otherwise the window mirrors them into the store.
        self.raw_edits_handled = False
        self._filling = False
        self._removing = np.zeros(0, np.int64)
        meta = self.meta
        if meta.get("store") is None:
            raise ValueError(
                f"layer {points.name!r} has no row store in "
                "metadata['napari_sleap']['store']: make it with "
                "napari_sleap.napari.layers.convert.labels_to_points"
            )
        self.rows = np.asarray(meta.get("window_rows", np.arange(len(points.data))))
        points.events.data.connect(self._on_data)
        self._connect_dims()
        if self.windowed:
            self._on_step()
        elif len(points.data) and "predicted" in points.features:
            pred = np.asarray(points.features["predicted"], dtype=bool)
            if pred.any():  # predictions as rings (layer tuples can't say so)
                set_symbols(points, symbols_for(pred))

    # -------------------------------------------------------------- state

    @property
    def meta(self) -> dict[str, Any]:
        """This plugin's metadata of the layer."""
        return self.layer.metadata[META_KEY]

    @property
    def store(self) -> RowStore:
        """Every row of the layer's instances (the truth the window shows)."""
        return self.meta["store"]

    @property
    def windowed(self) -> bool:
        """Whether the layer holds one frame (True) or every row (False)."""
        return bool(self.meta.get("windowed"))

    @property
    def filling(self) -> bool:
        """True while the window itself writes the layer (not a user edit)."""
        return self._filling

    def frame(self) -> int | None:
        """The frame on the slider (None: every frame is displayed, or no dims)."""
        dims = self.dims
        if dims is None:
            rows = self.rows[self.rows >= 0]
            return int(self.store.data[rows[0], 0]) if len(rows) else None
        if 0 in dims.displayed:
            return None
        return int(np.rint(dims.point[0]))

    def layer_rows(self, store_rows: np.ndarray) -> np.ndarray:
        """Layer row of each store row (-1 where the window doesn't hold it)."""
        store_rows = np.asarray(store_rows, dtype=np.int64)
        if not self.windowed:
            ok = store_rows < len(self.layer.data)
            return np.where(ok, store_rows, -1)
        real = np.nonzero(self.rows >= 0)[0]
        order = real[np.argsort(self.rows[real], kind="stable")]
        sorted_rows = self.rows[order]
        pos = np.searchsorted(sorted_rows, store_rows)
        pos = np.minimum(pos, max(len(sorted_rows) - 1, 0))
        hit = len(sorted_rows) > 0
        found = (sorted_rows[pos] == store_rows) if hit else np.zeros(0, bool)
        out = np.full(len(store_rows), -1, np.int64)
        if hit:
            out[found] = order[pos[found]]
        return out

    def store_rows(self, layer_rows: Any) -> np.ndarray:
        """Store row of each layer row (-1 for anchors)."""
        return self.rows[np.asarray(layer_rows, dtype=np.int64)]

    # ------------------------------------------------------------ filling

    def _on_step(self, event: Any = None) -> None:
        if not self.windowed or self._filling:
            return
        wanted = wanted_rows(self.store, self.frame(), True)
        if not np.array_equal(wanted, self.rows):
            self.refill(wanted)

    def refill(self, rows: np.ndarray | None = None, *, public: bool = False) -> None:
        """Put ``rows`` of the store (default: the wanted ones) into the layer.

        ``public``: through napari's setters (slower; safe inside napari's own
        data events, e.g. right after it added or removed points).
        """
        if rows is None:
            rows = wanted_rows(self.store, self.frame(), self.windowed)
        arrays = window_arrays(self.store, rows, self.style)
        layer = self.layer
        self._filling = True
        try:
            if layer.selected_data:
                layer.selected_data = set()
            fill_points(layer, arrays, public=public)
            self.rows = np.asarray(rows, dtype=np.int64)
            self.meta["window_rows"] = self.rows
        finally:
            self._filling = False
        for callback in self.refilled:
            callback()

    def update(self, store_rows: np.ndarray) -> bool:
        """Show edits of ``store_rows``; returns True if the layer was refilled.

        Rows already in the layer are rewritten in place; a change of which rows
        the frame holds (instances added or removed) refills the layer.
        """
        if self.windowed:
            wanted = wanted_rows(self.store, self.frame(), True)
            if not np.array_equal(wanted, self.rows):
                self.refill(wanted)
                return True
        elif len(self.store) != len(self.layer.data):
            self.refill()
            return True
        at = self.layer_rows(store_rows)
        hit = at >= 0
        if hit.any():
            self.write_rows(at[hit])
        return False

    def write_rows(self, layer_rows: np.ndarray) -> None:
        """Copy the store's values of the rows at ``layer_rows`` into the layer."""
        layer = self.layer
        rows = np.asarray(layer_rows, dtype=np.int64)
        arrays = window_arrays(self.store, self.rows[rows], self.style)
        self._filling = True
        try:
            write_rows(layer, rows, arrays)
        finally:
            self._filling = False

    # ------------------------------------------------ napari's own edits

    def _on_data(self, event: Any) -> None:
        if self._filling:
            return
        action = str(getattr(event, "action", "")).lower()
        rows = np.asarray(getattr(event, "data_indices", ()) or (), dtype=np.int64)
        if action.endswith("changed") and 0 < len(rows) < len(self.layer.data):
            real = self.rows[rows] >= 0
            self.store.data[self.rows[rows[real]]] = self.layer.data[rows[real]]
            return
        if self.raw_edits_handled:
            return
        if action.endswith("removing"):
            self._removing = rows[(rows >= 0) & (rows < len(self.rows))]
        elif action.endswith("removed"):
            self._mirror_removed()
        elif action.endswith("added"):
            self._mirror_added()

    def _mirror_removed(self) -> None:
        """Points deleted in napari: their store rows stop naming an instance."""
        gone, self._removing = np.unique(self._removing), np.zeros(0, np.int64)
        store_rows = self.rows[gone]
        store_rows = store_rows[store_rows >= 0]
        if self.windowed:
            self.store.free_rows(store_rows)
        else:
            self.store.delete_rows(store_rows)
        self.rows = np.delete(self.rows, gone)
        if not self.windowed:
            self.rows = np.arange(len(self.store), dtype=np.int64)
        self.meta["window_rows"] = self.rows

    def _mirror_added(self) -> None:
        """Points added in napari: new store rows (the writer makes instances)."""
        layer, store = self.layer, self.store
        new = np.arange(len(self.rows), len(layer.data))
        if not len(new):
            return
        feats = layer.features.iloc[new]
        names = store.labels.skeletons[0].node_names if store.labels.skeletons else []
        first = store.append_rows(
            np.asarray(layer.data)[new],
            instance=np.asarray(feats["instance"], dtype=np.int64),
            node=lookup_names(np.asarray(feats["node"]), names),
            visible=np.ones(len(new), bool),
        )
        self.rows = np.concatenate([self.rows, first + np.arange(len(new))])
        self.meta["window_rows"] = self.rows

    def _connect_dims(self) -> None:
        if self.dims is not None:
            self.dims.events.current_step.connect(self._on_step)
            self.dims.events.order.connect(self._on_step)
            self.dims.events.ndisplay.connect(self._on_step)

    def _disconnect_dims(self) -> None:
        if self.dims is not None:
            self.dims.events.current_step.disconnect(self._on_step)
            self.dims.events.order.disconnect(self._on_step)
            self.dims.events.ndisplay.disconnect(self._on_step)

    def follow_dims(self, dims: Dims) -> None:
        """Follow another frame slider (the layer moved to another viewer)."""
        self._disconnect_dims()
        self.dims = dims
        self._connect_dims()
        self._on_step()

    def disconnect(self) -> None:
        """Stop following the layer and the slider."""
        self.layer.events.data.disconnect(self._on_data)
        self._disconnect_dims()


def window_for(points: Points) -> InstancesWindow | None:
    """The window of an instances layer (None before it lands in a viewer)."""
    return _WINDOWS.get(unproxied(points))


def attach_window(points: Points, dims: Dims | None = None) -> InstancesWindow:
    """The layer's one window, made on first use.

    Later calls return the same object (the labeling sync, the edge link and the
    Tracks follower all hold it); a call with other dims moves it onto them
    rather than making a second window that the others would not see.
    """
    points, dims = unproxied(points), unproxied(dims)
    window = _WINDOWS.get(points)
    if window is not None:
        if dims is not None and window.dims is not dims:
            window.follow_dims(dims)
        return window
    if layer_meta(points).get("store") is None:
        _add_store(points)
    window = InstancesWindow(points, dims)
    _WINDOWS[points] = window
    return window


def detach_window(points: Points) -> None:
    """Forget the window of a layer that left the viewer."""
    window = _WINDOWS.pop(unproxied(points), None)
    if window is not None:
        window.disconnect()


def _add_store(points: Points) -> None:
    """Give a layer made before row stores existed one (from its Labels)."""
    from napari_sleap.napari.layers.store import build_store

    meta = points.metadata[META_KEY]
    store = build_store(meta["labels"], meta["video_index"])
    meta.update(store=store, windowed=False, window_rows=np.arange(len(store)))
    meta["table"] = store.table
