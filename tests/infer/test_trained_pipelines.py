"""Every multi-animal and identity pipeline gives right answers once trained.

test_pipelines.py checks the plumbing on untrained models; here each pipeline
is trained for a fixed number of steps on the synthetic sample (256 px frames,
exact ground truth, tracks named ``animal_a``/``animal_b``) and predicts the
held-out last quarter of the video, which training never saw (80 frames, 160
animals; 80 for single). The thresholds sit below what these recipes measured
(bench/bench_pipelines_sample.py --steps 2000, seed 0, on the 2-core box):

- single (one animal): OKS recall 0.80, node error p50 1.05 / p90 2.1 px.
- bottom-up: 157 of 160 animals found, OKS recall 0.76, p50 1.28 / p90 2.9 px,
  96% of instances made of one animal's parts (99.6% of nodes).
- top-down-id: 144 instances, all named, 97.9% with the right track name;
  97.5% of nodes on their animal, p50 3.5 px (the tiny crop model is the weak
  part: what is tested here is identity).
- bottom-up-id: 160 instances, 94.4% with the right track name, 96.7% of nodes
  on the named animal, p50 2.4 px.

OKS recall is low for the identity pipelines because OKS is strict on small
animals (bounding boxes ~40x20 px): 2 px of error already costs half the score.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.fixtures.trained_sample import (
    cpu_note,
    grouping_and_identity,
    held_out,
    score,
    trainer,
)


@pytest.fixture(scope="module")
def trained(request, tmp_path_factory):
    """``get(pipeline)`` -> (predicted Labels, scores); each pipeline trains once."""
    import sleap_io as sio

    from napari_sleap.infer.predict import predict
    from napari_sleap.infer.predictor import PredictorOptions

    get_trained = trainer(request, tmp_path_factory)
    cache: dict[str, tuple] = {}

    def get(pipeline: str):
        if pipeline not in cache:
            models, sample = get_trained(pipeline)
            frames = held_out()
            pred = predict(
                models.model_dirs,
                sample.video,
                None,
                frames=frames,
                options=PredictorOptions(max_instances=2),
            )
            gt = sio.load_slp(str(sample.gt))
            cache[pipeline] = (pred, score(gt, pred, frames))
            print(f"{pipeline}: {_why(cache[pipeline][1])}")  # shown with -s / -rA
        return cache[pipeline]

    return get


def test_scorer_sees_mixed_parts_and_wrong_names(sample_small):
    """The grouping/identity scorer on known answers (no model)."""
    import sleap_io as sio

    gt = sio.load_slp(str(sample_small.gt))
    frames = [0, 1, 2, 3]
    exact = grouping_and_identity(gt, gt, frames)
    assert exact == {
        "instances": 8,
        "pure": 1.0,
        "node_purity": 1.0,
        "id_named": 8,
        "id_accuracy": 1.0,
    }
    mixed = sio.load_slp(str(sample_small.gt))
    tracks = {t.name: t for t in mixed.tracks}
    for lf in mixed.labeled_frames:
        if lf.frame_idx in frames:
            a, b = lf.instances
            pa, pb = a.numpy(), b.numpy()
            pa[0], pb[0] = pb[0].copy(), pa[0].copy()  # swap the noses
            lf.instances = [
                sio.Instance.from_numpy(pa, skeleton=a.skeleton, track=b.track),
                sio.Instance.from_numpy(pb, skeleton=b.skeleton, track=a.track),
            ]
    got = grouping_and_identity(gt, mixed, frames)
    assert got["pure"] == 0.0 and got["node_purity"] == 0.9
    assert got["id_accuracy"] == 0.0 and set(tracks) == {"animal_a", "animal_b"}


def _per_frame(pred) -> list[int]:
    return [len(lf.instances) for lf in pred.labeled_frames]


def _why(figures: dict) -> str:
    shown = {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}
    return f"{shown} ({cpu_note()})"


@pytest.mark.slow
def test_single_instance_finds_the_animal(trained):
    pred, s = trained("single")
    counts = _per_frame(pred)
    assert len(counts) == len(held_out()) and set(counts) == {1}, counts
    assert s["detection_recall"] >= 0.6, _why(s)
    assert s["error_p50"] <= 1.6, _why(s)
    # 1.5x the 2.1 px measured with this recipe (2000 steps), the margin every
    # error bound here has (p50: 1.05 -> 1.6; bottom-up p90: 2.9 -> 5.0 is 1.7x).
    # The 4.6 px of docs/benchmarks.md was 4000 steps, a different recipe.
    assert s["error_p90"] <= 3.2, _why(s)


@pytest.mark.slow
def test_bottom_up_groups_each_animal(trained):
    """PAF grouping: two instances per frame, each made of one animal's parts."""
    pred, s = trained("bottom-up")
    counts = _per_frame(pred)
    assert max(counts) <= 2
    assert np.mean(np.array(counts) == 2) >= 0.85, counts
    assert s["detection_recall"] >= 0.5, _why(s)
    assert s["error_p50"] <= 2.0, _why(s)
    assert s["error_p90"] <= 5.0, _why(s)
    assert s["pure"] >= 0.9, _why(s)
    assert s["node_purity"] >= 0.97, _why(s)


@pytest.mark.slow
def test_top_down_id_names_each_animal(trained):
    """Class vectors: each crop's animal gets its own track name."""
    pred, s = trained("top-down-id")
    assert {t.name for t in pred.tracks} == {"animal_a", "animal_b"}
    assert s["instances"] >= 0.8 * 2 * len(held_out()), _why(s)
    assert s["id_named"] == s["instances"], _why(s)
    assert s["id_accuracy"] >= 0.9, _why(s)
    assert s["node_purity"] >= 0.95, _why(s)
    assert s["error_p50"] <= 5.0, _why(s)


@pytest.mark.slow
def test_bottom_up_id_groups_and_names_each_animal(trained):
    """Class maps both group the parts and name the animal."""
    pred, s = trained("bottom-up-id")
    assert {t.name for t in pred.tracks} == {"animal_a", "animal_b"}
    assert max(_per_frame(pred)) <= 2
    assert s["instances"] >= 0.85 * 2 * len(held_out()), _why(s)
    assert s["id_accuracy"] >= 0.85, _why(s)
    assert s["node_purity"] >= 0.93, _why(s)
    assert s["error_p50"] <= 3.5, _why(s)
