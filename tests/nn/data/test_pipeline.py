from __future__ import annotations

import numpy as np

from napari_sleap.config.augment import AugmentConfig
from napari_sleap.nn.data.examples import ExampleMaker
from napari_sleap.nn.model_info import HeadInfo, ModelInfo


def _maker():
    info = ModelInfo(
        role="centered_instance",
        node_names=[f"n{i}" for i in range(13)],
        heads={"confmaps": HeadInfo("confmaps", 13, 4, 2.5)},
        max_stride=16,
        crop_size=96,
        anchor_node="n1",
    )
    return ExampleMaker(info, (1024, 1024), AugmentConfig())


def test_threaded_example_stream_is_fixed_by_the_seed(few_samples, clip_frames):
    from napari_sleap.nn.data.pipeline import make_dataset

    def frame_of(s):
        return clip_frames[s.key]

    def first_batches(seed, threads):
        ds = make_dataset(
            _maker(), few_samples, frame_of, 4, seed=seed, threads=threads
        )
        return [(x.numpy(), y["confmaps"].numpy()) for x, y in ds.take(3)]

    a, b = first_batches(1, 2), first_batches(1, 2)
    c = first_batches(2, 2)
    assert a[0][0].shape == (4, 96, 96, 1) and a[0][1].shape == (4, 24, 24, 13)
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a[0][0], c[0][0])
    # every instance appears once per pass, also when split over threads
    one = make_dataset(_maker(), few_samples, frame_of, 1, threads=3, augment=False)
    n = sum(len(s.points) for s in few_samples)
    seen = [x.numpy() for x, _ in one.take(n)]
    means = sorted(float(x.mean()) for x in seen)
    assert len(set(np.round(means, 6))) == n


def test_more_threads_than_examples_still_streams(few_samples, clip_frames):
    from napari_sleap.nn.data.pipeline import example_stream

    maker = _maker()
    one = few_samples[:1]  # two instances
    for shard in range(3):
        stream = example_stream(
            maker,
            one,
            lambda s: clip_frames[s.key],
            seed=0,
            augment=False,
            shuffle=True,
            repeat=True,
            shard=shard,
            n_shards=3,
        )
        got = [x for _, x in zip(range(3), stream, strict=False)]
        assert len(got) == (3 if shard < 2 else 0)
