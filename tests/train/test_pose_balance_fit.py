"""Real centered-instance training with pose-balanced example sampling."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from napari_sleap.train.fit import fit, training_status
from tests.fixtures.training import tiny_config

EXTRA = {
    "augment": {"rotation": False, "gaussian_noise": False},
    "optim": {"pose_balanced_sampling": {"enabled": True, "strength": 2.0}},
}


def test_training_with_pose_balanced_sampling_runs(small_labels, tmp_path):
    cfg = tiny_config("centered_instance", EXTRA)
    out = fit(cfg, small_labels, tmp_path / "ci")
    with open(out / "training_log.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert all(np.isfinite(float(r["loss"])) for r in rows)
    assert np.isfinite(float(rows[-1]["val_loss"]))
    assert training_status(out) == "done"
    assert (out / "best.keras").exists()


def test_weighted_stream_draws_by_the_weights(few_samples, clip_frames):
    from napari_sleap.nn.data.pipeline import example_stream
    from tests.nn.data.test_pipeline import _maker

    maker = _maker()
    n = len(maker.items(few_samples))
    weights = np.zeros(n)
    weights[[1, 4]] = 0.5  # only two examples may be drawn

    def stream(w, count):
        gen = example_stream(
            maker,
            few_samples,
            lambda s: clip_frames[s.key],
            seed=0,
            augment=False,
            shuffle=True,
            repeat=True,
            weights=w,
        )
        return [float(next(gen)[0].mean()) for _ in range(count)]

    plain = stream(None, n)
    drawn = stream(weights, 2 * n)
    assert len(set(np.round(plain, 6))) == n  # a permutation: each once
    picked = _means(maker, few_samples, clip_frames, [1, 4])
    assert set(np.round(drawn, 6)) == set(np.round(picked, 6))
    with pytest.raises(ValueError, match="sampling weights"):
        stream(weights[:-1], 1)


def _means(maker, samples, frames, picks):
    items = maker.items(samples)
    out = []
    for k in picks:
        i, inst = items[k]
        out.append(
            float(maker.make(samples[i], inst, frames[samples[i].key])[0].mean())
        )
    return out
