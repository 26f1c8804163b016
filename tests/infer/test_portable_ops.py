"""The portable (keras.ops) device ops give the host/TF versions' numbers.

Runs on the TensorFlow backend in this process: each op is checked against the
numpy op of ``infer.ops`` or the TF call the current engine makes.
"""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap.infer.ops import paf as host_paf
from napari_sleap.infer.ops import peaks as host_peaks
from napari_sleap.nn.model_info import ModelInfo


def _blobs(rng, n, h, w, c, peaks=4, sigma=1.5):
    """Gaussian blobs (distinct heights) on small noise: realistic confidence maps."""
    yy, xx = np.mgrid[0:h, 0:w]
    out = rng.uniform(0, 0.05, (n, h, w, c))
    for i in range(n):
        for ch in range(c):
            for _ in range(peaks):
                y, x = rng.uniform(1, h - 2), rng.uniform(1, w - 2)
                amp = rng.uniform(0.3, 1.0)
                g = amp * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * sigma**2))
                out[i, :, :, ch] = np.maximum(out[i, :, :, ch], g)
    return out.astype(np.float32)


def test_local_peaks_and_refinement_match_host():
    from keras import ops

    from napari_sleap.infer.portable import peaks as P

    rng = np.random.default_rng(0)
    cms = _blobs(rng, 3, 24, 32, 2)
    k = 16
    idx, vals, valid, count = (
        ops.convert_to_numpy(a)
        for a in P.local_peaks(ops.convert_to_tensor(cms), 0.2, k)
    )
    pts, hv, s, ch = host_peaks.local_peaks(cms, 0.2)
    assert count.sum() == len(pts) and count.max() <= k
    for method in ("integral", "quadratic", "local", "none"):
        ref = host_peaks.refine(cms, pts, s, ch, method)
        got = ops.convert_to_numpy(
            P.refined_points(
                ops.convert_to_tensor(cms), ops.convert_to_tensor(idx), method
            )
        )
        for b in range(3):
            for c in range(2):
                sel = (s == b) & (ch == c)
                n = int(count[b, c])
                assert valid[b, c, :n].all() and not valid[b, c, n:].any()
                # same peaks in the same (row-major) order
                np.testing.assert_allclose(got[b, c, :n], ref[sel], atol=1e-5)
                np.testing.assert_allclose(vals[b, c, :n], hv[sel], atol=1e-7)


def test_local_peaks_cap_keeps_the_strongest():
    from keras import ops

    from napari_sleap.infer.portable import peaks as P

    cms = _blobs(np.random.default_rng(1), 1, 24, 24, 1, peaks=6)
    _, vals, valid, count = (
        ops.convert_to_numpy(a)
        for a in P.local_peaks(ops.convert_to_tensor(cms), 0.2, 2)
    )
    _, hv, _, _ = host_peaks.local_peaks(cms, 0.2)
    assert count[0, 0] == len(hv) > 2 and valid.all()
    assert sorted(vals[0, 0]) == pytest.approx(sorted(hv)[-2:])


def test_global_peaks_match_host():
    from keras import ops

    from napari_sleap.infer.portable import peaks as P

    cms = _blobs(np.random.default_rng(2), 4, 20, 20, 5, peaks=1)
    cms[1, ..., 2] = 0.05  # a node below threshold
    idx, vals, valid = P.global_peaks(ops.convert_to_tensor(cms), 0.2)
    got = ops.convert_to_numpy(
        P.refined_points(ops.convert_to_tensor(cms), idx, "integral")
    )
    ref_pts, ref_vals = host_peaks.global_peaks(cms, 0.2)
    ref = host_peaks.refine_global(cms, ref_pts)
    got = np.where(ops.convert_to_numpy(valid)[..., None], got[:, :, 0], np.nan)
    np.testing.assert_allclose(got, ref, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(vals), ref_vals, atol=1e-7)
    assert np.isnan(got[1, 2]).all()


