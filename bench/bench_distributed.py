"""Batch prediction on dask: single process vs LocalCluster with 1 and 2 workers.

Four copies of ../shared/data/clip.mp4 (symlinks in a temp folder), frames
0..299 each, top-down models at fly-sized settings (the untrained, seeded
UNets of bench_inference.py, peaks forced so each frame carries two flies' work).
Checks that every configuration writes the same poses as the single-process
predictor and compares throughput (wall) and cost (CPU seconds of all
processes per frame, which a busy shared machine disturbs far less). Each
cluster is started and warmed (models loaded on every worker) before timing;
start-up and warm-up times are recorded.

    .venv/bin/python bench/bench_distributed.py [--frames 300] [--copies 4]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"


def _options():
    from napari_sleap.infer.predictor import PredictorOptions

    # Untrained maps: every local maximum is a peak, capped at two animals.
    return PredictorOptions(batch_size=1, max_instances=2, peak_threshold=-1e9)


def _poses(path: Path) -> dict[int, np.ndarray]:
    import sleap_io as sio

    return {
        lf.frame_idx: np.stack([i.numpy() for i in lf.instances])
        for lf in sio.load_slp(str(path)).labeled_frames
    }


def _max_diff(a: dict, b: dict) -> float:
    if sorted(a) != sorted(b):
        return float("inf")
    worst = 0.0
    for f in a:
        if a[f].shape != b[f].shape:
            return float("inf")
        same_nan = np.array_equal(np.isnan(a[f]), np.isnan(b[f]))
        if not same_nan:
            return float("inf")
        d = np.nan_to_num(np.abs(a[f] - b[f]), nan=0.0)
        worst = max(worst, float(d.max()) if d.size else 0.0)
    return worst


def single_process(models, videos, out: Path, frames: str) -> dict:
    """Each video in turn through predict() with one loaded, warmed predictor."""
    from napari_sleap.infer.predict import predict
    from napari_sleap.infer.predictor import Predictor

    out.mkdir()
    t0 = time.perf_counter()
    predictor = Predictor.from_model_dirs(models, _options())
    # Warm-up as on the clusters: trace the models on two frames.
    predict(models, videos[0], None, frames="0-1", predictor=predictor)
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    c0 = time.process_time()
    for v in videos:
        predict(
            models,
            v,
            out / (v.stem + ".predictions.slp"),
            frames=frames,
            options=_options(),
            predictor=predictor,
        )
    return {
        "model_load_s": load,
        "seconds": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
    }


def _cluster_cpu(client) -> float:
    """CPU seconds used so far by every worker process and this client."""
    per_worker = client.run(time.process_time)
    return sum(per_worker.values()) + time.process_time()


def on_cluster(models, videos, out: Path, frames: str, workers: int) -> dict:
    """predict_batch on a fresh LocalCluster, warmed up first."""
    from distributed import Client
    from napari_sleap.distributed.batch import predict_batch
    from napari_sleap.distributed.cluster import local_sizing, start_local_cluster

    sizing = local_sizing(workers)
    t0 = time.perf_counter()
    with start_local_cluster(sizing) as lc, Client(lc) as client:
        client.wait_for_workers(workers)
        start = time.perf_counter() - t0
        # Warm-up: one short run per worker loads TensorFlow and the models.
        t0 = time.perf_counter()
        warm = out.parent / f"warm{workers}"
        predict_batch(
            models,
            videos[:workers],
            warm,
            frames="0-1",
            options=_options(),
            client=client,
            threads=sizing.threads,
        )
        warmup = time.perf_counter() - t0
        cpu0 = _cluster_cpu(client)
        t0 = time.perf_counter()
        result = predict_batch(
            models,
            videos,
            out,
            frames=frames,
            options=_options(),
            client=client,
            threads=sizing.threads,
        )
        seconds = time.perf_counter() - t0
        cpu = _cluster_cpu(client) - cpu0
    assert not result.failed, result.failed
    return {
        "workers": sizing.workers,
        "threads_per_worker": sizing.threads,
        "cluster_start_s": start,
        "warmup_s": warmup,
        "seconds": seconds,
        "cpu_s": cpu,
        "dashboard": result.dashboard,
    }


def main(argv: list[str] | None = None) -> int:
    """Run all configurations; write bench/results/distributed-<time>.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300, help="frames per video")
    ap.add_argument("--copies", type=int, default=4, help="copies of the clip")
    ap.add_argument("--workers", default="1,2", help="cluster sizes to time")
    args = ap.parse_args(argv)
    clip = DATA / "clip.mp4"
    if not clip.exists():
        print(f"{clip} not found: the shared data is needed", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_inference import default_models

    frames = f"0-{args.frames - 1}"
    n_total = args.frames * args.copies
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        models = [str(p) for p in default_models(tmp / "models")["top-down"]]
        (tmp / "videos").mkdir()
        videos = []
        for i in range(args.copies):
            videos.append(tmp / "videos" / f"clip{i}.mp4")
            videos[-1].symlink_to(clip)
        rows = []
        load = [os.getloadavg()]
        single = single_process(models, videos, tmp / "single", frames)
        single.update(config="single process", fps=n_total / single["seconds"])
        single["cpu_ms_per_frame"] = 1000 * single["cpu_s"] / n_total
        rows.append(single)
        ref = {
            v.stem: _poses(tmp / "single" / f"{v.stem}.predictions.slp") for v in videos
        }
        print(
            f"single process: {single['fps']:.2f} frames/s, "
            f"{single['cpu_ms_per_frame']:.0f} ms CPU/frame",
            flush=True,
        )
        for w in [int(x) for x in args.workers.split(",")]:
            load.append(os.getloadavg())
            out = tmp / f"cluster{w}"
            row = on_cluster(models, videos, out, frames, w)
            row["config"] = f"LocalCluster {w} worker(s)"
            row["fps"] = n_total / row["seconds"]
            row["vs_single"] = row["fps"] / single["fps"]
            row["cpu_ms_per_frame"] = 1000 * row["cpu_s"] / n_total
            row["max_abs_diff_px"] = max(
                _max_diff(ref[v.stem], _poses(out / f"{v.stem}.predictions.slp"))
                for v in videos
            )
            rows.append(row)
            print(
                f"{row['config']}: {row['fps']:.2f} frames/s "
                f"({100 * row['vs_single']:.0f}% of single), "
                f"{row['cpu_ms_per_frame']:.0f} ms CPU/frame, max diff "
                f"{row['max_abs_diff_px']:.2g} px",
                flush=True,
            )
        # The box is shared: the single process again, to bracket load drift.
        again = single_process(models, videos, tmp / "single2", frames)
        again.update(config="single process (again)", fps=n_total / again["seconds"])
        again["cpu_ms_per_frame"] = 1000 * again["cpu_s"] / n_total
        rows.append(again)
        print(f"single process again: {again['fps']:.2f} frames/s", flush=True)
        load.append(os.getloadavg())
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "loadavg": load,
        "videos": args.copies,
        "frames_per_video": args.frames,
        "models": "top-down: centroid UNet f16 @0.25 + centered instance f24 144 px",
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"distributed-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
