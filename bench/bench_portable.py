"""Current predictor vs portable inference (TF, JAX[, torch]) side by side, one run.

Each engine/backend runs in a fresh subprocess (``KERAS_BACKEND`` must be set
before Keras is imported) on the trained fly top-down model, frames 1150..1249
of ``../shared/data/clip.mp4`` (never 1250..1499). Per engine and batch size:

* ``device``: frames/s of the network part on frames already in memory
  (current predictor: ``layer.forward``, i.e. models + host peaks + crops;
  portable: the one compiled function: preprocessing, models, peaks, crops);
* ``e2e``: frames/s of ``run()`` streaming from the video (decode thread,
  network, post-processing);
* single-frame latency (``predict_frame``, frame in memory), median and p99;
* accuracy of the e2e poses on the 80 proofread frames of 1150..1249 that are
  not training frames (OKS mAP, node error p90), and the largest point
  difference to the current predictor.

    .venv/bin/python bench/bench_portable.py [MODEL_DIR] [--batches 1,8]

The final comparison of the default engine (issue 16's CPU goal)::

    nice -n 10 .venv/bin/python bench/bench_portable.py --batches 1,8 \
        --latency 60 --engines predictor:tensorflow,auto:tensorflow

``portable:torch`` runs in the python named by ``NAPARI_SLEAP_TORCH_PYTHON``
when set (an environment with torch and Keras; torch is not a project extra).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
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
#: ``engine:backend[:precision][:unfused][:ENV=value...]``; bfloat16 is measured
#: separately (it changes poses). ``auto`` is what ``predict`` runs by default
#: (engine_choice); ``unfused`` the float-frame preprocessing of the portable
#: top-down; ``ENV=value`` set in that engine's process (thread settings).
ENGINES = ("predictor:tensorflow", "portable:tensorflow", "portable:jax")
#: A python with torch + Keras for ``portable:torch`` (else this one).
TORCH_PYTHON = "NAPARI_SLEAP_TORCH_PYTHON"


def _decode() -> tuple[np.ndarray, float]:
    from napari_sleap.io.video import open_video

    reader = open_video(DATA / "clip.mp4")
    t0 = time.perf_counter()
    frames = reader.read_frames(range(FIRST, STOP))
    dt = time.perf_counter() - t0
    if frames.ndim == 3:
        frames = frames[..., None]
    return frames, len(frames) / dt


def _load(engine: str, dirs: list[str], batch: int, args: argparse.Namespace):
    if engine == "auto":  # what predict runs by default on this machine
        from napari_sleap.infer.engine_choice import load_chosen
        from napari_sleap.infer.predictor import PredictorOptions

        options = PredictorOptions(batch_size=batch, max_instances=args.max_instances)
        pred, choice = load_chosen(dirs, options)
        args.choice = choice.describe()
        return pred
    if engine == "predictor":
        from napari_sleap.infer import load_predictor

        return load_predictor(dirs, batch_size=batch, max_instances=args.max_instances)
    from napari_sleap.infer.portable import load_portable

    pipe = load_portable(
        dirs,
        batch_size=batch,
        max_instances=args.max_instances,
        mixed_precision=args.precision or args.mixed_precision,
        jit_compile=args.xla,
    )
    pipe.layer.fused = not args.unfused
    return pipe.predictor


def worker(args: argparse.Namespace) -> int:
    """Measure one engine on the active backend; write JSON to ``args.out``."""
    import keras

    from napari_sleap.io.video import open_video

    engine = args.worker
    dirs = [
        str(Path(args.models) / "centroid"),
        str(Path(args.models) / "centered_instance"),
    ]
    frames, decode_fps = _decode()
    res: dict = {"engine": engine, "backend": keras.backend.backend(), "runs": []}
    res["precision"] = args.precision or (
        "float16" if args.mixed_precision else "float32"
    )
    res["decode_fps"] = decode_fps
    res["variant"] = args.variant
    for b in [int(x) for x in args.batches.split(",")]:
        t0 = time.perf_counter()
        pred = _load(engine, dirs, b, args)
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pred.warmup(*frames.shape[1:])
        for i in range(3):
            pred.predict_frame(frames[i])
        compile_s = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(0, len(frames), b):
            pred.layer.forward(frames[i : i + b])
        device_fps = len(frames) / (time.perf_counter() - t0)
        # process CPU time (all threads): less sensitive to the box's load
        device_cpu_ms = 1000 * (time.process_time() - c0) / len(frames)
        reader = open_video(DATA / "clip.mp4")
        poses = {}
        t0 = time.perf_counter()
        for inds, batch in pred.run(reader, list(range(FIRST, STOP))):
            for f, p in zip(inds, batch, strict=True):
                poses[f] = (p.points.tolist(), p.instance_scores.tolist())
        e2e_fps = len(frames) / (time.perf_counter() - t0)
        lat, lat_cpu = [], []
        for i in range(args.latency):
            t, c = time.perf_counter(), time.process_time()
            pred.predict_frame(frames[i % len(frames)])
            lat.append(1000 * (time.perf_counter() - t))
            lat_cpu.append(1000 * (time.process_time() - c))
        run = {
            "batch_size": b,
            "load_s": load_s,
            "compile_s": compile_s,
            "device_fps": device_fps,
            "e2e_fps": e2e_fps,
            "latency_ms_median": statistics.median(lat),
            "latency_ms_p99": float(np.percentile(lat, 99)),
            "latency_samples": len(lat),
            "device_cpu_ms_per_frame": device_cpu_ms,
            "latency_cpu_ms_median": statistics.median(lat_cpu),
            "poses": poses,
        }
        res["runs"].append(run)
        print(
            f"{engine}:{res['backend']} batch {b}: device {device_fps:.1f} f/s, "
            f"e2e {e2e_fps:.1f} f/s, latency {run['latency_ms_median']:.0f} ms "
            f"(p99 {run['latency_ms_p99']:.0f})",
            file=sys.stderr,
            flush=True,
        )
    res["tensorflow_imported"] = "tensorflow" in sys.modules
    res["choice"] = getattr(args, "choice", None)
    Path(args.out).write_text(json.dumps(res))
    return 0


def score(poses: dict) -> dict:
    """OKS mAP and node error of poses on the validation frames of 1150..1249."""
    import sleap_io as sio
    from bench_fly_contact import frame_pairs, user_points

    from napari_sleap.evaluate.breakdown import breakdown

    gt_labels = sio.load_slp(str(DATA / "clip_0-1249.slp"))
    train = {int(lf.frame_idx) for lf in sio.load_slp(str(DATA / "clip_train.slp"))}
    names = list(gt_labels.skeletons[0].node_names)
    gt = user_points(gt_labels, set(range(FIRST, STOP)))
    val = sorted(f for f in gt if f not in train)
    pr = {
        int(f): (np.asarray(p, float).reshape(-1, len(names), 2), np.asarray(s))
        for f, (p, s) in poses.items()
    }
    rep = breakdown(frame_pairs(gt, pr, val), names)["all"]
    return {
        "frames": len(val),
        "oks_map": rep["oks_map"],
        "error_p90": rep["error_p90"],
        "pck": rep["pck"],
    }


def max_diff(a: dict, b: dict) -> float | None:
    """Largest point difference (px) between two runs' poses (None: counts differ)."""
    worst = 0.0
    for f in a:
        pa, pb = np.asarray(a[f][0], float), np.asarray(b[f][0], float)
        if pa.shape != pb.shape or not np.array_equal(np.isnan(pa), np.isnan(pb)):
            return None
        if pa.size:
            worst = max(worst, float(np.nanmax(np.abs(pa - pb), initial=0.0)))
    return worst


