"""napari/compat.py: the private fast paths and their public fallbacks agree."""

from __future__ import annotations

import napari
import numpy as np
import pandas as pd
import pytest
from napari.layers import Points

from napari_sleap.napari import compat
from napari_sleap.napari.layers.store import WindowArrays


def _arrays(n: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "data": rng.uniform(0, 100, (n, 3)),
        "features": {
            "instance": np.arange(n) // 3,
            "node": np.array([f"n{i % 3}" for i in range(n)], dtype=object),
            "visible": rng.random(n) > 0.2,
        },
        "face": rng.random((n, 4)).astype(np.float32),
        "border": rng.random((n, 4)).astype(np.float32),
        "shown": rng.random(n) > 0.3,
        "predicted": rng.random(n) > 0.5,
    }


def _state(layer: Points) -> dict:
    """What a user (or our code) reads back through the public API."""
    return {
        "data": np.asarray(layer.data),
        "features": layer.features.reset_index(drop=True),
        "face": np.asarray(layer.face_color),
        "border": np.asarray(layer.border_color),
        "shown": np.asarray(layer.shown),
        "symbol": [str(s) for s in layer.symbol],
        "size": np.asarray(layer.size),
    }


def _assert_same(a: dict, b: dict) -> None:
    for key in ("data", "face", "border", "shown", "size"):
        np.testing.assert_allclose(a[key], b[key], err_msg=key)
    pd.testing.assert_frame_equal(a["features"], b["features"], check_dtype=False)
    assert a["symbol"] == b["symbol"]


def _layer() -> Points:
    start = _arrays(4, seed=9)
    return Points(start["data"], features=pd.DataFrame(start["features"]), size=7)


def test_installed_napari_is_in_the_tested_range() -> None:
    # The upper bound in pyproject.toml and TESTED_NAPARI move together.
    assert compat.fast_path_allowed(), napari.__version__


@pytest.mark.parametrize("n", [0, 1, 30])
def test_fill_points_fast_path_equals_public_setters(n: int) -> None:
    arrays = _arrays(n)
    fast, public = _layer(), _layer()
    assert compat.fill_points(fast, WindowArrays(**arrays)) == "fast"
    assert compat.fill_points(public, WindowArrays(**arrays), public=True) == "public"
    _assert_same(_state(fast), _state(public))
    assert len(fast.data) == n
    if n:
        rings = [str(s) for s in fast.symbol] == [
            "ring" if p else "disc" for p in arrays["predicted"]
        ]
        assert rings
    # the fast layer still works through the public API afterwards
    fast.add([[0.0, 1.0, 2.0]])
    assert len(fast.data) == n + 1 and len(fast.features) == n + 1


def test_fast_fill_declines_where_a_private_field_is_missing() -> None:
    """A napari that keeps its state elsewhere: the fast path refuses, untouched."""
    arrays = _arrays(12)
    layer = _layer()
    before = _state(layer)
    table = layer._feature_table
    layer._feature_table = object()  # a feature table without ``_values``
    assert not compat._fill_fast(layer, WindowArrays(**arrays))
    layer._feature_table = table
    _assert_same(_state(layer), before)
    assert not compat._fill_fast(object(), WindowArrays(**arrays))


def test_untested_napari_takes_the_public_path(monkeypatch) -> None:
    arrays = _arrays(9)
    monkeypatch.setattr(napari, "__version__", "0.10.0")
    compat.fast_path_allowed.cache_clear()
    try:
        assert not compat.fast_path_allowed()
        layer = _layer()
        assert compat.fill_points(layer, WindowArrays(**arrays)) == "public"
        assert compat.set_symbols(layer, compat.symbols_for(arrays["predicted"])) == (
            "public"
        )
        reference = _layer()
        compat.fill_points(reference, WindowArrays(**arrays), public=True)
        _assert_same(_state(layer), _state(reference))
    finally:
        compat.fast_path_allowed.cache_clear()


def test_set_symbols_fast_and_public_agree() -> None:
    arrays = _arrays(15)
    fast, public = _layer(), _layer()
    for layer in (fast, public):
        compat.fill_points(
            layer, WindowArrays(**{**arrays, "predicted": np.zeros(15, bool)})
        )
    symbols = compat.symbols_for(arrays["predicted"])
    assert compat.set_symbols(fast, symbols) == "fast"
    assert compat.set_symbols(public, symbols, public=True) == "public"
    assert [str(s) for s in fast.symbol] == [str(s) for s in public.symbol]
    assert {str(s) for s in fast.symbol} == {"ring", "disc"}


def test_write_rows_fast_path_equals_public_setters() -> None:
    start, change = _arrays(20, seed=1), _arrays(5, seed=2)
    rows = np.array([0, 3, 4, 11, 19])
    change["features"].pop("visible")  # a partial feature update
    change["features"]["absent"] = np.zeros(5)  # not a layer column: ignored
    fast, public = _layer(), _layer()
    for layer in (fast, public):
        compat.fill_points(layer, WindowArrays(**start))
    assert compat.write_rows(fast, rows, WindowArrays(**change)) == "fast"
    assert (
        compat.write_rows(public, rows, WindowArrays(**change), public=True) == "public"
    )
    _assert_same(_state(fast), _state(public))
    np.testing.assert_allclose(np.asarray(fast.data)[rows], change["data"])
    untouched = np.setdiff1d(np.arange(20), rows)
    np.testing.assert_allclose(
        np.asarray(fast.data)[untouched], start["data"][untouched]
    )
    assert "absent" not in fast.features.columns
    symbols = [str(s) for s in np.asarray(fast.symbol)[rows]]
    assert symbols == ["ring" if p else "disc" for p in change["predicted"]]


def test_write_rows_falls_back_where_properties_hand_out_copies(monkeypatch) -> None:
    start, change = _arrays(8, seed=4), _arrays(2, seed=5)
    layer, reference = _layer(), _layer()
    for each in (layer, reference):
        compat.fill_points(each, WindowArrays(**start))
    # A napari whose ``shown`` returns a copy: writing into it would be lost.
    monkeypatch.setattr(
        Points, "shown", property(lambda self: self._shown.copy(), Points.shown.fset)
    )
    assert not compat._owns_its_arrays(layer)
    assert (
        compat.write_rows(layer, np.array([1, 6]), WindowArrays(**change)) == "public"
    )
    monkeypatch.undo()
    compat.write_rows(reference, np.array([1, 6]), WindowArrays(**change), public=True)
    _assert_same(_state(layer), _state(reference))
