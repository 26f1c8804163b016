"""evaluate_poses on SLEAP's own ground truth/predictions and on a jittered clip."""

import math

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.evaluate.pose import evaluate_poses
from napari_sleap.progress import Cancelled

MODELS = ["minimal_instance.UNet.centered_instance", "minimal_instance.UNet.centroid"]


def _load(path):
    return sio.load_slp(str(path), open_videos=False)


def _oks_by_hand(gt_pts, pr_pts, sigma=0.025):
    """Ronchi & Perona OKS written out node by node."""
    vis = [i for i in range(len(gt_pts)) if not np.isnan(gt_pts[i]).any()]
    xs = [gt_pts[i][0] for i in vis]
    ys = [gt_pts[i][1] for i in vis]
    area = (max(xs) - min(xs)) * (max(ys) - min(ys))
    total = 0.0
    for i in vis:
        if np.isnan(pr_pts[i]).any():
            continue
        d2 = float(np.sum((gt_pts[i] - pr_pts[i]) ** 2))
        total += math.exp(-d2 / (2 * area * (2 * sigma) ** 2))
    return total / len(vis)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("split", ["train", "val"])
def test_sleap_predictions_against_sleap_ground_truth(sleap1_models_dir, model, split):
    gt = _load(sleap1_models_dir / f"{model}.labels_gt.{split}.slp")
    pr = _load(sleap1_models_dir / f"{model}.labels_pr.{split}.slp")
    ev = evaluate_poses(gt, pr)
    greedy = evaluate_poses(gt, pr, matching="greedy")  # SLEAP 1.x's pairing
    assert ev.oks_map == pytest.approx(greedy.oks_map)
    assert ev.counts["matched"] == ev.counts["gt_instances"] == 2

    # Every pair's OKS and error, recomputed by hand from the raw points.
    gts = [i.numpy() for i in gt[0].user_instances]
    prs = [i.numpy() for i in pr[0].predicted_instances]
    best = sorted(max(_oks_by_hand(g, p) for p in prs) for g in gts)
    np.testing.assert_allclose(sorted(ev.pair_oks), best, rtol=1e-9)
    errs = sorted(
        min(float(np.nanmean(np.linalg.norm(g - p, axis=1))) for p in prs) for g in gts
    )
    np.testing.assert_allclose(sorted(np.nanmean(ev.dists, axis=1)), errs, rtol=1e-9)
    # With two pairs, AP at each threshold is 1 if both pass; SLEAP's mAP follows.
    thr = np.round(np.linspace(0.5, 0.95, 10), 2)
    n_pass = [(np.array(best) >= t).sum() for t in thr]
    assert ev.oks_mar == pytest.approx(np.mean(n_pass) / 2)
    assert 0.8 <= ev.oks_map <= 1.0
    assert ev.error["mean"] < 1.5  # SLEAP's own models are within ~1 px here


@pytest.mark.parametrize("model", MODELS)
def test_ground_truth_against_itself_is_perfect(sleap1_models_dir, model):
    gt = _load(sleap1_models_dir / f"{model}.labels_gt.val.slp")
    ev = evaluate_poses(gt, gt)
    assert ev.oks_map == 1.0 and ev.oks_mar == 1.0
    assert ev.error["mean"] == 0.0 and ev.error["p95"] == 0.0
    assert ev.detection["precision"] == 1.0 and ev.detection["recall"] == 1.0
    np.testing.assert_array_equal(ev.pck, np.ones(10))


def _jittered(labels, *, radius=None, sigma=None, seed=0, swap=False):
    """A predicted copy with known per-point displacement."""
    rng = np.random.default_rng(seed)
    out = _load_copy(labels)
    for lf in out:
        new = []
        for inst in lf.instances:
            pts = inst.numpy()
            if radius is not None:
                ang = rng.uniform(0, 2 * np.pi, len(pts))
                pts = pts + radius * np.stack([np.cos(ang), np.sin(ang)], axis=1)
            else:
                pts = pts + rng.normal(0, sigma, pts.shape)
            new.append(
                sio.PredictedInstance.from_numpy(
                    pts,
                    skeleton=inst.skeleton,
                    point_scores=np.ones(len(pts)),
                    score=float(rng.random()),
                    track=inst.track,
                )
            )
        lf.instances = new[::-1] if swap else new
    return out


