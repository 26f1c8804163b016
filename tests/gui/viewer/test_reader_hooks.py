"""The reader's two halves: layer data without a viewer, and the linking hook."""

from __future__ import annotations

import napari
import numpy as np

from napari_sleap.napari._reader import get_reader, read_slp, slp_layers
from napari_sleap.napari.layers.convert import META_KEY


def test_slp_layers_is_data_only(sample_small) -> None:
    assert napari.current_viewer() is None
    layers = slp_layers(str(sample_small.gt))
    assert napari.current_viewer() is None  # no viewer made or touched
    kinds = [kind for _, _, kind in layers]
    assert kinds == ["image", "tracks", "vectors", "points"]
    data, kwargs, _ = layers[-1]
    meta = kwargs["metadata"][META_KEY]
    assert meta["role"] == "instances" and meta["source"] == str(sample_small.gt)
    assert len(data) == sum(
        len(inst.numpy()) for lf in meta["labels"] for inst in lf.instances
    )
    # the reader hook returns the same layer data
    assert get_reader(str(sample_small.gt)) is read_slp
    again = read_slp(str(sample_small.gt))
    assert [k for _, _, k in again] == kinds
    np.testing.assert_array_equal(again[-1][0], data)


def test_read_slp_links_the_layers_in_the_viewer(make_napari_viewer, sample_small):
    viewer = make_napari_viewer()
    viewer.open(str(sample_small.gt), plugin="napari-sleap")
    points = next(lay for lay in viewer.layers if type(lay).__name__ == "Points")
    edges = next(lay for lay in viewer.layers if type(lay).__name__ == "Vectors")
    before = np.asarray(edges.data).copy()
    frame = np.rint(np.asarray(points.data)[:, 0]) == np.rint(viewer.dims.point[0])
    row = int(np.flatnonzero(np.asarray(points.shown) & frame)[0])
    moved = np.asarray(points.data).copy()
    moved[row, 1:] += 7.0
    points.data = moved  # the link redraws the edges from the moved rows
    assert not np.array_equal(np.asarray(edges.data), before)
