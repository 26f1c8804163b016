"""Device check: inference speed of the fly models on whatever backends a machine has.

Made for a GPU machine without TensorFlow, network or a way to install anything
(docs/device_check.md): run through ``bench/device_check.sh``, which installs the
carried Keras wheels first. Writes ONE JSON (``--out``/device_check.json) with
the GPU's name, decoding alone, and per backend (jax, torch; tensorflow where
present) frames/s at each batch size and single-frame latency (median, p99) for
top-down and bottom-up, model-only and end to end with decode, float32 and
mixed precision; plus ``device_check.md``, one docs/benchmarks.md line per figure.

Each backend runs in its own process (Keras fixes its backend at import) with a
share of the time budget and a hard timeout; a backend that fails or hangs is
recorded with its error and the next one runs.

    python bench/device_check.py --out OUT [--budget 240] [--batches 1,8,32,64]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from device_check_frames import clip_length, decode_rate  # noqa: E402

SCHEMA = "napari-sleap-device-check/1"
DEFAULT_DIR = ROOT / ".devcheck"
BACKENDS = ("jax", "torch", "tensorflow")


def gpu_info() -> dict:
    """The GPU's name, memory and driver from nvidia-smi (empty without one)."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return {"name": None, "note": "nvidia-smi not found"}
    try:
        out = subprocess.run(
            [
                smi,
                "--query-gpu=name,memory.total,driver_version",
                "--format=csv,noheader",
            ],
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as err:
        return {"name": None, "note": f"nvidia-smi failed: {err}"}
    first = out.splitlines()[0] if out else ""
    parts = [s.strip() for s in first.split(",")]
    if len(parts) < 3:
        return {"name": None, "note": f"nvidia-smi said {out!r}"}
    return {
        "name": parts[0],
        "memory": parts[1],
        "driver": parts[2],
        "count": len(out.splitlines()),
    }


def available_backends(wanted: list[str]) -> tuple[list[str], dict[str, str]]:
    """Backends whose package imports here, and why the others are left out."""
    have, missing = [], {}
    for name in wanted:
        if importlib.util.find_spec(name) is None:
            missing[name] = f"{name} is not installed here"
        else:
            have.append(name)
    return have, missing


def run_backend(
    backend: str, args: argparse.Namespace, seconds: float, work: Path
) -> dict:
    """One backend's worker process within ``seconds``; its JSON, or why none."""
    path = work / f"worker_{backend}.json"
    path.unlink(missing_ok=True)
    deadline = time.time() + seconds
    cmd = [
        sys.executable,
        "-u",
        str(HERE / "device_check_worker.py"),
        "--json", str(path),
        "--deadline", str(deadline),
        "--clip", str(args.clip),
        "--topdown", *map(str, args.topdown),
        "--bottomup", str(args.bottomup),
        "--batches", args.batches,
        "--decoders", str(args.decoders),
        "--max-instances", str(args.max_instances),
        "--bottom-up-peak-threshold", str(args.bottom_up_peak_threshold),
        *(["--forced-peaks"] if args.untrained else []),
        "--pipelines", args.pipelines,
        "--precisions", args.precisions,
    ]  # fmt: skip
    env = {**os.environ, "KERAS_BACKEND": backend}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    t0 = time.time()
    note = None
    try:
        # Imports and the last figure may run over the deadline a little.
        proc = subprocess.run(cmd, env=env, timeout=seconds + args.grace, cwd=ROOT)
        if proc.returncode:
            note = f"worker exited with status {proc.returncode}"
    except subprocess.TimeoutExpired:
        note = (
            f"worker killed after {seconds + args.grace:.0f} s (hung or over its share)"
        )
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        data = {
            "backend": backend,
            "status": "error",
            "figures": [],
            "error": f"no report: {err}",
        }
    if note:
        data.setdefault("notes", []).append(note)
        if data.get("status") == "running":
            data["status"] = "timeout"
    data["wall_s"] = round(time.time() - t0, 1)
    return data


def _fmt(fig: dict) -> str:
    fps = fig["fps"]
    text = f"{fps:,.0f} frames/s" if fps >= 100 else f"{fps:.1f} frames/s"
    if "latency_ms_median" in fig:
        med, p99 = fig["latency_ms_median"], fig["latency_ms_p99"]
        text += f", latency median {med:.2f} ms / p99 {p99:.2f}"
    return text


def markdown_lines(report: dict, command: str) -> list[str]:
    """One docs/benchmarks.md table row per figure."""
    gpu = report["gpu"].get("name") or "no GPU"
    date = report["date"][:10]
    rows = []
    for backend, data in report["backends"].items():
        device = data.get("device", "?")
        keras = data.get("versions", {}).get("keras", "?")
        machine = f"{gpu} ({backend} on {device}; keras {keras})"
        for fig in data.get("figures", []):
            what = (
                f"{fig['pipeline']} {fig['path']} {fig['precision']}, "
                f"batch {fig['batch']}, 1024x1024 fly clip: {_fmt(fig)}"
            )
            if "peak_threshold" in fig:
                what += f" (peak threshold {fig['peak_threshold']})"
            if "instances_per_frame" in fig:
                what += f"; {fig['instances_per_frame']:.2f} animals/frame found"
            rows.append(f"| {date} | {machine} | `{command}` | {what} |")
        if data.get("status") not in ("ok", None):
            errors = [e["error"] for e in data.get("errors", [])[:2]]
            why = data.get("error") or "; ".join(errors)
            rows.append(
                f"| {date} | {gpu} ({backend}) | `{command}` | "
                f"status {data.get('status')}: {why} |"
            )
    for d in report.get("decode", []):
        rows.append(
            f"| {date} | {gpu} host ({report['cpus']} CPUs) | `{command}` | OpenCV "
            f"decode alone, {d['threads']} thread(s), 1024x1024 H.264: "
            f"{d['fps']:,.0f} frames/s |"
        )
    return rows


def _rel(path: Path) -> str:
    """``path`` relative to the repository where it is inside it."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--budget", type=float, default=240.0, help="seconds for everything")
    p.add_argument(
        "--grace",
        type=float,
        default=20.0,
        help="extra seconds before a worker is killed",
    )
    p.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help="what the prep script made"
    )
    p.add_argument("--backends", default="jax,torch,tensorflow")
    p.add_argument("--batches", default="1,8,32,64")
    p.add_argument(
        "--decoders",
        type=int,
        default=None,
        help="decoder threads feeding e2e (default: a quarter of the CPUs, 2 to 4)",
    )
    p.add_argument(
        "--max-instances", type=int, default=2, help="animals per frame (0: no cap)"
    )
    p.add_argument(
        "--bottom-up-peak-threshold",
        type=float,
        default=0.05,
        help="the briefly trained bottom-up model's maps peak near 0.1: 0.05 "
        "gives the grouping real candidates (the default 0.2 finds none)",
    )
    p.add_argument("--pipelines", default="top-down,bottom-up")
    p.add_argument(
        "--precisions",
        default="float32,mixed",
        help="float32, mixed (float16 compute), bfloat16 (bfloat16 compute)",
    )
    p.add_argument("--decode-seconds", type=float, default=1.5)
    args = p.parse_args(argv)
    if args.decoders is None:
        args.decoders = max(2, min(4, (os.cpu_count() or 2) // 4))
    models = args.dir / "models"
    args.topdown = [
        models / "top-down" / "centroid",
        models / "top-down" / "centered_instance",
    ]
    args.bottomup = models / "bottom-up" / "bottom_up"
    args.clip = args.dir / "clip300.mp4"
    # bench/device_check_untrained.py's models: peaks are forced in e2e
    args.untrained = (models / "UNTRAINED").exists()
    for path in [*args.topdown, args.bottomup, args.clip]:
        if not path.exists():
            p.error(
                f"{path} is missing: run bench/device_check_prep.sh first "
                f"and carry {args.dir.name}"
            )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = time.time()
    args.out.mkdir(parents=True, exist_ok=True)
    # The wrapper names itself and the user's options (not the --out it adds).
    command = os.environ.get("DEVICE_CHECK_COMMAND") or "python bench/device_check.py"
    report: dict = {
        "schema": SCHEMA,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "gpu": gpu_info(),
        "budget_s": args.budget,
        "clip": {
            "path": _rel(args.clip),
            "frames": clip_length(args.clip),
        },
        "models": {
            "top-down": [_rel(p) for p in args.topdown],
            "bottom-up": [_rel(args.bottomup)],
        },
        "models_trained": not args.untrained,
        "decode": [],
        "backends": {},
    }
    json_path = args.out / "device_check.json"

    def save() -> None:
        report["elapsed_s"] = round(time.time() - t_start, 1)
        json_path.write_text(json.dumps(report, indent=1))
        lines = markdown_lines(report, command)
        (args.out / "device_check.md").write_text("\n".join(lines) + "\n")

    for threads in sorted({1, args.decoders}):
        try:
            report["decode"].append(
                decode_rate(args.clip, threads, args.decode_seconds)
            )
        except Exception as err:
            report.setdefault("decode_errors", []).append(
                f"{type(err).__name__}: {err}"
            )
    save()
    backends, missing = available_backends(args.backends.split(","))
    report["backends_missing"] = missing
    for i, backend in enumerate(backends):
        left = args.budget - (time.time() - t_start) - args.grace
        share = left / (len(backends) - i)
        if share < 10:
            report["backends"][backend] = {
                "status": "skipped",
                "error": f"only {share:.0f} s left",
            }
            save()
            continue
        print(f"== {backend}: {share:.0f} s", flush=True)
        report["backends"][backend] = run_backend(backend, args, share, args.out)
        save()
        for stale in args.out.glob(f"worker_{backend}.json*"):
            stale.unlink()
    save()
    md = args.out / "device_check.md"
    print(f"wrote {json_path} and {md} ({report['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
