"""Compile/precision options of the portable engine: device time per batch, one process.

Loads the trained fly top-down once per option (float32 / bfloat16, with and
without XLA ``jit_compile``) on the TensorFlow backend and times the compiled
batch function alone (frames 1150..1157 of clip.mp4 in memory), calls
interleaved so the box's load hits every option alike; also the largest point
difference each XLA variant makes to its plain twin.

    .venv/bin/python bench/bench_portable_options.py [MODEL_DIR] [--repeats 5]
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="?", default=str(ROOT / "out" / "fly_topdown"))
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from napari_sleap.infer.portable import load_portable
    from napari_sleap.io.video import open_video

    frames = open_video(DATA / "clip.mp4").read_frames(range(1150, 1158))
    if frames.ndim == 3:
        frames = frames[..., None]
    dirs = [str(Path(args.models) / r) for r in ("centroid", "centered_instance")]
    load0 = os.getloadavg()
    pipes = {
        (mp, xla): load_portable(
            dirs, batch_size=8, max_instances=2, mixed_precision=mp, jit_compile=xla
        )
        for mp in (False, "bfloat16")
        for xla in (False, True)
    }
    rows = []
    for b in (1, 8):
        x = frames[:b]
        pts = {k: p.predict_arrays(x)[0] for k, p in pipes.items()}
        times: dict = {k: [] for k in pipes}
        for _ in range(args.repeats):
            for k, p in pipes.items():
                t = time.perf_counter()
                p.layer.forward(x)
                times[k].append(time.perf_counter() - t)
        for (mp, xla), ts in times.items():
            row = {
                "batch_size": b,
                "precision": mp or "float32",
                "xla": xla,
                "ms_median": 1000 * statistics.median(ts),
                "ms_min": 1000 * min(ts),
                "device_fps": b / statistics.median(ts),
                "max_px_vs_no_xla": float(
                    np.nanmax(np.abs(pts[(mp, xla)] - pts[(mp, False)]))
                ),
            }
            rows.append(row)
            print(
                f"batch {b} {row['precision']:8s} xla={xla!s:5s}: "
                f"{row['ms_median']:6.0f} ms ({row['device_fps']:.1f} frames/s), "
                f"vs no-xla {row['max_px_vs_no_xla']:.2g} px",
                flush=True,
            )
    out = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.node()} ({os.cpu_count()} cores)",
        "command": "bench/bench_portable_options.py " + " ".join(sys.argv[1:]),
        "loadavg_start": load0,
        "loadavg_end": os.getloadavg(),
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"portable_options-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path} (load {load0} -> {out['loadavg_end']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
