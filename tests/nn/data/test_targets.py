from __future__ import annotations

import numpy as np

from napari_sleap.nn.data.class_maps import make_class_maps, make_class_vector
from napari_sleap.nn.data.confmaps import instance_centers, make_confmaps, make_offsets
from napari_sleap.nn.data.pafs import make_pafs


def test_confmap_peak_sits_on_the_grid_cell_of_the_point():
    pts = np.array([[[40.0, 24.0], [13.0, 50.0]]])  # (1 instance, 2 nodes)
    cm = make_confmaps(pts, height=64, width=64, stride=2, sigma=2.0)
    assert cm.shape == (32, 32, 2)
    for c, (x, y) in enumerate(pts[0]):
        i, j = np.unravel_index(np.argmax(cm[:, :, c]), cm.shape[:2])
        # grid (i, j) is model-input (x=j*s, y=i*s)
        assert (j * 2, i * 2) == (round(x / 2) * 2, round(y / 2) * 2)
    assert np.isclose(cm[12, 20, 0], 1.0)
    # one stride away from the peak: Gaussian of distance 2 with sigma 2
    assert np.isclose(cm[12, 21, 0], np.exp(-0.5), atol=1e-6)


def test_confmaps_take_the_max_over_instances_and_skip_missing_points():
    pts = np.array([[[8.0, 8.0]], [[40.0, 40.0]], [[np.nan, np.nan]]])
    cm = make_confmaps(pts, 48, 48, 4, 3.0)
    assert np.isclose(cm[2, 2, 0], 1.0) and np.isclose(cm[10, 10, 0], 1.0)
    empty = make_confmaps(np.full((1, 1, 2), np.nan), 48, 48, 4, 3.0)
    assert not empty.any()


def test_centers_use_anchor_or_box_centre_when_anchor_hidden():
    pts = np.array([[[0.0, 0.0], [10.0, 4.0]], [[np.nan, np.nan], [6.0, 2.0]]])
    assert np.allclose(instance_centers(pts, 0), [[0, 0], [6, 2]])
    assert np.allclose(instance_centers(pts, None), [[5, 2], [6, 2]])


def test_pafs_point_along_the_edge_and_fade_with_distance():
    # one horizontal edge from (8, 32) to (56, 32) and one vertical
    pts = np.array([[[8.0, 32.0], [56.0, 32.0], [8.0, 60.0]]])
    pafs = make_pafs(pts, [(0, 1), (0, 2)], 64, 64, stride=1, sigma=3.0)
    assert pafs.shape == (64, 64, 4)
    # on the first edge: (1, 0); on the second (pointing down): (0, 1)
    assert np.allclose(pafs[32, 30, 0:2], [1.0, 0.0], atol=1e-6)
    assert np.allclose(pafs[45, 8, 2:4], [0.0, 1.0], atol=1e-6)
    # width: at distance sigma the magnitude is exp(-1/2); far away it is ~0
    assert np.isclose(pafs[35, 30, 0], np.exp(-0.5), atol=1e-5)
    assert abs(pafs[50, 30, 0]) < 1e-6
    # past the segment's end it fades too
    assert pafs[32, 62, 0] < 0.15


def test_pafs_skip_edges_with_a_missing_node():
    pts = np.array([[[8.0, 8.0], [np.nan, np.nan]]])
    assert not make_pafs(pts, [(0, 1)], 32, 32, 2, 2.0).any()


def test_class_maps_mark_each_track_on_its_own_channel():
    pts = np.array([[[8.0, 8.0], [12.0, 8.0]], [[40.0, 40.0], [np.nan, np.nan]]])
    maps = make_class_maps(pts, np.array([1, 0]), 2, 48, 48, 4, 2.0)
    assert np.isclose(maps[2, 2, 1], 1.0) and np.isclose(maps[2, 3, 1], 1.0)
    assert np.isclose(maps[10, 10, 0], 1.0)
    assert maps[2, 2, 0] < 1e-6 and maps[10, 10, 1] < 1e-6
    assert make_class_vector(1, 3).tolist() == [0, 1, 0]
    assert not make_class_vector(-1, 3).any()


def test_offsets_point_from_grid_to_the_keypoint_near_peaks():
    pts = np.array([[[21.0, 10.5]]])
    off = make_offsets(pts, 32, 32, stride=4, sigma=3.0)
    assert off.shape == (8, 8, 2)
    assert np.allclose(off[3, 5], [1.0, -1.5])  # grid (x=20, y=12)
    assert not off[7, 0].any()
