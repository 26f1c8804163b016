"""Exported models on this CPU: ONNX Runtime vs SavedModel vs our Keras/TF runner.

Side by side in one run (rounds alternate the engines, so the shared box's
load hits each alike): per model, the forward pass (preprocessing included) on
real 1024x1024 frames of ../shared/data/clip.mp4 (crops of them for the
centered-instance model) at batch 1 and 4; then the whole top-down predictor
with the Keras models vs with the ONNX exports inside it (use_exported), and
the largest pose difference between the two.

    .venv/bin/python bench/bench_export.py [--models DIR ...] [--rounds 5]

Models default to the device check's (bench/device_check_prep.sh): the built-in
fly recipes' architectures. Writes bench/results/export-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "data" / "clip.mp4"
RESULTS = ROOT / "bench" / "results"
DEFAULT = ROOT / ".devcheck" / "models"
#: Engines timed on each model (the first is the reference for map differences).
ENGINES = ("keras_tf", "savedmodel", "onnxruntime", "onnxruntime_spinning")
#: Frames used (the walking part; labels are not read).
START = 1000


def _median_ms(times: list[float]) -> float:
    return float(np.median(times) * 1e3)


def _engines(folder: Path, frame_size, work: Path) -> dict:
    """The Keras runner and both exports of one model, loaded."""
    from napari_sleap.infer.engine import Runner
    from napari_sleap.infer.model_export import export_model, load_exported
    from napari_sleap.infer.model_io import load_model

    t0 = time.perf_counter()
    export_model(folder, work / f"{folder.name}.onnx", "onnx", frame_size)
    onnx_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    export_model(folder, work / f"{folder.name}_sm", "savedmodel", frame_size)
    sm_s = time.perf_counter() - t0
    runner = Runner(load_model(folder))
    onnx_model = load_exported(work / f"{folder.name}.onnx")
    return {
        "keras_tf": lambda x: runner(x),
        "savedmodel": load_exported(work / f"{folder.name}_sm"),
        "onnxruntime": onnx_model,
        "onnxruntime_spinning": _spinning_session(onnx_model),
        "_export_s": {"onnx": round(onnx_s, 2), "savedmodel": round(sm_s, 2)},
    }


def _spinning_session(exported):
    """The same ONNX file in a session with onnxruntime's default thread spinning."""
    import onnxruntime as ort

    from napari_sleap.infer.model_export import INPUT_NAME, _as_input

    session = ort.InferenceSession(
        str(exported.path), providers=["CPUExecutionProvider"]
    )
    names = [o.name for o in session.get_outputs()]
    channels = exported.info.input_channels

    def run(x):
        feed = {INPUT_NAME: _as_input(x, channels)}
        return dict(zip(names, session.run(names, feed), strict=True))

    return run


def bench_forward(name: str, engines: dict, images: np.ndarray, rounds: int) -> dict:
    """Median ms per call of each engine at batch 1 and 4, alternating."""
    out: dict = {"model": name, "input": list(images.shape[1:]), "batches": {}}
    for batch in (1, 4):
        x = images[:batch]
        maps = {}
        for eng in ENGINES:
            maps[eng] = engines[eng](x)  # warm up / trace
        key = next(iter(maps["keras_tf"]))
        diff = {
            e: float(np.abs(maps[e][key] - maps["keras_tf"][key]).max())
            for e in ENGINES[1:]
        }
        times: dict[str, list[float]] = {e: [] for e in maps}
        for _ in range(rounds):
            for eng in times:
                t0 = time.perf_counter()
                engines[eng](x)
                times[eng].append(time.perf_counter() - t0)
        ms = {e: _median_ms(t) for e, t in times.items()}
        out["batches"][batch] = {
            "ms_per_call": ms,
            "frames_per_s": {e: batch * 1e3 / v for e, v in ms.items()},
            "onnx_speedup_vs_keras": ms["keras_tf"] / ms["onnxruntime"],
            "max_abs_map_diff_vs_keras": diff,
        }
    out["export_s"] = engines["_export_s"]
    return out


def bench_topdown(dirs: list[Path], onnx: dict, images, rounds: int) -> dict:
    """The whole top-down predictor, Keras models vs ONNX exports inside it."""
    from napari_sleap.infer import load_predictor
    from napari_sleap.infer.model_export import use_exported

    keras_pred = load_predictor([str(d) for d in dirs], batch_size=1, max_instances=2)
    onnx_pred = load_predictor([str(d) for d in dirs], batch_size=1, max_instances=2)
    use_exported(onnx_pred.layer, list(onnx.values()))
    preds = {"keras_tf": keras_pred, "onnxruntime": onnx_pred}
    poses = {
        k: [p.layer(images[i : i + 1])[0] for i in range(len(images))]
        for k, p in preds.items()
    }
    times: dict[str, list[float]] = {k: [] for k in preds}
    for _ in range(rounds):
        for k, p in preds.items():
            for i in range(len(images)):
                t0 = time.perf_counter()
                p.layer(images[i : i + 1])
                times[k].append(time.perf_counter() - t0)
    diffs = [
        float(np.nanmax(np.abs(a.points - b.points), initial=0))
        for a, b in zip(poses["keras_tf"], poses["onnxruntime"], strict=True)
        if len(a) == len(b) and a.points.size
    ]
    same = sum(
        len(a) == len(b)
        for a, b in zip(poses["keras_tf"], poses["onnxruntime"], strict=True)
    )
    ms = {k: _median_ms(t) for k, t in times.items()}
    return {
        "frames": len(images),
        "latency_ms_median": ms,
        "latency_ms_p90": {
            k: float(np.percentile(t, 90) * 1e3) for k, t in times.items()
        },
        "onnx_speedup_vs_keras": ms["keras_tf"] / ms["onnxruntime"],
        "frames_same_instance_count": same,
        "instances_per_frame": float(np.mean([len(p) for p in poses["keras_tf"]])),
        "max_pose_diff_px": max(diffs) if diffs else None,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--topdown",
        nargs=2,
        type=Path,
        default=[
            DEFAULT / "top-down" / "centroid",
            DEFAULT / "top-down" / "centered_instance",
        ],
    )
    p.add_argument("--bottomup", type=Path, default=DEFAULT / "bottom-up" / "bottom_up")
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    from napari_sleap.io.video import open_video
    from napari_sleap.nn.model_info import ModelInfo

    images = open_video(CLIP).read_frames(range(START, START + args.frames))
    h, w = images.shape[1:3]
    report: dict = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} ({os.cpu_count()} CPUs)",
        "load_before": os.getloadavg(),
        "models": {},
    }
    onnx_topdown = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for folder in [*args.topdown, args.bottomup]:
            info = ModelInfo.load(folder)
            if info.crop_size:
                c = int(info.crop_size)
                y, x = h // 2 - c // 2, w // 2 - c // 2
                data, size = images[:, y : y + c, x : x + c], None
            else:
                data, size = images, (h, w)
            engines = _engines(folder, size, work)
            report["models"][info.role] = bench_forward(
                info.role, engines, data, args.rounds
            )
            print(json.dumps(report["models"][info.role]["batches"]), flush=True)
            if folder in args.topdown:
                onnx_topdown[info.role] = engines["onnxruntime"]
        report["topdown_predictor"] = bench_topdown(
            args.topdown, onnx_topdown, images, args.rounds
        )
    report["load_after"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"export-{report['date'][:10]}.json"
    path.write_text(json.dumps(report, indent=1))
    print(json.dumps(report["topdown_predictor"], indent=1))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