def main(argv: list[str] | None = None) -> int:
    """Run every engine in its own process, score, write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="?", default=str(ROOT / "out" / "fly_topdown"))
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--latency", type=int, default=60)
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--max-instances", type=int, default=2)
    ap.add_argument("--frames", type=int, default=100, help="from 1150 (at most 100)")
    ap.add_argument("--mixed-precision", action="store_true")
    ap.add_argument("--xla", action="store_true", help="jit_compile on TF")
    ap.add_argument("--precision", help=argparse.SUPPRESS)
    ap.add_argument("--unfused", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--variant", default="", help=argparse.SUPPRESS)
    ap.add_argument("--tag", default="")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    global STOP
    STOP = FIRST + min(max(args.frames, 8), 100)  # never beyond 1249
    if args.worker:
        return worker(args)
    load0 = os.getloadavg()
    results = []
    for spec in args.engines.split(","):
        engine, backend, *extra = spec.split(":")
        envs = dict(e.split("=", 1) for e in extra if "=" in e)
        words = [e for e in extra if "=" not in e]
        prec = [w for w in words if w != "unfused"]
        out = Path(f"/tmp/bench_portable_{os.getpid()}_{engine}_{backend}.json")
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
        env.update(envs)
        python = sys.executable
        if backend == "torch" and os.environ.get(TORCH_PYTHON):
            python = os.environ[TORCH_PYTHON]  # run this checkout's code there
            env["PYTHONPATH"] = os.pathsep.join(
                [str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])]
            )
        cmd = [
            python,
            __file__,
            args.models,
            "--worker",
            engine,
            "--out",
            str(out),
        ]
        for flag in ("batches", "latency", "max_instances", "frames"):
            cmd += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
        cmd += ["--mixed-precision"] * args.mixed_precision + ["--xla"] * args.xla
        cmd += ["--precision", prec[0]] if prec else []
        cmd += ["--unfused"] * ("unfused" in words) + ["--variant", spec]
        subprocess.run(cmd, env=env, check=True)
        results.append(json.loads(out.read_text()))
        out.unlink()
    ref = {r["batch_size"]: r["poses"] for r in results[0]["runs"]}
    for res in results:
        for run in res["runs"]:
            poses = run.pop("poses")
            run["accuracy"] = score(poses)
            run["max_px_vs_first"] = max_diff(ref[run["batch_size"]], poses)
            print(
                f"{res['variant']:30s} "
                f"batch {run['batch_size']}: "
                f"device {run['device_fps']:5.1f} f/s, e2e {run['e2e_fps']:5.1f} f/s, "
                f"latency {run['latency_ms_median']:4.0f} ms (p99 "
                f"{run['latency_ms_p99']:4.0f}); mAP {run['accuracy']['oks_map']:.3f}, "
                f"p90 {run['accuracy']['error_p90']:.2f} px; max diff "
                f"{run['max_px_vs_first']} px; decode {res['decode_fps']:.0f} f/s; "
                f"CPU ms/frame device {run.get('device_cpu_ms_per_frame', 0):.1f}, "
                f"latency {run.get('latency_cpu_ms_median', 0):.1f}"
            )
    doc = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.node()} ({os.cpu_count()} cores)",
        "command": "bench/bench_portable.py " + " ".join(argv or sys.argv[1:]),
        "models": args.models,
        "frames": [FIRST, STOP - 1],
        "loadavg_start": load0,
        "loadavg_end": os.getloadavg(),
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"portable{args.tag}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(doc, indent=1))
    print(f"wrote {path} (load {load0} -> {doc['loadavg_end']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