def _load_copy(labels):
    return sio.load_slp(labels.provenance["filename"], open_videos=False)


@pytest.fixture(scope="module")
def clip_gt(clip_all_slp):
    return _load(clip_all_slp)


def test_constant_jitter_gives_exact_errors(clip_gt):
    pr = _jittered(clip_gt, radius=2.5, swap=True)
    ev = evaluate_poses(clip_gt, pr)
    assert ev.counts["frames"] == 1250 and ev.counts["matched"] == 2500
    for key in ("mean", "p50", "p90", "p95"):
        assert ev.error[key] == pytest.approx(2.5, abs=1e-9)
    np.testing.assert_array_equal(ev.pck, [0, 0] + [1] * 8)
    # Each pair's OKS follows from its ground-truth box area alone.
    areas = []
    for lf in clip_gt:
        for inst in lf.user_instances:
            pts = inst.numpy()
            pts = pts[~np.isnan(pts).any(axis=1)]
            areas.append(np.prod(pts.max(0) - pts.min(0)))
    expected = np.exp(-(2.5**2) / (2 * np.array(areas) * 0.05**2))
    np.testing.assert_allclose(np.sort(ev.pair_oks), np.sort(expected), rtol=1e-9)


def test_gaussian_jitter_matches_rayleigh_percentiles(clip_gt):
    sigma = 2.0
    ev = evaluate_poses(clip_gt, _jittered(clip_gt, sigma=sigma, seed=1))
    # Radial error of isotropic 2-D Gaussian noise is Rayleigh(sigma).
    expect = {
        "mean": sigma * math.sqrt(math.pi / 2),
        "p50": sigma * math.sqrt(2 * math.log(2)),
        "p90": sigma * math.sqrt(2 * math.log(10)),
        "p95": sigma * math.sqrt(2 * math.log(20)),
    }
    for key, value in expect.items():
        assert ev.error[key] == pytest.approx(value, rel=0.03), key
    for t, v in zip(ev.pck_thresholds, ev.pck, strict=True):
        assert v == pytest.approx(1 - math.exp(-(t**2) / (2 * sigma**2)), abs=0.02)
    assert set(ev.error_per_node) == set(clip_gt.skeletons[0].node_names)


def test_missing_nodes_false_positives_and_missing_frames(clip_gt):
    frames = list(range(1000, 1100))
    pr = _jittered(clip_gt, radius=1.5)
    skel = pr.skeletons[0]
    far = np.full((len(skel.nodes), 2), 5000.0)
    drop_frames = set(range(1090, 1100))
    kept = []
    for lf in pr:
        if lf.frame_idx in drop_frames:
            continue
        if 1000 <= lf.frame_idx < 1050:
            pts = lf.instances[0].numpy()
            pts[0] = np.nan  # the prediction loses node 0
            lf.instances[0] = sio.PredictedInstance.from_numpy(
                pts,
                skeleton=skel,
                score=lf.instances[0].score,
                track=lf.instances[0].track,
            )
        lf.instances.append(
            sio.PredictedInstance.from_numpy(far, skeleton=skel, score=0.99)
        )
        kept.append(lf)
    pr.labeled_frames = kept

    ev = evaluate_poses(clip_gt, pr, frames=frames)
    c = ev.counts
    assert c["frames"] == 100 and c["frames_without_predictions"] == 10
    assert c["gt_instances"] == 200 and c["pred_instances"] == 270
    assert c["matched"] == 180 and c["unmatched_pred"] == 90
    assert ev.visibility["fn"] == 50
    assert ev.detection["precision"] == pytest.approx(180 / 270)
    assert ev.detection["recall"] == pytest.approx(180 / 200)
    # SLEAP convention: skipped frames and unmatched predictions don't count...
    assert ev.oks_mar == pytest.approx(np.mean(ev.ar)) and ev.ar[0] == 1.0
    # ...COCO-style strict scoring counts both.
    strict = evaluate_poses(clip_gt, pr, frames=frames, strict=True)
    assert strict.ar[0] == pytest.approx(180 / 200)
    assert strict.oks_map < ev.oks_map


