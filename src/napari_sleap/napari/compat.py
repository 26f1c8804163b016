"""The one place that touches napari's private API, each use with a public fallback.

A long recording's instances layer is refilled on every frame step. napari's
public setters re-validate each point in Python (~3 µs a point for symbols, and
a full recount of features and colors), so refills write already-valid arrays
straight into the layer's private fields (``_data``, ``_feature_table``,
``_face``, ``_border``, ``_shown``, ``_size``, ``_border_width``, ``_symbol``)
and the private ``Symbol`` enum. That fast path is taken only on napari versions
it was tested with (:data:`TESTED_NAPARI`, also the upper bound in
pyproject.toml) and falls back to the public setters wherever an attribute is
missing, so a newer napari is slower, never wrong.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from napari_sleap.napari.layers.store import WindowArrays

#: napari versions the fast paths were tested with: ``[low, high)``.
TESTED_NAPARI = ("0.5", "0.10")


@cache
def fast_path_allowed() -> bool:
    """Whether this napari is one the private fast paths were tested with."""
    import napari
    from packaging.version import Version

    low, high = (Version(v).release for v in TESTED_NAPARI)
    return low <= Version(napari.__version__).release < high


def symbols_for(predicted: np.ndarray) -> np.ndarray:
    """Disc markers for user points, rings for predicted ones.

    napari's ``Symbol`` members where its private constants module has them
    (what the layer stores internally), else the public names it accepts.
    """
    try:
        from napari.layers.points._points_constants import Symbol

        disc, ring = Symbol.DISC, Symbol.RING
    except ImportError:
        disc, ring = "disc", "ring"
    out = np.empty(len(predicted), dtype=object)
    out[:] = disc
    out[np.asarray(predicted, bool)] = ring
    return out


def set_symbols(layer: Any, symbols: np.ndarray, *, public: bool = False) -> str:
    """Set every point's marker, skipping napari's per-point re-check if allowed.

    Args:
        layer: A Points layer.
        symbols: One marker per point, as :func:`symbols_for` makes them.
        public: Use the public setter even where the fast path is allowed.

    Returns:
        ``"fast"`` or ``"public"``: the path taken.
    """
    fast = not public and fast_path_allowed() and hasattr(layer, "_symbol")
    if fast and len(symbols) == len(layer.data) and _is_symbol_array(symbols):
        layer._symbol = symbols
        layer.events.symbol()
        layer.refresh(extent=False, thumbnail=False)
        return "fast"
    layer.symbol = symbols
    return "public"


def _is_symbol_array(symbols: np.ndarray) -> bool:
    """Whether ``symbols`` holds napari ``Symbol`` members (what ``_symbol`` keeps)."""
    return len(symbols) == 0 or type(symbols[0]) is not str  # Symbol: a str enum


def fill_points(layer: Any, arrays: WindowArrays, *, public: bool = False) -> str:
    """Replace all points of a Points layer and their per-point state at once.

    Events are held while the fields are swapped, then the layer redraws once;
    ``layer.events.data`` is not emitted (callers refill from their own state).

    Args:
        layer: A Points layer.
        arrays: ``data`` ``(N, D)`` coordinates, ``features`` (one array of N
            values per column), ``face`` and ``border`` ``(N, 4)`` RGBA,
            ``shown`` ``(N,)`` and ``predicted`` ``(N,)`` (rings for predicted
            points, discs for the others).
        public: Use only napari's public setters.

    Returns:
        ``"fast"`` or ``"public"``: the path taken.
    """
    if not public and fast_path_allowed() and _fill_fast(layer, arrays):
        return "fast"
    _fill_public(layer, arrays)
    return "public"


def _fill_fast(layer: Any, arrays: WindowArrays) -> bool:
    """The private swap; False (layer untouched) where a field is missing."""
    fields = ("_data", "_feature_table", "_face", "_border", "_shown", "_symbol")
    if not all(hasattr(layer, f) for f in fields) or not hasattr(
        layer._feature_table, "_values"
    ):
        return False
    n = len(arrays.data)
    with (
        layer.events.blocker_all(),
        layer._face.events.blocker_all(),
        layer._border.events.blocker_all(),
    ):
        layer._data = np.asarray(arrays.data, dtype=np.float64)
        layer._feature_table._values = pd.DataFrame(arrays.features)
        layer._face.colors = np.asarray(arrays.face, dtype=np.float32)
        layer._border.colors = np.asarray(arrays.border, dtype=np.float32)
        layer._shown = np.asarray(arrays.shown, dtype=bool)
        layer._size = np.full(n, layer.current_size, dtype=float)
        layer._border_width = np.full(n, layer.current_border_width, dtype=float)
        layer._symbol = symbols_for(arrays.predicted)
        layer._update_dims()
    layer.refresh(thumbnail=False)  # a thumbnail of one frame says little
    return True


def _fill_public(layer: Any, arrays: WindowArrays) -> None:
    """The same through napari's public setters (validated, slower)."""
    with layer.events.data.blocker():
        layer.data = arrays.data
    layer.features = pd.DataFrame(arrays.features)
    if len(arrays.data):
        layer.face_color = arrays.face
        layer.border_color = arrays.border
        layer.shown = arrays.shown
        set_symbols(layer, symbols_for(arrays.predicted), public=True)