@pytest.mark.parametrize("scale", [0.25, 0.5, 0.3])
def test_prepare_matches_the_tf_runner(scale):
    import tensorflow as tf

    from napari_sleap.infer.portable.prep import prepare, to_float

    rng = np.random.default_rng(3)
    frames = rng.integers(0, 255, (2, 100, 70, 3), dtype=np.uint8)
    info = ModelInfo(
        role="centroid", node_names=["a"], input_scale=scale, input_channels=1
    )
    got = prepare(to_float(tf.constant(frames)), info).numpy()
    x = tf.image.rgb_to_grayscale(tf.cast(frames, tf.float32) / 255.0)
    size = tf.maximum(
        tf.cast(tf.round(tf.constant([100.0, 70.0]) * scale), tf.int32), 1
    )
    ref = tf.image.resize(x, size, method="bilinear").numpy()
    assert got.shape[1] % 16 == 0 and got.shape[2] % 16 == 0
    np.testing.assert_allclose(got[:, : ref.shape[1], : ref.shape[2]], ref, atol=1e-5)
    assert not got[:, ref.shape[1] :].any() and not got[:, :, ref.shape[2] :].any()


def test_crops_match_crop_and_resize():
    """Whole-pixel crops are the frame's pixels; fractional ones sample bilinearly.

    Inside the frame both match ``tf.image.crop_and_resize`` (the current
    engine); across the border the gathered crop is the zero-padded frame
    (crop_and_resize may zero the frame's edge pixel there by round-off).
    """
    import tensorflow as tf

    from napari_sleap.infer.engine import extract_crops
    from napari_sleap.infer.portable.crops import gather_crops

    rng = np.random.default_rng(4)
    frames = rng.integers(0, 255, (2, 60, 50, 1), dtype=np.uint8)
    x = tf.constant(frames, tf.float32) / 255.0
    inside = np.array([[[10.0, 5.0], [3.0, 40.0]], [[30.25, 3.5], [20.6, 12.1]]])
    for bilinear in (False, True):
        o = inside if bilinear else np.floor(inside)
        got = gather_crops(x, tf.constant(o, tf.float32), 16, bilinear).numpy()
        ref = extract_crops(frames, o.reshape(-1, 2), np.array([0, 0, 1, 1]), 16)
        np.testing.assert_allclose(got, ref.numpy(), atol=2e-4)
    border = np.array([[[-7.0, 50.0], [45.0, -3.0]], [[0.0, 0.0], [40.0, 55.0]]])
    got = gather_crops(x, tf.constant(border, tf.float32), 16, False).numpy()
    padded = np.pad(frames / 255.0, ((0, 0), (16, 16), (16, 16), (0, 0)))
    for i, (b, (ox, oy)) in enumerate(
        zip([0, 0, 1, 1], border.reshape(-1, 2).astype(int), strict=True)
    ):
        ref = padded[b, oy + 16 : oy + 32, ox + 16 : ox + 32]
        np.testing.assert_allclose(got[i], ref, atol=1e-6)


def test_paf_scores_match_host_edge_scores():
    from keras import ops

    from napari_sleap.infer.ops.paf import PafParams
    from napari_sleap.infer.portable.graphs import paf_scores

    rng = np.random.default_rng(5)
    pafs = rng.normal(0, 0.5, (1, 20, 24, 4)).astype(np.float32)
    pafs[..., 0] += 0.8  # a field pointing +x along edge 0
    pts = rng.uniform(0, 90, (1, 3, 4, 2)).astype(np.float32)  # (B, nodes, k, 2)
    valid = np.ones((1, 3, 4), bool)
    valid[0, 2, 3] = False
    params = PafParams()
    edges = [(0, 1), (1, 2)]
    s, v = (
        ops.convert_to_numpy(a)
        for a in paf_scores(
            ops.convert_to_tensor(pts),
            ops.convert_to_tensor(valid),
            ops.convert_to_tensor(pafs),
            edges,
            4.0,
            30.0,
            params,
        )
    )
    for e, (a, b) in enumerate(edges):
        hs, hv = host_paf.edge_scores(
            pts[0, a].astype(float),
            pts[0, b].astype(float),
            pafs[0, ..., 2 * e : 2 * e + 2],
            4.0,
            30.0,
            params,
        )
        np.testing.assert_allclose(s[0, e], hs, atol=1e-5)
        hv = hv & valid[0, a][:, None] & valid[0, b][None, :]
        np.testing.assert_array_equal(v[0, e], hv)
    assert v.any()
