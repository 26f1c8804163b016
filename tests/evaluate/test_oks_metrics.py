"""OKS and the VOC-style summaries on hand-made numbers."""

import math

import numpy as np
import pytest

from napari_sleap.evaluate.matching import match_frame
from napari_sleap.evaluate.metrics import error_stats, pck, voc_metrics
from napari_sleap.evaluate.oks import compute_oks, instance_area


def _square(x0=0.0, y0=0.0, side=10.0):
    return np.array(
        [[x0, y0], [x0 + side, y0], [x0, y0 + side], [x0 + side, y0 + side]]
    )


def test_area_ignores_missing_nodes():
    pts = _square(side=10.0)
    pts[3] = np.nan
    assert instance_area(pts)[0] == pytest.approx(100.0)
    assert math.isnan(instance_area(np.full((4, 2), np.nan))[0])


def test_oks_by_hand():
    gt = _square(side=20.0)[None]  # area 400
    shift = np.array([1.0, 0.0])
    pr = (gt[0] + shift)[None]
    sigma = 0.025
    expected = math.exp(-1.0 / (2 * 400 * (2 * sigma) ** 2))
    assert compute_oks(gt, pr)[0, 0] == pytest.approx(expected, rel=1e-9)
    assert compute_oks(gt, gt)[0, 0] == pytest.approx(1.0)


def test_oks_missing_prediction_scores_zero_missing_gt_left_out():
    gt = _square(side=20.0)[None]
    pr = gt.copy()
    pr[0, 0] = np.nan  # prediction misses node 0: 3 of 4 nodes perfect
    assert compute_oks(gt, pr)[0, 0] == pytest.approx(0.75)
    gt2 = gt.copy()
    gt2[0, 0] = np.nan  # node 0 not labeled: the other 3 are perfect
    assert compute_oks(gt2, pr)[0, 0] == pytest.approx(1.0)


def test_hungarian_beats_greedy_when_greedy_pairs_badly():
    # Two ground truths; the high-scoring prediction sits between them but a
    # bit closer to B, stealing B from the low-scoring prediction that is on B.
    a, b = _square(0, 0, 20), _square(30, 0, 20)
    gt = np.stack([a, b])
    pr = np.stack([b - [4.0, 0.0], b])
    scores = np.array([0.9, 0.5])
    greedy = match_frame(gt, pr, scores, method="greedy")
    hung = match_frame(gt, pr, scores, method="hungarian")
    assert {(i, j) for i, j, _ in greedy.pairs} == {(1, 0), (0, 1)}
    assert sum(o for *_, o in hung.pairs) >= sum(o for *_, o in greedy.pairs)
    assert (1, 1) in {(i, j) for i, j, _ in hung.pairs}


def test_match_leaves_far_predictions_unmatched():
    gt = _square(0, 0, 20)[None]
    pr = np.stack([_square(0, 0, 20), _square(5000, 5000, 20)])
    m = match_frame(gt, pr, np.array([0.5, 0.9]))
    assert [(i, j) for i, j, _ in m.pairs] == [(0, 0)]
    assert m.unmatched_pr == [1] and m.unmatched_gt == []


def _coco_ap(scores, oks, n_gt, thr):
    """101-point interpolated AP written from the COCO definition."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    tp = fp = 0
    prec, rec = [], []
    for i in order:
        if oks[i] >= thr:
            tp += 1
        else:
            fp += 1
        prec.append(tp / (tp + fp))
        rec.append(tp / n_gt)
    total = 0.0
    for r in np.linspace(0, 1, 101):
        cands = [p for p, q in zip(prec, rec, strict=True) if q >= r]
        total += max(cands) if cands else 0.0
    return total / 101


def test_voc_matches_coco_definition_on_random_detections():
    rng = np.random.default_rng(3)
    for _ in range(20):
        n = int(rng.integers(1, 30))
        scores = rng.random(n)
        oks = rng.random(n)
        oks[rng.random(n) < 0.2] = -np.inf  # unmatched detections
        n_gt = n + int(rng.integers(0, 5))
        out = voc_metrics(scores, oks, n_gt)
        for k, thr in enumerate(out["thresholds"]):
            assert out["AP"][k] == pytest.approx(_coco_ap(scores, oks, n_gt, thr))
            assert out["AR"][k] == pytest.approx(np.sum(oks >= thr) / n_gt)


def test_voc_perfect_and_empty():
    out = voc_metrics(np.ones(4), np.ones(4), 4)
    assert out["mAP"] == pytest.approx(1.0) and out["mAR"] == pytest.approx(1.0)
    empty = voc_metrics(np.zeros(0), np.zeros(0), 3)
    assert empty["mAP"] == 0.0 and empty["mAR"] == 0.0


def test_error_stats_and_pck():
    d = np.array([[1.0, 2.0, np.nan], [3.0, 4.0, 5.0]])
    st = error_stats(d)
    assert st["n"] == 5 and st["mean"] == pytest.approx(3.0)
    assert st["p50"] == pytest.approx(3.0)
    vis = np.array([[True, True, True], [True, True, True]])
    # 6 visible nodes, one missed; thresholds are strict (<)
    np.testing.assert_allclose(
        pck(d, vis, np.array([1.0, 2.5, 10.0])), [0, 2 / 6, 5 / 6]
    )
    vis[0, 2] = False  # not labeled: left out
    np.testing.assert_allclose(pck(d, vis, np.array([10.0])), [1.0])
