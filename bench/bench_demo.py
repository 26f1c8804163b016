"""How long ``make demo`` takes from scratch, and what it scores.

``xvfb-run -a .venv/bin/python bench/bench_demo.py`` runs the demo with
``--fresh`` into ``out/bench_demo`` (its own process, as ``make demo`` does),
then writes ``bench/results/demo.json``: wall time of the whole run and of each
step, training steps/s and CPU time, and the demo's figures (OKS mAP, node
error percentiles, ID switches, IDF1). The box's load average before and after
is recorded, because on a shared machine the wall times mostly measure it.
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

ROOT = Path(__file__).resolve().parents[1]
MACHINE = "cpu2 (2-core dev box, shared/busy)"


def main() -> int:
    """Run the demo once and record its timings and figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench_demo")
    parser.add_argument("--quick", action="store_true", help="the --quick demo")
    parser.add_argument(
        "--results", type=Path, default=ROOT / "bench" / "results" / "demo.json"
    )
    args = parser.parse_args()
    cmd = [sys.executable, "-m", "napari_sleap.demo", "--fresh", "--out", str(args.out)]
    if args.quick:
        cmd.append("--quick")
    load_before = os.getloadavg()
    start = time.monotonic()
    subprocess.run(cmd, check=True, cwd=ROOT)
    wall = time.monotonic() - start
    summary = json.loads((args.out / "summary.json").read_text())
    res = summary["results"]
    train = res["train"]
    record = {
        "machine": MACHINE,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
        "command": " ".join(["python", *cmd[1:]]),
        "wall_s": round(wall, 1),
        "steps_s": {s["name"]: s["seconds"] for s in summary["steps"]},
        "train": {
            "seconds": train["seconds"],
            "cpu_seconds": train.get("cpu_seconds"),
            "models": {
                role: {k: m[k] for k in ("steps", "steps_per_s", "input_scale")}
                for role, m in train["models"].items()
            },
        },
        "predict_frames_per_s": res["predict"]["frames_per_s"],
        "track_ms_per_frame": res["track"]["ms_per_frame"],
        "figures": {
            k: res["evaluate"][k]
            for k in ("oks_map", "oks_mar", "error_px", "id_switches", "idf1", "mota")
        },
        "detection_recall": res["evaluate"]["detection"]["recall"],
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.results.with_name(f".{args.results.name}.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, args.results)
    print(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
