"""Training examples as ``tf.data`` datasets feeding ``keras.Model.fit``.

Examples are made in numpy (:mod:`napari_sleap.nn.data.examples`) inside a
generator; ``tf.data`` batches them and prefetches while the model trains.
Each pass over the data draws its order and augmentation from
``default_rng([seed, epoch])``, so a seed fixes the whole stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import tensorflow as tf

from napari_sleap.nn.data.examples import ExampleMaker, FrameSample
from napari_sleap.nn.heads import output_kind

FrameFn = Callable[[FrameSample], np.ndarray]


def example_stream(
    maker: ExampleMaker,
    samples: list[FrameSample],
    frame_of: FrameFn,
    *,
    seed: int,
    augment: bool,
    shuffle: bool,
    repeat: bool,
    start_epoch: int = 0,
    shard: int = 0,
    n_shards: int = 1,
    weights: np.ndarray | None = None,
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Yield ``(image, targets)`` examples, epoch after epoch when ``repeat``.

    With ``n_shards`` > 1 this stream makes every ``n_shards``-th example of
    each pass, starting at ``shard``, with its own random stream. ``weights``
    (one draw probability per ``maker.items(samples)`` entry) makes each
    shuffled pass a draw with replacement instead of a permutation
    (pose-balanced sampling).
    """
    items = maker.items(samples)
    if not items:
        raise ValueError("no examples to train on (no instance with a visible anchor)")
    if weights is not None and len(weights) != len(items):
        raise ValueError(f"{len(weights)} sampling weights for {len(items)} examples")
    if shard >= len(items):  # nothing for this shard, ever: end, don't spin
        return
    epoch = start_epoch
    while True:
        draw = np.random.default_rng([seed, epoch])
        if weights is None:
            order = draw.permutation(len(items))
        else:
            order = draw.choice(len(items), size=len(items), p=weights)
        if not shuffle:
            order = np.arange(len(items))
        rng = np.random.default_rng([seed, epoch, shard])
        for k in order[shard::n_shards]:
            i, inst = items[k]
            sample = samples[i]
            yield maker.make(sample, inst, frame_of(sample), rng if augment else None)
        epoch += 1
        if not repeat:
            return


def _signature(maker: ExampleMaker):
    h, w = maker.input_shape
    image = tf.TensorSpec((h, w, maker.info.input_channels), tf.float32)
    targets = {
        kind: tf.TensorSpec(shape, tf.float32)
        for kind, shape in maker.output_shapes().items()
    }
    return image, targets


def make_dataset(
    maker: ExampleMaker,
    samples: list[FrameSample],
    frame_of: FrameFn,
    batch_size: int,
    *,
    seed: int = 0,
    augment: bool = True,
    shuffle: bool = True,
    repeat: bool = True,
    output_names: list[str] | None = None,
    start_epoch: int = 0,
    threads: int = 1,
    weights: np.ndarray | None = None,
) -> tf.data.Dataset:
    """A batched dataset of ``(images, {output name: target})``.

    Args:
        maker: builds examples for the model.
        samples: labeled frames to draw from.
        frame_of: returns the decoded frame of a sample.
        batch_size: examples per batch.
        seed: seeds order and augmentation.
        augment: apply random augmentation.
        shuffle: shuffle each pass.
        repeat: endless (training) or one pass (validation).
        output_names: model outputs to feed; intermediate outputs
            (``confmaps_stack0``) get the targets of their kind. Default: the
            head kinds.
        start_epoch: first epoch number (seeds), for resumed training.
        threads: example-making threads, interleaved in a fixed order so the
            stream depends on the seed and ``threads``, not on timing.
        weights: draw probability per ``maker.items(samples)`` entry; None
            draws each example once per pass.
    """
    signature = _signature(maker)
    threads = max(1, min(int(threads), len(maker.items(samples))))

    def gen(shard=0):
        yield from example_stream(
            maker,
            samples,
            frame_of,
            seed=seed,
            augment=augment,
            shuffle=shuffle,
            repeat=repeat,
            start_epoch=start_epoch,
            shard=int(shard),
            n_shards=threads,
            weights=weights,
        )

    if threads == 1:
        ds = tf.data.Dataset.from_generator(gen, output_signature=signature)
    else:
        ds = tf.data.Dataset.range(threads).interleave(
            lambda i: tf.data.Dataset.from_generator(
                gen, output_signature=signature, args=(i,)
            ),
            cycle_length=threads,
            block_length=1,
            num_parallel_calls=threads,
            deterministic=True,
        )
    names = list(output_names or maker.info.heads)
    if any(output_kind(n) != n for n in names):
        ds = ds.map(lambda x, y: (x, {n: y[output_kind(n)] for n in names}))
    ds = ds.batch(batch_size, drop_remainder=repeat)
    return ds.prefetch(2)


def materialize(
    maker: ExampleMaker, samples: list[FrameSample], frame_of: FrameFn
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """All unaugmented examples of ``samples`` as arrays (validation sets)."""
    images, targets = [], {}
    for i, inst in maker.items(samples):
        image, tgt = maker.make(samples[i], inst, frame_of(samples[i]))
        images.append(image)
        for k, v in tgt.items():
            targets.setdefault(k, []).append(v)
    return np.stack(images), {k: np.stack(v) for k, v in targets.items()}
