"""Figures for the synthetic sample and the job runner.

``.venv/bin/python bench/bench_sample_jobs.py`` writes
``bench/results/sample_jobs.json``: how long the default sample takes to make
(poses, frames, encoding, labels), how fast it decodes, and the job runner's
costs (spawn to first event, a trivial job end to end, stop latency for a job that
checks its flag and for one that must be terminated, a TensorFlow job round trip).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from napari_sleap.jobs import start_job  # noqa: E402
from napari_sleap.sample import (  # noqa: E402
    make_sample,
    render_video,
    simulate_poses,
)

MACHINE = "cpu2 (2-core dev box, shared/busy)"


def bench_sample(n_frames: int, size: int) -> dict:
    t0 = time.perf_counter()
    poses = simulate_poses(n_frames, size, 0)
    t1 = time.perf_counter()
    for _ in render_video(poses, size, 0):
        pass
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        t3 = time.perf_counter()
        paths = make_sample(tmp, n_frames=n_frames, size=size)
        t4 = time.perf_counter()
        import imageio_ffmpeg

        gen = imageio_ffmpeg.read_frames(str(paths.video), pix_fmt="gray", bpp=1)
        next(gen)
        n = sum(1 for _ in gen)
        t5 = time.perf_counter()
        sizes = {p.name: p.stat().st_size for p in Path(tmp).iterdir()}
    return {
        "n_frames": n_frames,
        "size": size,
        "poses_s": round(t1 - t0, 3),
        "render_s": round(t2 - t1, 3),
        "make_sample_s": round(t4 - t3, 3),
        "decode_fps": round(n / (t5 - t4), 1),
        "file_bytes": sizes,
    }


def _first_event_and_end(target: str, kwargs: dict) -> tuple[float, float]:
    start = time.perf_counter()
    handle = start_job(target, kwargs)
    first = None
    while not handle.done:
        if handle.poll() and first is None:
            first = time.perf_counter() - start
        time.sleep(0.005)
    return first or float("nan"), time.perf_counter() - start


def _stop_latency(honour: bool) -> float:
    handle = start_job(
        "napari_sleap.jobs.selftest:idle",
        {"seconds": 600, "steps": 60000, "honour_stop": honour},
    )
    while not handle.logs:
        handle.poll()
        time.sleep(0.01)
    start = time.perf_counter()
    handle.stop(grace_s=1.0)
    handle.wait(30, interval=0.005)
    return time.perf_counter() - start


def bench_jobs(repeat: int) -> dict:
    idle = [
        _first_event_and_end(
            "napari_sleap.jobs.selftest:idle", {"seconds": 0, "steps": 1}
        )
        for _ in range(repeat)
    ]
    tf = [
        _first_event_and_end("napari_sleap.jobs.selftest:tensorflow_probe", {})
        for _ in range(max(1, repeat // 2))
    ]
    return {
        "spawn_to_first_event_s": round(statistics.median(f for f, _ in idle), 3),
        "trivial_job_total_s": round(statistics.median(e for _, e in idle), 3),
        "tensorflow_job_total_s": round(statistics.median(e for _, e in tf), 3),
        "stop_checking_flag_s": round(
            statistics.median(_stop_latency(True) for _ in range(repeat)), 3
        ),
        "stop_terminated_after_1s_grace_s": round(_stop_latency(False), 3),
        "repeat": repeat,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench/results/sample_jobs.json"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": MACHINE,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "loadavg_before": load_before,
        "sample": bench_sample(args.frames, args.size),
        "jobs": bench_jobs(args.repeat),
        "loadavg_after": os.getloadavg(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1, default=float))
    os.replace(tmp, args.out)
    print(json.dumps(result, indent=1, default=float))
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
