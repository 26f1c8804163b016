"""Pure inference ops on synthetic maps with known answers (no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap.infer.ops import peaks as P
from napari_sleap.infer.ops.crops import bbox_centers, crop_boxes, crop_offsets
from napari_sleap.infer.ops.identity import assign_classes, group_by_class_maps
from napari_sleap.infer.ops.paf import PafParams, group_instances


def gaussian(h, w, x, y, sigma=1.5):
    yy, xx = np.mgrid[0:h, 0:w]
    return np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))


def test_global_peaks_and_subpixel_refinement():
    cms = np.stack(
        [gaussian(40, 50, 12.3, 20.7), gaussian(40, 50, 30.6, 5.2)], axis=-1
    )[None]
    pts, vals = P.global_peaks(cms, threshold=0.2)
    assert pts.shape == (1, 2, 2)
    np.testing.assert_array_equal(pts[0], [[12, 21], [31, 5]])
    assert np.all(vals > 0.8)
    for method, tol in (("integral", 0.2), ("quadratic", 1e-6), ("local", 0.3)):
        ref = P.refine_global(cms, pts, method=method)
        np.testing.assert_allclose(ref[0], [[12.3, 20.7], [30.6, 5.2]], atol=tol)


def test_global_peaks_below_threshold_are_nan():
    cms = 0.1 * gaussian(20, 20, 5, 5)[None, ..., None]
    pts, vals = P.global_peaks(cms, threshold=0.2)
    assert np.isnan(pts).all() and vals[0, 0] == pytest.approx(0.1)
    assert np.isnan(P.refine_global(cms, pts)).all()


def test_local_peaks_nms_threshold_and_offsets():
    cm = (
        gaussian(60, 60, 10, 10)
        + gaussian(60, 60, 40, 30)
        + 0.1 * gaussian(60, 60, 50, 50)
    )
    cms = cm[None, ..., None]
    pts, vals, s, ch = P.local_peaks(cms, threshold=0.2)
    assert sorted(map(tuple, pts.astype(int).tolist())) == [(10, 10), (40, 30)]
    assert set(s) == {0} and set(ch) == {0}
    off = np.zeros((1, 60, 60, 2))
    off[0, 10, 10] = [0.25, -0.5]
    ref = P.offsets_at(off, pts, s, ch)
    i = int(np.nonzero(pts[:, 0] == 10)[0][0])
    np.testing.assert_allclose(ref[i], [10.25, 9.5])


def test_peak_at_border_integral_uses_zero_padding():
    cms = gaussian(20, 20, 0, 0)[None, ..., None]
    pts, _ = P.global_peaks(cms)
    ref = P.refine_global(cms, pts)
    assert np.all(np.isfinite(ref)) and np.all(ref > -0.5)


def test_grid_to_image_scaling():
    pts = np.array([[10.0, 4.0]])
    np.testing.assert_allclose(P.grid_to_image(pts, 4, 0.5), [[80.0, 32.0]])


def test_crop_geometry_matches_pixel_slicing():
    c = np.array([[20.0, 30.0]])
    off = crop_offsets(c, 8)
    np.testing.assert_allclose(off, [[16.5, 26.5]])
    np.testing.assert_allclose(crop_offsets([[20.4, 30.6]], 8, "pixel"), [[16, 27]])
    with pytest.raises(ValueError, match="convention"):
        crop_offsets(c, 8, "bogus")
    box = crop_boxes(crop_offsets(np.array([[20.5, 30.5]]), 8), 8, 100, 200)
    # top-left pixel (17, 27) -> normalised by (H-1, W-1)
    np.testing.assert_allclose(box[0], [27 / 99, 17 / 199, 34 / 99, 24 / 199])
    pts = np.array([[[1.0, 2.0], [5.0, np.nan], [3.0, 8.0]]])
    np.testing.assert_allclose(bbox_centers(pts), [[3.0, 5.0]])


def test_identity_assignment_is_globally_optimal():
    probs = np.array([[0.9, 0.8], [0.85, 0.1]])  # greedy gives 0.9 + 0.1
    inds, scores = assign_classes(probs)
    np.testing.assert_array_equal(inds, [1, 0])
    np.testing.assert_allclose(scores, [0.8, 0.85])
    inds, _ = assign_classes(np.array([[0.5], [0.7]]))
    np.testing.assert_array_equal(inds, [-1, 0])


def test_group_by_class_maps():
    maps = np.zeros((20, 20, 2))
    maps[:10, :, 0] = 1.0  # top half is class 0
    maps[10:, :, 1] = 1.0
    peaks = [np.array([[4.0, 30.0], [4.0, 6.0]]), np.array([[10.0, 32.0]])]
    vals = [np.array([0.9, 0.8]), np.array([0.7])]
    pts, pv, isc, _ = group_by_class_maps(peaks, vals, maps, stride=2)
    np.testing.assert_allclose(pts[0], [[4, 6], [np.nan, np.nan]])
    np.testing.assert_allclose(pts[1], [[4, 30], [10, 32]])
    np.testing.assert_allclose(pv[1], [0.9, 0.7])


def paf_field(h, w, segments, stride, width=2.0):
    """PAF for one edge: unit vectors near each (src, dst) segment."""
    yy, xx = np.mgrid[0:h, 0:w] * stride
    field = np.zeros((h, w, 2))
    for a, b in segments:
        a, b = np.asarray(a, float), np.asarray(b, float)
        d = b - a
        u = d / np.linalg.norm(d)
        rel = np.stack([xx - a[0], yy - a[1]], -1)
        along = rel @ u
        across = np.abs(rel @ np.array([-u[1], u[0]]))
        near = (along >= 0) & (along <= np.linalg.norm(d)) & (across <= width * stride)
        field[near] = u
    return field


def test_paf_grouping_two_crossing_animals():
    # Three-node chains for two animals; the head->thorax edges are close
    # together so a nearest-neighbour rule would mix them up.
    a = np.array([[20.0, 20.0], [40.0, 24.0], [60.0, 20.0]])
    b = np.array([[24.0, 40.0], [44.0, 36.0], [64.0, 44.0]])
    edges = [(0, 1), (1, 2)]
    stride = 2
    pafs = np.concatenate(
        [
            paf_field(50, 50, [(a[0], a[1]), (b[0], b[1])], stride),
            paf_field(50, 50, [(a[1], a[2]), (b[1], b[2])], stride),
        ],
        axis=-1,
    )
    peaks = [np.stack([b[k], a[k]]) for k in range(3)]
    vals = [np.array([0.9, 0.8])] * 3
    pts, pv, isc = group_instances(peaks, vals, pafs, stride, edges, (100, 100))
    assert pts.shape == (2, 3, 2)
    got = sorted(map(lambda p: p.round().tolist(), pts))
    assert got == sorted([a.tolist(), b.tolist()])
    assert np.all(isc > 0)
    one = group_instances(
        peaks, vals, pafs, stride, edges, (100, 100), PafParams(max_instances=1)
    )
    assert one[0].shape[0] == 1
    drop = group_instances(
        [peaks[0], peaks[1], np.zeros((0, 2))],
        [vals[0], vals[1], np.zeros(0)],
        pafs,
        stride,
        edges,
        (100, 100),
        PafParams(min_instance_peaks=3),
    )
    assert drop[0].shape[0] == 0


def test_bad_refinement_name():
    with pytest.raises(ValueError, match="allowed"):
        P.refine(np.zeros((1, 5, 5, 1)), np.zeros((1, 2)), [0], [0], "bogus")
