"""Array-level edits of napari Points and edge-link state, for long recordings.

napari's public setters re-validate every point (a Python call per row: seconds
on millions of rows). These helpers write already-valid arrays directly, falling
back to the public path where napari's internals differ.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def symbols_for(predicted: np.ndarray) -> np.ndarray:
    """Disc markers for user points, rings for predicted ones."""
    from napari.layers.points._points_constants import Symbol

    out = np.empty(len(predicted), dtype=object)
    out[:] = Symbol.DISC
    out[np.asarray(predicted, bool)] = Symbol.RING
    return out


def append_spare_rows(layer: Any, extra: int) -> None:
    """Append ``extra`` hidden rows that belong to no instance, in one resize.

    Mirrors napari's own resize minus its per-point symbol re-validation.
    """
    old = len(layer.data)
    spare = np.zeros((extra, layer.data.shape[1]))
    if old:
        spare[:, 0] = layer.data[0, 0]
    feats = layer.features
    spare_feats = pd.DataFrame(
        {c: spare_column(c, feats[c].dtype, extra) for c in feats.columns}
    )
    try:
        with layer.events.blocker_all():
            layer._data = np.concatenate([layer._data, spare])
            table = layer._feature_table
            table._values = pd.concat([table._values, spare_feats], ignore_index=True)
            zeros = np.zeros((extra, 4), dtype=np.float32)
            layer._face.colors = np.concatenate([layer._face.colors, zeros])
            layer._border.colors = np.concatenate([layer._border.colors, zeros])
            layer._shown = np.concatenate([layer._shown, np.zeros(extra, bool)])
            layer._size = np.concatenate(
                [layer._size, np.full(extra, layer.current_size)]
            )
            layer._border_width = np.concatenate(
                [layer._border_width, np.full(extra, layer.current_border_width)]
            )
            layer._symbol = np.concatenate(
                [layer._symbol, symbols_for(np.zeros(extra, bool))]
            )
            layer._update_dims()
    except AttributeError:  # another napari: take the public (slower) path
        data = np.concatenate([np.asarray(layer.data), spare])
        with layer.events.data.blocker():
            layer.data = data
        layer.features = pd.concat([feats, spare_feats], ignore_index=True)
        layer.shown[old:] = False


def patch_link_index(
    link: Any, keep: np.ndarray, src: np.ndarray, dst: np.ndarray, data: np.ndarray
) -> None:
    """Update a skeleton link's sorted edge indexes without sorting every edge.

    The link keeps its edge ends sorted by row and its edges sorted by frame;
    dropping edges keeps both orders, and the few new edges are inserted at
    their places (one ``searchsorted`` each), instead of two full argsorts.
    Call before replacing ``link.src``/``link.dst``.
    """
    m = len(link.src)
    kept = int(keep.sum())
    total = kept + len(src)
    remap = np.cumsum(keep) - 1
    # edge ends: positions in concat([src, dst]) (dst of edge e sits at m + e)
    order, rows = link._order, link._sorted_rows
    is_dst = order >= m
    edge = np.where(is_dst, order - m, order)
    alive = keep[edge] if m else np.zeros(0, bool)
    order = remap[edge[alive]] + np.where(is_dst[alive], total, 0)
    rows = rows[alive]
    new_pos = kept + np.arange(len(src))
    new_order = np.concatenate([new_pos, new_pos + total])
    new_rows = np.concatenate([src, dst])
    o = np.argsort(new_rows, kind="stable")
    at = np.searchsorted(rows, new_rows[o], side="right")
    link._order = np.insert(order, at, new_order[o])
    link._sorted_rows = np.insert(rows, at, new_rows[o])
    # edges by frame
    by_frame, frames = link._by_frame, link._sorted_frames
    alive = keep[by_frame] if m else np.zeros(0, bool)
    by_frame, frames = remap[by_frame[alive]], frames[alive]
    new_frames = np.rint(data[src, 0]).astype(np.int64) if len(src) else src
    o = np.argsort(new_frames, kind="stable")
    at = np.searchsorted(frames, new_frames[o], side="right")
    link._by_frame = np.insert(by_frame, at, new_pos[o])
    link._sorted_frames = np.insert(frames, at, new_frames[o])


def set_symbols(layer: Any, symbols: np.ndarray) -> None:
    """Set every point's marker from Symbol values, skipping napari's re-check.

    napari validates each element through Python (~3 µs a point: seconds on a
    long recording); ``symbols`` already holds valid Symbol members.
    """
    if hasattr(layer, "_symbol") and len(symbols) == len(layer.data):
        layer._symbol = symbols
        layer.events.symbol()
        layer.refresh(extent=False, thumbnail=False)
    else:
        layer.symbol = symbols


def spare_column(name: str, dtype: Any, n: int) -> np.ndarray:
    """Feature values of spare rows: no instance, not visible, not predicted."""
    if name == "instance":
        return np.full(n, -1, dtype=np.int64)
    if name in ("visible", "predicted"):
        return np.zeros(n, dtype=bool)
    if name in ("frame",):
        return np.zeros(n, dtype=np.int64)
    if pd.api.types.is_float_dtype(dtype):
        return np.full(n, np.nan)
    return np.full(n, "", dtype=object)
