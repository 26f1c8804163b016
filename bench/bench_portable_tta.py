"""Test-time augmentation: portable engine vs predictor, side by side, one run.

Each variant runs in a fresh process (TensorFlow backend) on the fly top-down
model over frames 1150..1249 of ``../shared/data/clip.mp4`` (never 1250..1499),
at one batch size. Per variant: CPU seconds (process time, all threads) and wall
seconds of the network part on frames in memory (``layer.forward`` +
``postprocess``) and of ``run()`` streaming from the video; then the largest and
median point difference of each variant's poses to the first variant with the
same tta mode on the other engine (a sanity check that they agree); with
``--score`` also OKS mAP on the 80 validation frames of 1150..1249
(``bench_portable.score``).

    nice -n 10 .venv/bin/python bench/bench_portable_tta.py out/p7/tov --score

Variants are ``engine:tta[:precision]`` (default: portable none, portable flip,
predictor flip in float32, and portable flip in bfloat16, what ``predict --tta
flip`` picks on a CPU with AMX). Writes ``bench/results/portable_tta<tag>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
FIRST, STOP = 1150, 1250  # never beyond 1249
VARIANTS = (
    "portable:none",
    "portable:flip",
    "predictor:flip",
    "portable:flip:bfloat16",
)


def _load(engine: str, tta: str, precision: str, dirs: list[str], batch: int):
    kw = {"batch_size": batch, "max_instances": 2, "tta": tta}
    if engine == "predictor":
        from napari_sleap.infer import load_predictor

        return load_predictor(dirs, **kw)
    from napari_sleap.infer.portable import load_portable

    mixed = False if precision == "float32" else precision
    return load_portable(dirs, mixed_precision=mixed, **kw).predictor


def _timed(fn) -> tuple[float, float]:
    """(wall s, process CPU s) of one call."""
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def worker(args: argparse.Namespace) -> int:
    """Time one variant; write its numbers and poses as JSON to ``args.out``."""
    from napari_sleap.io.video import open_video

    engine, tta, *rest = args.worker.split(":")
    precision = rest[0] if rest else "float32"
    dirs = [str(Path(args.models) / r) for r in ("centroid", "centered_instance")]
    frames = open_video(DATA / "clip.mp4").read_frames(range(FIRST, STOP))
    if frames.ndim == 3:
        frames = frames[..., None]
    b = args.batch
    t0 = time.perf_counter()
    pred = _load(engine, tta, precision, dirs, b)
    load_s = time.perf_counter() - t0
    warm_s, _ = _timed(lambda: pred.warmup(*frames.shape[1:]))

    def device() -> None:
        for i in range(0, len(frames), b):
            pred.layer.postprocess(pred.layer.forward(frames[i : i + b]))

    device_runs = [_timed(device) for _ in range(args.repeat)]
    device_wall = min(w for w, _ in device_runs)
    device_cpu = min(c for _, c in device_runs)
    poses: dict[int, tuple] = {}

    def stream() -> None:
        reader = open_video(DATA / "clip.mp4")
        for inds, batch in pred.run(reader, list(range(FIRST, STOP))):
            for f, p in zip(inds, batch, strict=True):
                poses[int(f)] = (p.points.tolist(), p.instance_scores.tolist())

    e2e_wall, e2e_cpu = _timed(stream)
    res = {
        "variant": args.worker,
        "batch_size": b,
        "frames": len(frames),
        "load_s": load_s,
        "warmup_s": warm_s,
        "device_wall_s": device_wall,
        "device_cpu_s": device_cpu,
        "device_runs": device_runs,
        "e2e_wall_s": e2e_wall,
        "e2e_cpu_s": e2e_cpu,
        "poses": poses,
    }
    print(
        f"{args.worker:24s} device {device_wall:5.2f} s wall, {device_cpu:5.2f} s "
        f"CPU; e2e {e2e_wall:5.2f} s wall, {e2e_cpu:5.2f} s CPU",
        file=sys.stderr,
        flush=True,
    )
    Path(args.out).write_text(json.dumps(res))
    return 0


def diff(a: dict, b: dict) -> dict:
    """Largest and median point difference (px) of two runs (frames with the
    same instance count and missing nodes; sorted by first point's x)."""
    d, skipped = [], 0
    for f in a:
        pa, pb = np.asarray(a[f][0], float), np.asarray(b[f][0], float)
        if pa.shape != pb.shape:
            skipped += 1
            continue
        if pa.size:
            pa = pa[np.argsort(np.nan_to_num(pa[:, :, 0]).mean(1))]
            pb = pb[np.argsort(np.nan_to_num(pb[:, :, 0]).mean(1))]
            d.extend(np.abs(pa - pb)[~np.isnan(pa - pb)].ravel().tolist())
    return {
        "max_px": float(max(d, default=0.0)),
        "median_px": float(np.median(d)) if d else 0.0,
        "coords_over_1px": int(np.sum(np.asarray(d) > 1.0)),
        "coords": len(d),
        "frames_count_differs": skipped,
    }


def main(argv: list[str] | None = None) -> int:
    """Run every variant in its own process, compare poses, write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="?", default=str(ROOT / "out" / "p7" / "tov"))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--tag", default="", help="suffix of the result file name")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--repeat", type=int, default=3, help="device passes (best)")
    ap.add_argument(
        "--score",
        action="store_true",
        help="OKS mAP on the validation frames of 1150..1249 (bench_portable)",
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    load0 = os.getloadavg()
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    results = []
    for spec in args.variants.split(","):
        out = Path(f"/tmp/bench_portable_tta_{os.getpid()}_{len(results)}.json")
        cmd = [sys.executable, __file__, args.models, "--batch", str(args.batch)]
        cmd += ["--repeat", str(args.repeat)]
        subprocess.run([*cmd, "--worker", spec, "--out", str(out)], env=env, check=True)
        results.append(json.loads(out.read_text()))
        out.unlink()
    poses = {r["variant"]: r.pop("poses") for r in results}
    base = results[0]
    for r in results:
        r["vs_first"] = diff(poses[base["variant"]], poses[r["variant"]])
        if args.score:
            from bench_portable import score

            r["accuracy"] = score(poses[r["variant"]])
        r["cpu_vs_first"] = r["device_cpu_s"] / base["device_cpu_s"]
        r["wall_vs_first"] = r["device_wall_s"] / base["device_wall_s"]
        engine, tta = r["variant"].split(":")[:2]
        other = [
            v
            for v in poses
            if v.split(":")[1] == tta
            and v.split(":")[0] != engine
            and v != r["variant"]
        ]
        if other:  # the same tta mode on the other engine
            r["vs_other_engine"] = {"variant": other[0]}
            r["vs_other_engine"].update(diff(poses[other[0]], poses[r["variant"]]))
        print(
            f"{r['variant']:24s} device {r['device_wall_s']:5.2f} s wall "
            f"(x{r['wall_vs_first']:.2f}), {r['device_cpu_s']:5.2f} s CPU "
            f"(x{r['cpu_vs_first']:.2f}); e2e {r['e2e_wall_s']:5.2f} s wall, "
            f"{r['e2e_cpu_s']:5.2f} s CPU; vs other engine "
            f"{r.get('vs_other_engine')}; accuracy {r.get('accuracy')}"
        )
    doc = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.node()} ({os.cpu_count()} cores)",
        "command": "bench/bench_portable_tta.py " + " ".join(argv or sys.argv[1:]),
        "models": args.models,
        "frames": [FIRST, STOP - 1],
        "loadavg_start": load0,
        "loadavg_end": os.getloadavg(),
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"portable_tta{args.tag}.json"
    path.write_text(json.dumps(doc, indent=1))
    print(f"wrote {path} (load {load0} -> {doc['loadavg_end']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
