"""Inference throughput and latency on the real 1024x1024 two-fly clip.

Measures, per pipeline and batch size:
  * end-to-end frames/s over a run of frames of ../shared/data/clip.mp4, decode
    included (the Predictor's reader thread, network, post-processing);
  * single-frame latency (frame in memory -> poses), median and p90;
  * peak resident memory of the process.

Models: by default tiny-but-realistic UNets built with nn.model.build_model
(untrained, seeded; peaks are forced by a very low threshold and max 2 instances
so the work per frame is that of two flies) at the sizes a fly model uses here:
top-down = centroid at input scale 0.25 + centered instance on 144 px crops;
bottom-up = input scale 0.5 with PAFs. ``--topdown DIR DIR`` / ``--bottomup DIR``
time trained model folders instead, and ``--sleap1`` adds SLEAP 1.x's trained
minimal top-down models (input scale 1.0, 96 px crops) as another row.

    .venv/bin/python bench/bench_inference.py [--frames 200] [--quick]
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
NODES = [
    "head", "thorax", "abdomen", "wingL", "wingR", "forelegL4", "forelegR4",
    "midlegL4", "midlegR4", "hindlegL4", "hindlegR4", "eyeL", "eyeR",
]  # fmt: skip
EDGES = [(1, 0), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8), (1, 9),
         (1, 10), (0, 11), (0, 12)]  # fmt: skip


def build_folder(root: Path, role: str, unet: dict, **info_kw) -> Path:
    """Save an untrained model folder exactly as training would write one."""
    import keras

    from napari_sleap.config.model import BackboneConfig, ModelConfig, UNetConfig
    from napari_sleap.nn.model import build_model
    from napari_sleap.nn.model_info import ModelInfo

    keras.utils.set_random_seed(0)
    info = ModelInfo(role=role, node_names=NODES, edges=EDGES, **info_kw)
    cfg = ModelConfig(backbone=BackboneConfig(unet=UNetConfig(**unet)))
    model = build_model(cfg, info)
    folder = root / role
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / info.keras_file)
    info.save(folder)
    return folder


def default_models(root: Path) -> dict[str, list[Path]]:
    """Top-down and bottom-up model folders at fly-sized settings."""
    centroid = build_folder(
        root,
        "centroid",
        dict(filters=16, max_stride=16, output_stride=4),
        input_scale=0.25,
    )
    centered = build_folder(
        root,
        "centered_instance",
        dict(filters=24, max_stride=16, output_stride=2),
        crop_size=144,
    )
    bottom_up = build_folder(
        root,
        "bottom_up",
        dict(filters=16, max_stride=16, output_stride=4),
        input_scale=0.5,
    )
    return {"top-down": [centroid, centered], "bottom-up": [bottom_up]}


def bench(
    name: str,
    dirs: list[Path],
    batch: int,
    n_frames: int,
    start: int,
    forced: bool,
    n_latency: int,
    xla: bool = False,
) -> dict:
    """Throughput and latency of one pipeline at one batch size."""
    from napari_sleap.infer.ops.paf import PafParams
    from napari_sleap.infer.predictor import Predictor, PredictorOptions
    from napari_sleap.io.video import open_video

    opts = PredictorOptions(batch_size=batch, max_instances=2, jit_compile=xla)
    if forced:
        # Untrained maps: take every local maximum as a peak, but group only
        # the 3 strongest per node, about what two trained flies give.
        opts.peak_threshold = -1e9
        opts.paf = PafParams(max_peaks_per_node=3)
    pred = Predictor.from_model_dirs(dirs, opts)
    reader = open_video(DATA / "clip.mp4")
    frames = reader.read_frames(range(start, start + batch))
    pred.layer(frames)  # trace and compile for this shape
    pred.layer(frames[:1])
    t0 = time.perf_counter()
    n_inst = 0
    inds = list(range(start, start + n_frames))
    for _, poses in pred.run(reader, inds):
        n_inst += sum(len(p) for p in poses)
    elapsed = time.perf_counter() - t0
    lat = []
    for i in range(n_latency):
        f = frames[i % len(frames)]
        t = time.perf_counter()
        pred.predict_frame(f)
        lat.append(time.perf_counter() - t)
    return {
        "pipeline": name,
        "models": [str(d) for d in dirs],
        "batch_size": batch,
        "xla": xla,
        "frames": n_frames,
        "seconds": elapsed,
        "fps": n_frames / elapsed,
        "instances_per_frame": n_inst / n_frames,
        "latency_ms_median": 1000 * float(np.median(lat)),
        "latency_ms_p90": 1000 * float(np.percentile(lat, 90)),
        "latency_samples": n_latency,
    }


def bench_stream(dirs: list[Path], n_frames: int, forced: bool, tmp: Path) -> dict:
    """predict() over a long run with parts on disk: time and peak memory."""
    from napari_sleap.infer.predict import predict
    from napari_sleap.infer.predictor import PredictorOptions

    opts = PredictorOptions(batch_size=1, max_instances=2)
    if forced:
        opts.peak_threshold = -1e9
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    out = tmp / "stream.slp"
    written = predict(
        dirs,
        DATA / "clip.mp4",
        out,
        frames=f"0-{n_frames - 1}",
        options=opts,
        chunk_frames=250,
        return_labels=False,
    )
    elapsed = time.perf_counter() - t0
    return {
        "pipeline": "top-down predict() to .slp",
        "frames": n_frames,
        "seconds": elapsed,
        "fps": n_frames / elapsed,
        "instances": written.instances,
        "slp_mb": out.stat().st_size / 2**20,
        "peak_rss_mb_before": rss0,
        "peak_rss_mb_after": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write bench/results/inference-<time>.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--start", type=int, default=1000, help="first frame (walking)")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--latency-samples", type=int, default=30)
    ap.add_argument("--topdown", nargs=2, metavar=("CENTROID", "CENTERED"))
    ap.add_argument("--bottomup", metavar="DIR")
    ap.add_argument("--sleap1", action="store_true", help="add SLEAP 1.x models")
    ap.add_argument("--quick", action="store_true", help="40 frames, 10 samples")
    ap.add_argument("--xla", action="store_true", help="compile with XLA")
    ap.add_argument(
        "--stream", type=int, default=0, help="also predict() N frames to .slp"
    )
    ap.add_argument("--only", help="run only pipelines whose name starts so")
    args = ap.parse_args(argv)
    if not (DATA / "clip.mp4").exists():
        print(f"{DATA / 'clip.mp4'} not found: shared data missing", file=sys.stderr)
        return 1
    if args.quick:
        args.frames, args.latency_samples = 40, 10
    # On a busy shared box a slow run is hard to tell from a hung one.
    faulthandler.dump_traceback_later(600, repeat=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    load_start = os.getloadavg()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        models: dict[str, tuple[list[Path], bool]] = {}
        built = default_models(Path(tmp))
        models["top-down"] = (
            ([Path(p) for p in args.topdown], False)
            if args.topdown
            else (built["top-down"], True)
        )
        models["bottom-up"] = (
            ([Path(args.bottomup)], False)
            if args.bottomup
            else (built["bottom-up"], True)
        )
        if args.sleap1:
            s1 = DATA / "sleap1_models"
            models["top-down (SLEAP 1.x minimal models)"] = (
                [
                    s1 / "minimal_instance.UNet.centroid",
                    s1 / "minimal_instance.UNet.centered_instance",
                ],
                False,
            )
        for name, (dirs, forced) in models.items():
            if args.only and not name.startswith(args.only):
                continue
            for b in [int(x) for x in args.batches.split(",")]:
                r = bench(
                    name,
                    dirs,
                    b,
                    args.frames,
                    args.start,
                    forced,
                    args.latency_samples,
                    args.xla,
                )
                r["untrained_forced_peaks"] = forced
                runs.append(r)
                print(
                    f"{name:40s} batch {b}{' xla' if args.xla else ''}: "
                    f"{r['fps']:.1f} frames/s, latency "
                    f"median {r['latency_ms_median']:.0f} ms "
                    f"(p90 {r['latency_ms_p90']:.0f}), "
                    f"{r['instances_per_frame']:.1f} inst/frame",
                    flush=True,
                )
        if args.stream:
            dirs, forced = models["top-down"]
            r = bench_stream(dirs, args.stream, forced, Path(tmp))
            runs.append(r)
            print(
                f"predict() {args.stream} frames -> .slp: {r['fps']:.1f} frames/s, "
                f"peak RSS {r['peak_rss_mb_before']:.0f} -> "
                f"{r['peak_rss_mb_after']:.0f} MB",
                flush=True,
            )
    out = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "loadavg_start": load_start,
        "loadavg_end": os.getloadavg(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tensorflow": tf.__version__,
        "video": str(DATA / "clip.mp4"),
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"inference-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(out, indent=2))
    print(f"wrote {path} (load average {out['loadavg_end']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
