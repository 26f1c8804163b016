"""Bottom-up (PAF) models on the fly clip's later segment (issue 15).

``.venv/bin/python bench/bench_fly_bottomup.py out/bu15/base --tag _base``
loads a trained bottom-up model folder (``<dir>/bottom_up``, trained with
``bench/fly_bottomup_split.yaml``: frames < 1150 only), runs the network once on
each of the 80 validation frames of ``bench_fly_contact.py`` (every labeled
frame of 1150..1249 in ``clip_0-1249.slp`` that is not a frame of
``clip_train.slp``), then groups the cached maps with each predict-time
candidate (peak threshold, PAF line score / agreement, smallest instance, at
most two instances) and scores them: OKS mAP, frames where both flies were
found, node error p50/p90, contact vs apart (``evaluate.breakdown``).

A fly counts as found when the OKS matching pairs it with a prediction that has
at least half of its labeled nodes within ``FOUND_PX`` px. Frames 1250..1499
are never read. Writes ``bench/results/fly_bottomup<tag>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
from bench_fly_contact import FIRST, LATER_FROM, STOP, frame_pairs, user_points  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
#: A fly is found when >= half its labeled nodes are this close (px, full frame).
FOUND_PX = 10.0

#: Predict-time candidates: name -> (peak threshold, PafParams overrides).
VARIANTS: dict[str, tuple[float, dict]] = {
    "default": (0.2, {}),
    "default max2": (0.2, {"max_instances": 2}),
    "peak0.1 max2": (0.1, {"max_instances": 2}),
    "peak0.05 max2": (0.05, {"max_instances": 2}),
    "peak0.1 agree0.5 max2": (0.1, {"min_agreeing": 0.5, "max_instances": 2}),
    "peak0.1 line0.02 agree0.5 max2": (
        0.1,
        {"min_line_score": 0.02, "min_agreeing": 0.5, "max_instances": 2},
    ),
    "peak0.1 agree0.5 minpeaks0.3 max2": (
        0.1,
        {"min_agreeing": 0.5, "min_instance_peaks": 0.3, "max_instances": 2},
    ),
    "peak0.2 agree0.5 max2": (0.2, {"min_agreeing": 0.5, "max_instances": 2}),
}


def found_flies(
    gt: np.ndarray, pr: np.ndarray, scores: np.ndarray, thorax: int
) -> tuple[int, int]:
    """Ground-truth flies of one frame that distinct predictions found/located.

    Found: at least half the labeled nodes within ``FOUND_PX``. Located: the
    matched prediction's thorax within ``FOUND_PX`` (the animal is there, its
    legs and wings may be off).
    """
    from napari_sleap.evaluate.matching import match_frame

    found = located = 0
    for g, p, _ in match_frame(gt, pr, scores).pairs:
        vis = ~np.isnan(gt[g]).any(axis=-1)
        err = np.nan_to_num(np.linalg.norm(pr[p] - gt[g], axis=-1), nan=np.inf)
        if vis.any() and np.mean(err[vis] < FOUND_PX) >= 0.5:
            found += 1
        if vis[thorax] and err[thorax] < FOUND_PX:
            located += 1
    return found, located


def models_trained(model_dir: Path) -> dict:
    """Steps, learning rate, sigma and input scale of the bottom-up model."""
    import yaml

    d = model_dir / "bottom_up"
    cfg = yaml.safe_load((d / "config.yaml").read_text())
    log = d / "training_log.csv"
    lines = log.read_text().splitlines() if log.exists() else []
    epochs = max(0, len(lines) - 1)
    return {
        "epochs": epochs,
        "steps": epochs * cfg["optim"]["steps_per_epoch"],
        "batch_size": cfg["optim"]["batch_size"],
        "learning_rate": cfg["optim"]["learning_rate"],
        "heads": cfg["model"]["heads"],
        "input_scale": cfg["data"].get("input_scale"),
        "last_log_line": lines[-1] if lines else None,
        "log_header": lines[0] if lines else None,
    }


def forward_all(model_dir: Path, images: np.ndarray):
    """The layer and its raw network outputs of each frame (timed)."""
    from napari_sleap.infer.predictor import Predictor, PredictorOptions

    pred = Predictor.from_model_dirs(
        [model_dir / "bottom_up"], PredictorOptions(batch_size=1)
    )
    pred.warmup(*images.shape[1:])
    layer = pred.layer
    t0 = time.monotonic()
    raws = [layer.forward(img[None]) for img in images]
    return pred, layer, raws, (time.monotonic() - t0) / len(images)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, help="folder with bottom_up/")
    parser.add_argument("--tag", default="")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()

    import sleap_io as sio

    from napari_sleap.evaluate.breakdown import breakdown
    from napari_sleap.infer.layers.base import PeakParams
    from napari_sleap.io.video import open_video

    gt_labels = sio.load_slp(str(DATA / "clip_0-1249.slp"))
    train_labels = sio.load_slp(str(DATA / "clip_train.slp"))
    train_frames = {int(lf.frame_idx) for lf in train_labels}
    names = list(gt_labels.skeletons[0].node_names)
    gt = user_points(gt_labels, set(range(FIRST, STOP)))
    val = sorted(f for f in gt if f not in train_frames)
    later = [f for f in val if f >= LATER_FROM]
    video = open_video(DATA / "clip.mp4")
    images = np.stack([np.asarray(video[f]) for f in val])
    if images.ndim == 3:
        images = images[..., None]

    load0 = os.getloadavg()
    pred, layer, raws, forward_s = forward_all(args.models, images)
    assert list(pred.info.node_names) == names, "model and labels have other nodes"
    result: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.node()} ({os.cpu_count()} cores)",
        "command": " ".join(["bench/bench_fly_bottomup.py"] + sys.argv[1:]),
        "model": models_trained(args.models),
        "forward_s_per_frame": round(forward_s, 3),
        # Median over frames of each node's highest confidence: below the peak
        # threshold, nothing can be found whatever the grouping does.
        "confmap_max_median": np.median(
            [r["confmaps"][0].max(axis=(0, 1)) for r in raws], axis=0
        )
        .round(3)
        .tolist(),
        "found_px": FOUND_PX,
        "validation": {"val": val, "later": later},
        "runs": {},
    }
    base_paf = layer.paf
    for name in args.variants.split(","):
        threshold, paf_kw = VARIANTS[name]
        layer.peaks = PeakParams(threshold, "integral")
        layer.paf = replace(base_paf, **paf_kw)
        t0 = time.monotonic()
        poses = {}
        for f, raw in zip(val, raws, strict=True):
            p = layer.postprocess(raw)[0]
            poses[f] = (p.points.astype(np.float64), p.instance_scores.astype(float))
        group_s = (time.monotonic() - t0) / len(val)
        counts = [found_flies(gt[f], *poses[f], names.index("thorax")) for f in val]
        found = [c[0] for c in counts]
        located = [c[1] for c in counts]
        n_pred = [len(poses[f][1]) for f in val]
        entry = {
            "peak_threshold": threshold,
            "paf": paf_kw,
            "group_s_per_frame": round(group_s, 4),
            "frames_both_found": int(sum(k >= 2 for k in found)),
            "frames_none_found": int(sum(k == 0 for k in found)),
            "frames_both_located": int(sum(k >= 2 for k in located)),
            "frames_two_plus_predicted": int(sum(n >= 2 for n in n_pred)),
            "frames": len(val),
        }
        for split, frames in (("val", val), ("later", later)):
            entry[split] = breakdown(frame_pairs(gt, poses, frames), names)
        result["runs"][name] = entry
        print(line_of(name, entry), flush=True)
    result["load_before"] = load0
    result["load_after"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"fly_bottomup{args.tag}.json"
    path.write_text(json.dumps(result, indent=1, default=str))
    print(f"forward {forward_s * 1000:.0f} ms/frame; wrote {path}")
    return 0


def line_of(name: str, e: dict) -> str:
    """One summary line of a candidate."""

    def f(v, spec=".3f"):
        return "-" if v is None else format(v, spec)

    v, lt = e["val"], e["later"]
    p50, p90 = v["all"]["error_p50"], v["all"]["error_p90"]
    return (
        f"{name}: val mAP {f(v['all']['oks_map'])} | both found "
        f"{e['frames_both_found']}/{e['frames']} (none {e['frames_none_found']}, "
        f"both located {e['frames_both_located']}) | "
        f"p50/p90 {f(p50, '.1f')}/{f(p90, '.1f')} px"
        f" | contact mAP {f(v['contact']['oks_map'])} p90 "
        f"{f(v['contact']['error_p90'], '.1f')} | apart mAP "
        f"{f(v['apart']['oks_map'])} p90 {f(v['apart']['error_p90'], '.1f')} | "
        f"later mAP {f(lt['all']['oks_map'])} | missing "
        f"{v['all']['missing_nodes'][0]}/{v['all']['missing_nodes'][1]}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