def test_progress_and_stop(clip_gt):
    calls = []
    evaluate_poses(clip_gt, clip_gt, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (1250, 1250)

    class Stop:
        def is_set(self):
            return True

    with pytest.raises(Cancelled):
        evaluate_poses(clip_gt, clip_gt, stop=Stop())


def test_mismatched_skeleton_and_videos_get_clear_errors(clip_gt, sleap1_models_dir):
    other = _load(sleap1_models_dir / f"{MODELS[0]}.labels_pr.val.slp")
    with pytest.raises(ValueError, match="lacks the ground-truth nodes"):
        evaluate_poses(clip_gt, other)  # one video each: paired, then nodes differ
    elsewhere = [sio.Video(filename="a.mp4"), sio.Video(filename="b.mp4")]
    for lf in other:
        lf.video = elsewhere[0]
    other.videos = elsewhere
    with pytest.raises(ValueError, match="no video of the ground truth"):
        evaluate_poses(clip_gt, other)


def test_videos_pair_by_file_name_when_folders_differ():
    from napari_sleap.evaluate.matching import pair_videos

    gt = sio.Labels(videos=[sio.Video("/lab/a/cam1.mp4"), sio.Video("/lab/a/cam2.mp4")])
    pr = sio.Labels(
        videos=[sio.Video("/scratch/cam2.mp4"), sio.Video("/scratch/cam1.mp4")]
    )
    assert pair_videos(gt, pr) == {0: 1, 1: 0}
    same = sio.Labels(videos=[sio.Video("/lab/a/cam1.mp4")])
    assert pair_videos(gt, same) == {0: 0}


def test_sleap_mpck_counts_unlabeled_nodes_as_misses(clip_gt):
    ev = evaluate_poses(clip_gt, clip_gt, frames=range(1000, 1250))
    assert ev.to_dict()["pck"]["mPCK"] == 1.0
    # SLEAP 1.x's mPCK: NaN distances (here: nodes the labeler left out) fail.
    unlabeled = np.isnan(ev.dists).mean()
    assert unlabeled > 0
    assert ev.mpck_sleap == pytest.approx(1 - unlabeled)


def test_predictions_against_predictions_use_them_as_reference(sleap1_models_dir):
    pr = _load(sleap1_models_dir / f"{MODELS[0]}.labels_pr.val.slp")
    ev = evaluate_poses(pr, pr)
    assert ev.settings["reference"] == "predicted instances"
    assert ev.counts["matched"] == 2 and ev.oks_map == 1.0


def test_plot_marks_nodes_without_matches(clip_gt, tmp_path):
    from PIL import Image

    from napari_sleap.evaluate.plot import plot_node_errors

    pr = _jittered(clip_gt, radius=1.0)
    skel = pr.skeletons[0]
    for lf in pr:
        for k, inst in enumerate(lf.instances):
            pts = inst.numpy()
            pts[0] = np.nan  # "head" never predicted
            lf.instances[k] = sio.PredictedInstance.from_numpy(
                pts, skeleton=skel, score=inst.score, track=inst.track
            )
    ev = evaluate_poses(clip_gt, pr, frames=range(0, 100))
    assert ev.error_per_node["head"]["n"] == 0
    assert math.isnan(ev.error_per_node["head"]["mean"])
    assert ev.to_dict()["error_px"]["per_node"]["head"]["mean"] is None
    out = plot_node_errors(ev, tmp_path / "nodes.png")
    assert Image.open(out).size[1] > 14 * 24
