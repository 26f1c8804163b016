"""Where the portable top-down's time goes, stage by stage, at batch 1 and 8.

One process, TensorFlow backend, the trained fly top-down (``out/fly_topdown``)
on frames 1150.. of clip.mp4 in memory. Each stage is compiled as its own
cumulative graph (frames -> preprocessing -> centroid model -> peaks -> crops
-> centered model -> the whole batch function) and the stages' calls are
interleaved, so the box's load hits them alike; a stage's own cost is its
difference to the one before. Host parts are timed around the same calls:
decode alone (sequential, the reader thread's work), the host split
(``postprocess``), and the Python around the compiled call (``forward`` minus
the call). ``--variants`` also times the preprocessing variants in
:mod:`napari_sleap.infer.portable.prep` side by side.

    nice -n 10 .venv/bin/python bench/bench_portable_profile.py --batches 1,8
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
FIRST = 1150  # never beyond 1249


def stage_graphs(layer, k: int, fused: bool) -> dict:
    """Cumulative graphs of the top-down batch function, each ending in a sum."""
    from keras import ops

    from napari_sleap.infer.portable import crops as C
    from napari_sleap.infer.portable import graphs as G
    from napari_sleap.infer.portable import peaks as P
    from napari_sleap.infer.portable import prep

    c_info, i_info = (m.info for m in layer.models)
    size = int(i_info.crop_size)
    params = layer.peaks

    def upto(stage: str):
        def graph(run, frames):
            out = {"frames": ops.sum(ops.cast(frames[:, :8, :8], "float32"))}
            if stage == "transfer":
                return out
            if fused:
                x_in = prep.prepare_frames(frames, c_info)
            else:
                x = prep.to_float(frames)
                x_in = prep.prepare(x, c_info)
            out["prep"] = ops.sum(x_in)
            if stage == "prep":
                return out
            cout = run("centroid", x_in)
            cms = cout["confmaps"][..., :1]
            out["cms"] = ops.sum(cms)
            if stage == "centroid":
                return out
            stride = G._stride(c_info)
            idx, _, _, _ = P.local_peaks(cms, params.threshold, k)
            cpts = P.refined_points(cms, idx, params.refinement, None, stride)
            centers = cpts[:, 0] * (stride / float(c_info.input_scale))
            offsets = C.crop_offsets(centers, size, layer.convention)
            out["centers"] = ops.sum(ops.where(ops.isnan(centers), 0.0, centers))
            if stage == "peaks":
                return out
            if fused:
                crops = C.gather_crops_uint8(frames, offsets, size)
            else:
                crops = C.gather_crops(x, offsets, size, bilinear=False)
            cin = prep.prepare(crops, i_info)
            out["crops"] = ops.sum(cin)
            if stage == "crops":
                return out
            iout = run("instance", cin)
            out["icms"] = ops.sum(iout["confmaps"])
            return out

        return graph

    return {
        s: upto(s)
        for s in ("transfer", "prep", "centroid", "peaks", "crops", "instance")
    }


def timed(fn, *args) -> tuple[float, float]:
    """Wall and process CPU milliseconds of one call (CPU time: all threads)."""
    t, c = time.perf_counter(), time.process_time()
    fn(*args)
    return 1000 * (time.perf_counter() - t), 1000 * (time.process_time() - c)


def profile(batch: int, frames: np.ndarray, args) -> dict:
    """Milliseconds per batch of every stage and host part (medians)."""
    from napari_sleap.infer.portable import load_portable
    from napari_sleap.infer.portable.compiled import Compiled

    dirs = [str(Path(args.models) / r) for r in ("centroid", "centered_instance")]
    pipe = load_portable(
        dirs, batch_size=batch, max_instances=2, mixed_precision=args.precision
    )
    layer = pipe.layer
    fused_opts = [False, True] if args.variants else [False]
    calls = {}
    for fused in fused_opts:
        tag = "fused_" if fused else ""
        for name, g in stage_graphs(layer, layer.slots, fused).items():
            calls[tag + name] = Compiled(layer._keras, g, layer.jit_compile)
    full = layer.compiled(layer.slots, *frames.shape[1:3])
    if args.variants:  # the whole batch function on the float-frame path
        layer.fused = False
        calls["full_unfused"] = Compiled(
            layer._keras, layer._graph(layer.slots, 0, 0), layer.jit_compile
        )
        layer.fused = True
    batches = [frames[i : i + batch] for i in range(0, args.frames, batch)]
    for b in batches[:2]:  # compile everything
        for c in calls.values():
            c(b)
        layer.postprocess(layer.forward(b))
    names = [*calls, "full", "forward", "post"]
    times: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    for _ in range(args.repeats):
        for b in batches:
            for name, c in calls.items():
                times[name].append(timed(c, b))
            times["full"].append(timed(full, b))
            raw: dict = {}
            times["forward"].append(timed(_forward_into, layer, b, raw))
            times["post"].append(timed(layer.postprocess, raw))
    res = {"batch": batch, "traces_of_full": _traces(full)}
    order = ["transfer", "prep", "centroid", "peaks", "crops", "instance"]
    for which, col in (("wall", 0), ("cpu", 1)):
        med = {n: statistics.median(t[col] for t in v) for n, v in times.items()}
        own = {}
        for tag in ["", "fused_"] if args.variants else [""]:
            prev = 0.0
            for s in order:
                own[f"{tag}{s}"] = med[tag + s] - prev
                prev = med[tag + s]
        own["rest_of_full"] = med["full"] - med["instance"]
        own["python_in_forward"] = med["forward"] - med["full"]
        own["host_split"] = med["post"]
        res[f"{which}_median_ms"], res[f"{which}_own_ms"] = med, own
    return res


def _forward_into(layer, batch: np.ndarray, raw: dict) -> None:
    raw.update(layer.forward(batch))


def _traces(compiled) -> int | None:
    """How often the compiled function was traced (TensorFlow; 1 = no retracing)."""
    fn = getattr(compiled, "_fn", None)
    get = getattr(fn, "experimental_get_tracing_count", None)
    return get() if get else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="?", default=str(ROOT / "out" / "fly_topdown"))
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--precision", default="bfloat16")
    ap.add_argument("--variants", action="store_true", help="fused preprocessing too")
    ap.add_argument("--tag", default="")
    args = ap.parse_args()
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from napari_sleap.io.video import open_video

    load0 = os.getloadavg()
    reader = open_video(DATA / "clip.mp4")
    t = time.perf_counter()
    frames = reader.read_frames(range(FIRST, FIRST + args.frames))
    decode_fps = args.frames / (time.perf_counter() - t)
    if frames.ndim == 3:
        frames = frames[..., None]
    runs = [profile(int(b), frames, args) for b in args.batches.split(",")]
    for r in runs:
        for which in ("wall", "cpu"):
            own, med = r[f"{which}_own_ms"], r[f"{which}_median_ms"]
            parts = ", ".join(f"{k} {v:.1f}" for k, v in own.items())
            print(
                f"batch {r['batch']} {which}: full {med['full']:.1f} ms/batch "
                f"(traced {r['traces_of_full']}x); {parts}"
            )
    print(f"decode alone {decode_fps:.0f} frames/s ({1000 / decode_fps:.1f} ms/frame)")
    doc = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.node()} ({os.cpu_count()} cores)",
        "command": "bench/bench_portable_profile.py " + " ".join(sys.argv[1:]),
        "precision": args.precision,
        "decode_fps": decode_fps,
        "loadavg_start": load0,
        "loadavg_end": os.getloadavg(),
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"portable_profile{args.tag}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(doc, indent=1))
    print(f"wrote {path} (load {load0} -> {doc['loadavg_end']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
