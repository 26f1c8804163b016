"""Array-level writes of napari Points state, for layers refilled often.

napari's public setters re-validate every point (a Python call per row); these
helpers write already-valid arrays, falling back to the public path where
napari's internals differ.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def symbols_for(predicted: np.ndarray) -> np.ndarray:
    """Disc markers for user points, rings for predicted ones."""
    from napari.layers.points._points_constants import Symbol

    out = np.empty(len(predicted), dtype=object)
    out[:] = Symbol.DISC
    out[np.asarray(predicted, bool)] = Symbol.RING
    return out


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