def unproxied(obj: Any) -> Any:
    """The napari object behind the proxy napari hands plugin docks (else ``obj``).

    napari gives each dock widget its own ``PublicOnlyProxy`` of the viewer, and
    everything read through it (``dims``, ``layers``, each layer) comes back
    proxied again: a new wrapper object each time. Registries keyed by identity
    (one undo history per viewer, one row window per layer) then split in two
    when a dock and the reader each reach the same viewer, so the docks keep the
    real object. ``__wrapped__`` is the public attribute of the wrapt proxy
    napari uses; only napari's own proxies are unwrapped.
    """
    wrapped = getattr(type(obj), "__module__", "") or ""
    if wrapped.startswith("napari.") and hasattr(obj, "__wrapped__"):
        return unproxied(obj.__wrapped__)
    return obj


def write_rows(
    layer: Any, rows: np.ndarray, arrays: WindowArrays, *, public: bool = False
) -> str:
    """Overwrite some points of a Points layer (same count) and their state.

    The fast path writes into the arrays napari's properties return, which on
    the tested versions are the layer's own (checked first, per array); the
    fallback copies each array, changes the rows and sets it back through the
    public setters. Features not in the layer are ignored; ``layer.events.data``
    is not emitted either way.

    Returns:
        ``"fast"`` or ``"public"``: the path taken.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if not public and fast_path_allowed() and _owns_its_arrays(layer):
        layer.data[rows] = arrays.data
        _write_features(layer.features, rows, arrays.features)
        layer.face_color[rows] = arrays.face
        layer.border_color[rows] = arrays.border
        layer.shown[rows] = arrays.shown
        layer.symbol[rows] = symbols_for(arrays.predicted)
        layer.refresh(extent=False, thumbnail=False)
        return "fast"
    new_data = np.array(layer.data, dtype=np.float64)
    new_data[rows] = arrays.data
    table = _write_features(layer.features.copy(), rows, arrays.features)
    new_face, new_border = np.array(layer.face_color), np.array(layer.border_color)
    new_face[rows], new_border[rows] = arrays.face, arrays.border
    new_shown = np.array(layer.shown, dtype=bool)
    new_shown[rows] = arrays.shown
    symbols = np.array(layer.symbol, dtype=object)
    symbols[rows] = symbols_for(arrays.predicted)
    with layer.events.data.blocker():
        layer.data = new_data
    layer.features = table
    layer.face_color = new_face
    layer.border_color = new_border
    layer.shown = new_shown
    set_symbols(layer, symbols, public=True)
    return "public"


def _write_features(
    table: pd.DataFrame, rows: np.ndarray, features: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Set ``rows`` of the table's columns named in ``features`` (others ignored)."""
    for col, values in features.items():
        if col in table.columns:
            table.iloc[rows, table.columns.get_loc(col)] = values
    return table


def _owns_its_arrays(layer: Any) -> bool:
    """Whether the public properties hand out the layer's own arrays (no copies)."""
    try:
        return (
            layer.data is layer._data
            and layer.shown is layer._shown
            and layer.symbol is layer._symbol
            and layer.face_color is layer._face.colors
            and layer.border_color is layer._border.colors
            and layer.features is layer._feature_table.values
        )
    except AttributeError:
        return False


def canvas_widget(viewer: Any) -> Any:
    """The Qt widget of the viewer's canvas (napari has no public accessor).

    Used to place popups (the instance menu) at the clicked canvas pixel.
    """
    return viewer.window._qt_viewer.canvas.native
