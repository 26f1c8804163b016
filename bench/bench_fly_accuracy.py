"""Top-down accuracy on the real fly clip, validated on a later time segment.

``.venv/bin/python bench/bench_fly_accuracy.py dev`` trains the top-down
pipeline with the built-in profiles and a 29-minute budget, as
``napari-sleap train ../shared/data/clip_train.slp --pipeline top-down
--max-minutes 29`` does: the profiles' time split trains on the 90 labeled
frames before 1200 and picks the best epoch on the 10 from 1200 on. It then
predicts frames 1200..1249 of ``clip.mp4`` and scores them against the
proofread ``clip_0-1249.slp`` (OKS mAP, node error percentiles, head/tail
flips), and writes predictions for frames 1250..1499 (whose labels we do not
have) to ``<out>/dev/predictions_1250-1499.slp`` for whoever holds them.

``... final`` trains on all 100 frames of ``clip_train.slp`` (no validation
frames: the schedule runs on the training loss) and predicts 1250..1499.

Writes ``bench/results/fly_accuracy_<mode>.json``; add the row to
docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
VAL_FROM = 1200
DEV_FRAMES = (VAL_FROM, 1250)
HIDDEN_FRAMES = (1250, 1500)


def recipe_overrides(mode: str, extra: dict | None) -> dict:
    """The overrides ``extra`` (on the profiles) with the split of ``mode``."""
    split = (
        {"method": "time", "val_from_frame": VAL_FROM}
        if mode == "dev"
        else {"method": "fraction", "val_fraction": 0.0}
    )
    out = dict(extra or {})
    out["data"] = {**out.get("data", {}), "split": split}
    return out


def head_tail_flips(gt, pred, frames: range) -> tuple[int, int]:
    """Matched flies whose predicted head lies nearer the true abdomen than the head."""
    from napari_sleap.evaluate.matching import match_frame

    names = list(gt.skeletons[0].node_names)
    h, a = names.index("head"), names.index("abdomen")
    flips = total = 0
    pred_by = {lf.frame_idx: lf for lf in pred}
    for lf in gt:
        if lf.frame_idx not in frames or lf.frame_idx not in pred_by:
            continue
        g = np.stack([i.numpy() for i in lf.user_instances])
        p = np.stack([i.numpy() for i in pred_by[lf.frame_idx].instances])
        for gi, pi, _ in match_frame(g, p, np.ones(len(p))).pairs:
            total += 1
            dh = np.linalg.norm(p[pi, h] - g[gi, h])
            da = np.linalg.norm(p[pi, h] - g[gi, a])
            flips += bool(da < dh)
    return flips, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["dev", "final"])
    parser.add_argument("--out", type=Path, default=Path("/tmp/fly_accuracy"))
    parser.add_argument("--config", type=Path, help="YAML overrides for the recipe")
    parser.add_argument(
        "--max-minutes", type=float, default=29.0, help="wall-clock budget"
    )
    parser.add_argument("--tag", default="", help="suffix of the result file")
    parser.add_argument("--restart", action="store_true")
    args = parser.parse_args()

    import sleap_io as sio
    import yaml

    from napari_sleap.evaluate.pose import evaluate_poses
    from napari_sleap.evaluate.report import format_report
    from napari_sleap.infer.predict import predict
    from napari_sleap.infer.predictor import PredictorOptions
    from napari_sleap.progress import TerminalProgress
    from napari_sleap.train.pipeline import train_pipeline

    extra = yaml.safe_load(args.config.read_text()) if args.config else {}
    overrides = recipe_overrides(args.mode, extra)
    out = args.out / args.mode
    out.mkdir(parents=True, exist_ok=True)
    load0 = os.getloadavg()
    t0, c0 = time.monotonic(), time.process_time()
    dirs = train_pipeline(
        DATA / "clip_train.slp",
        "top-down",
        out,
        overrides=overrides,
        seed=0,
        max_minutes=args.max_minutes,
        restart=args.restart,
        emit=lambda kind, value: kind == "log" and print(value, flush=True),
        verbose=True,
    )
    train_s, train_cpu = time.monotonic() - t0, time.process_time() - c0
    steps = {}
    for role, d in dirs.items():
        log = Path(d) / "training_log.csv"
        cfg = yaml.safe_load((Path(d) / "config.yaml").read_text())
        n_epochs = max(0, len(log.read_text().splitlines()) - 1) if log.exists() else 0
        steps[role] = {
            "epochs": n_epochs,
            "steps": n_epochs * cfg["optim"]["steps_per_epoch"],
            "crop_size": cfg["data"]["crop_size"],
            "input_scale": cfg["data"]["input_scale"],
        }

    t1 = time.monotonic()
    for lo, hi in (HIDDEN_FRAMES, DEV_FRAMES):
        pred = predict(
            list(dirs.values()),
            str(DATA / "clip.mp4"),
            out / f"predictions_{lo}-{hi - 1}.slp",
            frames=list(range(lo, hi)),
            options=PredictorOptions(max_instances=2),
            progress=TerminalProgress("predict"),
        )
    predict_s = time.monotonic() - t1
    result = {
        "mode": args.mode,
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.node()} ({os.cpu_count()} cores)",
        "load_before": load0,
        "load_after": os.getloadavg(),
        "overrides": overrides,
        "train_wall_s": round(train_s, 1),
        "train_cpu_s_main_thread_group": round(train_cpu, 1),
        "models": steps,
        "predict_s": round(predict_s, 1),
        "predicted_frames": [DEV_FRAMES, HIDDEN_FRAMES],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }
    lo, hi = DEV_FRAMES
    if args.mode == "dev":
        gt = sio.load_slp(str(DATA / "clip_0-1249.slp"))
        frames = list(range(lo, hi))
        ev = evaluate_poses(gt, pred, frames=frames)
        print(format_report(ev, title=f"frames {lo}..{hi - 1} (later segment)"))
        flips, total = head_tail_flips(gt, pred, range(lo, hi))
        result["evaluation"] = {
            "oks_map": ev.oks_map,
            "oks_mar": ev.oks_mar,
            "error_px": {k: ev.error.get(k) for k in ("mean", "p50", "p90", "p95")},
            "per_node_p90": {n: e.get("p90") for n, e in ev.error_per_node.items()},
            "moks": ev.moks,
            "detection": ev.detection,
            "head_tail_flips": [flips, total],
        }
        print(f"head/tail flips: {flips} of {total} matched flies")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"fly_accuracy_{args.mode}{args.tag}.json"
    path.write_text(json.dumps(result, indent=1, default=str))
    print(json.dumps({k: v for k, v in result.items() if k != "overrides"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
