"""Time pose evaluation and the three exports on the real two-fly labels.

Ground truth is ../shared/data/clip_0-1249.slp (1250 frames, 2 flies, 13 nodes);
predictions are a copy with 2 px Gaussian jitter. ``--repeat K`` tiles the
labels K times along the frame axis to show how the work scales. Writes
bench/results/evaluate_export_x{K}.json.

    .venv/bin/python bench/bench_evaluate_export.py --repeat 10
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import sleap_io as sio

from napari_sleap.evaluate.pose import evaluate_poses
from napari_sleap.export.analysis_h5 import write_analysis_h5
from napari_sleap.export.csv import write_csv
from napari_sleap.export.nwb import write_nwb

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "clip_0-1249.slp"


def tiled(labels: sio.Labels, repeat: int, sigma: float | None, seed: int = 0):
    """Labels repeated ``repeat`` times in time; jittered predictions if sigma."""
    rng = np.random.default_rng(seed)
    video = labels.videos[0]
    frames = []
    for k in range(repeat):
        offset = k * 1250
        for lf in labels:
            insts = []
            for inst in lf.user_instances:
                pts = inst.numpy()
                if sigma is None:
                    insts.append(
                        sio.Instance.from_numpy(
                            pts, skeleton=inst.skeleton, track=inst.track
                        )
                    )
                else:
                    insts.append(
                        sio.PredictedInstance.from_numpy(
                            pts + rng.normal(0, sigma, pts.shape),
                            skeleton=inst.skeleton,
                            point_scores=rng.random(len(pts)),
                            score=float(rng.random()),
                            track=inst.track,
                            tracking_score=1.0,
                        )
                    )
            frames.append(
                sio.LabeledFrame(
                    video=video, frame_idx=lf.frame_idx + offset, instances=insts
                )
            )
    return sio.Labels(
        labeled_frames=frames,
        videos=[video],
        skeletons=list(labels.skeletons),
        tracks=list(labels.tracks),
    )


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    base = sio.load_slp(str(DATA), open_videos=False)
    gt = tiled(base, args.repeat, None)
    pr = tiled(base, args.repeat, 2.0)
    n_frames = len(gt)

    ev, t_eval = timed(lambda: evaluate_poses(gt, pr))
    results = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": "cpu2 (2-core dev box, shared/busy)",
        "loadavg": os.getloadavg(),
        "frames": n_frames,
        "instances": ev.counts["gt_instances"],
        "evaluate_s": t_eval,
        "evaluate_frames_per_s": n_frames / t_eval,
        "oks_mAP": ev.oks_map,
        "error_mean_px": ev.error["mean"],
        "error_p95_px": ev.error["p95"],
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, fn, path in [
            ("analysis_h5", write_analysis_h5, tmp / "x.analysis.h5"),
            ("csv", write_csv, tmp / "x.csv"),
            ("nwb", write_nwb, tmp / "x.nwb"),
        ]:
            _, dt = timed(lambda fn=fn, path=path: fn(pr, path))
            results[f"{name}_s"] = dt
            results[f"{name}_frames_per_s"] = n_frames / dt
            results[f"{name}_MB"] = path.stat().st_size / 1e6
    results["peak_rss_MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = ROOT / "bench" / "results" / f"evaluate_export_x{args.repeat}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
