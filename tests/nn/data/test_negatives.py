"""Other instances' nodes as loss-weight negatives in centered-instance targets."""

from __future__ import annotations

import numpy as np

from napari_sleap.config.negatives import OtherInstanceNegativesConfig
from napari_sleap.nn.data.crops import apply_points, crop_matrices
from napari_sleap.nn.data.examples import ExampleMaker
from napari_sleap.nn.data.negatives import negative_weights
from tests.nn.data.test_examples import centered_info

SIGMA = 5.0
WEIGHT = 4.0


def _closest_pair_sample(samples):
    """The sample whose two flies come closest (the contact case)."""

    def gap(s):
        a, b = s.points[0], s.points[1]
        d = np.linalg.norm(a[:, None] - b[None], axis=-1)
        return np.nanmin(d)

    return min((s for s in samples if len(s.points) == 2), key=gap)


def test_weight_channel_sits_on_the_other_flys_nodes_in_a_real_crop(
    few_samples, clip_frames
):
    info = centered_info(sigma=SIGMA)
    neg = OtherInstanceNegativesConfig(enabled=True, weight=WEIGHT)
    plain = ExampleMaker(info, (1024, 1024))
    maker = ExampleMaker(info, (1024, 1024), negatives=neg)
    assert maker.output_shapes()["confmaps"] == (96, 96, 14)
    sample = _closest_pair_sample(few_samples)
    frame = clip_frames[sample.key]
    image, targets = maker.make(sample, 0, frame)
    _, plain_targets = plain.make(sample, 0, frame)
    conf = targets["confmaps"]
    assert conf.shape == (96, 96, 14)
    # The node channels are the plain targets; the weight is the extra one.
    np.testing.assert_array_equal(conf[..., :13], plain_targets["confmaps"])
    w = conf[..., 13]
    assert w.min() == 1.0 and w.max() <= 1.0 + WEIGHT

    m_pts, _ = crop_matrices(sample.points[0, 1], 192, 1.0)  # anchor: thorax
    own = apply_points(m_pts, sample.points[0])
    other = apply_points(m_pts, sample.points[1])
    inside = [p for p in other if np.isfinite(p).all() and (p >= 0).all()]
    inside = [p for p in inside if (p < 190).all()]
    assert len(inside) >= 5, "the chosen frame has the other fly in the crop"
    for x, y in inside:  # nearest grid point (stride 2) is high
        assert w[int(round(y / 2)), int(round(x / 2))] > 1.0 + 0.9 * WEIGHT
    far = [
        p
        for p in own
        if np.isfinite(p).all()
        and np.nanmin(np.linalg.norm(other - p, axis=1)) > 3 * SIGMA + 2
    ]
    assert far, "some of the centred fly's nodes are away from the other fly"
    for x, y in far:  # the centred fly's own nodes carry no extra weight
        assert w[int(round(y / 2)), int(round(x / 2))] < 1.0 + 0.02 * WEIGHT

    # The crop of the other fly marks the first fly's nodes instead.
    _, swapped = maker.make(sample, 1, frame)
    m_pts1, _ = crop_matrices(sample.points[1, 1], 192, 1.0)
    x, y = apply_points(m_pts1, sample.points[0, 1:2])[0]  # first fly's thorax
    assert swapped["confmaps"][int(round(y / 2)), int(round(x / 2)), 13] > 4.5


def test_weights_skip_missing_nodes_and_far_points():
    nan = np.full((1, 3, 2), np.nan, np.float32)
    assert (negative_weights(nan, 32, 32, 2, 2.0, 3.0) == 1.0).all()
    far = np.array([[[500.0, 500.0], [np.nan, np.nan]]], np.float32)
    assert (negative_weights(far, 32, 32, 2, 2.0, 3.0) == 1.0).all()
    one = np.array([[[10.0, 20.0]]], np.float32)
    w = negative_weights(one, 32, 32, 2, 2.0, 3.0)
    assert w.shape == (16, 16, 1)
    assert w[10, 5, 0] == np.float32(4.0)  # grid (row 10, col 5) = (x 10, y 20)
    assert np.unravel_index(np.argmax(w), w.shape)[:2] == (10, 5)


def test_augmented_examples_keep_node_channels_and_weights_consistent(
    few_samples, clip_frames
):
    from napari_sleap.config.augment import AugmentConfig

    info = centered_info(sigma=SIGMA)
    neg = OtherInstanceNegativesConfig(enabled=True, weight=WEIGHT)
    maker = ExampleMaker(info, (1024, 1024), AugmentConfig(), None, neg)
    sample = _closest_pair_sample(few_samples)
    rng = np.random.default_rng(3)
    for _ in range(4):
        _, t = maker.make(sample, 0, clip_frames[sample.key], rng)
        conf = t["confmaps"]
        assert conf.shape == (96, 96, 14)
        assert 1.0 + 0.9 * WEIGHT < conf[..., 13].max() <= 1.0 + WEIGHT
