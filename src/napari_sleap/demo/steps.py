"""The steps of ``make demo`` up to the picture: sample, train, predict, track ...

Each step takes the :class:`napari_sleap.demo.context.DemoContext`, writes its
files in the demo's output folder and its figures in ``ctx.results[step]``, and
returns a one-line summary. They call the core only through its public
functions, the way a user's script would. TensorFlow is imported by the train
and predict steps only (inside the core's functions).
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import sleap_io as sio
import yaml

from napari_sleap.demo.context import DemoContext
from napari_sleap.io.atomic import write_text
from napari_sleap.progress import TerminalProgress
from napari_sleap.sample import SamplePaths, ensure_sample, train_frames

#: The demo's pipeline and its training overrides on the built-in profiles,
#: chosen by measuring on the default sample (400 frames of 384 px, animals
#: ~55-65 px long, 30 training frames): both models see the frame at half
#: size, which made the centered-instance model ~4x faster per step and
#: steadier on left/right nodes than full-size crops in the same time.
PIPELINE = "top-down"
TRAINING: dict[str, Any] = {
    "model": {"backbone": {"unet": {"filters": 16, "filters_rate": 1.5}}},
    "optim": {
        "batch_size": 4,
        "learning_rate": 1.0e-3,
        "epochs": 20,
        "steps_per_epoch": 40,
        "plateau_patience": 3,
        "early_stopping": False,
    },
    "centroid": {
        "data": {"input_scale": 0.5},
        "model": {
            "backbone": {"unet": {"output_stride": 4}},
            "heads": {"confmaps": {"sigma": 3.0}},
        },
    },
    "centered_instance": {
        "data": {"input_scale": 0.5},
        "model": {
            "backbone": {"unet": {"filters": 24}},
            "heads": {"confmaps": {"sigma": 1.5}},
        },
        "optim": {"epochs": 40},
    },
}
#: ``--quick``: tiny models, a few steps each; exercises every step, learns little.
QUICK_TRAINING: dict[str, Any] = {
    "model": {"backbone": {"unet": {"filters": 8, "filters_rate": 1.5}}},
    "data": {"input_scale": 0.5},
    "optim": {
        "batch_size": 2,
        "learning_rate": 1.0e-3,
        "epochs": 4,
        "steps_per_epoch": 25,
        "early_stopping": False,
    },
}
#: Animals in the sample: the tracker's cap and the centroid model's maximum.
N_ANIMALS = 2


def step_sample(ctx: DemoContext) -> str:
    """Make (or reuse) the synthetic sample."""
    stamp = ctx.sample_dir / "sample.json"
    before = stamp.stat().st_mtime_ns if stamp.exists() else None
    ctx.sample = ensure_sample(
        ctx.sample_dir,
        n_frames=ctx.n_frames,
        size=ctx.size,
        progress=TerminalProgress("sample"),
    )
    if stamp.stat().st_mtime_ns != before:
        ctx.dirty = True  # a new sample: everything after it is redone
    gt = sio.load_slp(str(ctx.sample.gt))
    train = sio.load_slp(str(ctx.sample.train))
    ctx.results["sample"] = {
        "video": str(ctx.sample.video),
        "frames": len(gt),
        "size": ctx.size,
        "instances": sum(len(lf) for lf in gt),
        "train_frames": len(train),
        "train_instances": sum(len(lf) for lf in train),
        "last_train_frame": max(lf.frame_idx for lf in train),
        "tracks": [t.name for t in gt.tracks],
        "nodes": len(gt.skeleton.nodes),
    }
    r = ctx.results["sample"]
    return (
        f"{r['frames']} frames, {r['instances']} instances, tracks {r['tracks']}, "
        f"{r['train_frames']} training frames in {ctx.sample.folder}"
    )


def _sample(ctx: DemoContext) -> SamplePaths:
    """The sample's files, made first when a run starts after the sample step."""
    if ctx.sample is None:
        step_sample(ctx)
    return ctx.sample


def training_overrides(ctx: DemoContext) -> dict[str, Any]:
    """The overrides the demo trains with (quick or full)."""
    return QUICK_TRAINING if ctx.quick else TRAINING


def train_outputs(ctx: DemoContext) -> list[Path]:
    """Best checkpoints of the pipeline's models."""
    from napari_sleap.config.training import PIPELINES

    return [ctx.models_dir / role / "best.keras" for role in PIPELINES[PIPELINE]]


def _log_figures(model_dir: Path) -> dict[str, Any]:
    """Epochs, seconds and final losses from a model's training log."""
    path = model_dir / "training_log.csv"
    with path.open() as f:
        rows = list(csv.DictReader(f))
    cfg = yaml.safe_load((model_dir / "config.yaml").read_text())
    steps = cfg["optim"]["steps_per_epoch"] or 0
    seconds = sum(float(r["epoch_time_s"]) for r in rows)
    last = rows[-1] if rows else {}
    # The first epoch includes tracing the model; the rest is the steady rate.
    steady = sum(float(r["epoch_time_s"]) for r in rows[1:])
    return {
        "epochs": len(rows),
        "steps": len(rows) * steps,
        "batch_size": cfg["optim"]["batch_size"],
        "seconds": round(seconds, 1),
        "steps_per_s": round(steps * (len(rows) - 1) / steady, 2) if steady else None,
        "loss": float(last.get("loss", "nan")),
        "val_loss": float(last.get("val_loss") or "nan"),
        "input_scale": cfg["data"]["input_scale"],
        "crop_size": cfg["data"]["crop_size"],
        "sigma": cfg["model"]["heads"]["confmaps"]["sigma"],
    }


def step_train(ctx: DemoContext) -> str:
    """Train the top-down pair on ``sample_train.slp`` (resumes an interrupted run)."""
    from napari_sleap.train.pipeline import train_pipeline

    overrides = training_overrides(ctx)
    paths = _sample(ctx)
    ctx.out.mkdir(parents=True, exist_ok=True)
    # The overrides as a file, so a user can rerun them: napari-sleap train --config.
    (ctx.out / "train_overrides.yaml").write_text(yaml.safe_dump(overrides))
    # What the models were trained from: when it changed (other settings, a new
    # sample), the old models are retrained rather than resumed.
    stamp = {
        "pipeline": PIPELINE,
        "overrides": overrides,
        "max_minutes": ctx.max_train_minutes,
        "sample": json.loads((paths.folder / "sample.json").read_text()),
    }
    stamp_path = ctx.models_dir / "demo_training.json"
    try:
        changed = json.loads(stamp_path.read_text()) != stamp
    except (OSError, ValueError):
        changed = ctx.models_dir.exists()
    restart = ctx.fresh or ctx.dirty or changed
    ctx.models_dir.mkdir(parents=True, exist_ok=True)
    write_text(stamp_path, json.dumps(stamp, indent=1))
    bars: dict[str, TerminalProgress] = {}
    role = {"now": PIPELINE}

    def emit(kind: str, value: Any) -> None:
        if kind == "model":
            role["now"] = value
        elif kind == "log":
            print(f"  {value}", flush=True)

    def progress(done: int, total: int) -> None:
        bars.setdefault(role["now"], TerminalProgress(f"  {role['now']}"))(done, total)

    def mtimes() -> list[int | None]:
        return [
            p.stat().st_mtime_ns if p.exists() else None for p in train_outputs(ctx)
        ]

    before = mtimes()
    start, cpu = time.monotonic(), time.process_time()
    dirs = train_pipeline(
        _sample(ctx).train,
        PIPELINE,
        ctx.models_dir,
        overrides=overrides,
        max_minutes=ctx.max_train_minutes,
        restart=restart,
        progress=progress,
        emit=emit,
    )
    seconds, cpu = time.monotonic() - start, time.process_time() - cpu
    models = {r: {"folder": d, **_log_figures(Path(d))} for r, d in dirs.items()}
    ctx.results["train"] = {
        "pipeline": PIPELINE,
        # False when every model was already trained by an earlier run.
        "trained_now": mtimes() != before,
        "seconds": round(seconds, 1),
        # CPU time of all threads: on a quiet 2-core box the wall time is about
        # half of it; on a busy one the wall time says more about the others.
        "cpu_seconds": round(cpu, 1),
        "models": models,
        "overrides": overrides,
        "train_frames": len(train_frames(ctx.n_frames)),
        "load_average": list(os.getloadavg()),
    }
    parts = ", ".join(
        f"{r} {m['steps']} steps ({m['steps_per_s']} steps/s, val loss "
        f"{m['val_loss']:.2g})"
        for r, m in models.items()
    )
    when = "" if ctx.results["train"]["trained_now"] else " (already trained)"
    return f"{PIPELINE}: {parts}; {seconds:.0f} s in all{when}"


def held_out_frames(ctx: DemoContext) -> list[int]:
    """Frames after the training segment (the last quarter): never trained on."""
    n = ctx.n_frames
    start = max(int(round(0.75 * n)), int(train_frames(n).max()) + 1)
    return list(range(start, n))


def step_predict(ctx: DemoContext) -> str:
    """Predict the held-out frames with the trained models."""
    from napari_sleap.infer.predict import predict
    from napari_sleap.infer.predictor import PredictorOptions

    frames = held_out_frames(ctx)
    start = time.monotonic()
    labels = predict(
        [str(p.parent) for p in train_outputs(ctx)],
        _sample(ctx).video,
        ctx.predictions,
        frames=frames,
        options=PredictorOptions(max_instances=N_ANIMALS, tta="auto"),
        progress=TerminalProgress("  predict"),
    )
    seconds = time.monotonic() - start
    n_inst = sum(len(lf) for lf in labels)
    ctx.results["predict"] = {
        "frames": [frames[0], frames[-1]],
        "n_frames": len(frames),
        "instances": n_inst,
        "seconds": round(seconds, 2),
        "frames_per_s": round(len(frames) / seconds, 1),
    }
    return (
        f"frames {frames[0]}..{frames[-1]} (held out): {n_inst} instances in "
        f"{seconds:.1f} s with model loading ({len(frames) / seconds:.1f} frames/s)"
    )


def step_track(ctx: DemoContext) -> str:
    """Track the predictions with flow shift, at most two animals."""
    from napari_sleap.io.labels import save_labels
    from napari_sleap.track import track_labels

    labels = sio.load_slp(str(ctx.predictions))
    start = time.monotonic()
    tracked = track_labels(
        labels,
        tracker="flow",
        max_tracks=N_ANIMALS,
        progress=TerminalProgress("  track"),
    )
    seconds = time.monotonic() - start
    save_labels(tracked, ctx.tracked)
    ctx.labels_to_show = ctx.tracked
    n = max(len(tracked.labeled_frames), 1)
    used = {i.track.name for lf in tracked for i in lf.instances if i.track}
    ctx.results["track"] = {
        "tracker": "flow",
        "max_tracks": N_ANIMALS,
        "tracks": sorted(used),
        "seconds": round(seconds, 3),
        "ms_per_frame": round(1000 * seconds / n, 2),
    }
    return (
        f"flow, max 2 tracks: {len(used)} tracks over {len(tracked)} frames, "
        f"{1000 * seconds / n:.1f} ms/frame (video decode included)"
    )


def evaluate_outputs(ctx: DemoContext) -> list[Path]:
    """The evaluation's JSON and per-node error chart."""
    return [ctx.out / "evaluation.json", ctx.out / "node_errors.png"]


def step_evaluate(ctx: DemoContext) -> str:
    """Score poses (OKS mAP, errors) and tracks (ID switches, IDF1), held-out frames."""
    from napari_sleap.evaluate.plot import plot_node_errors
    from napari_sleap.evaluate.pose import evaluate_poses
    from napari_sleap.evaluate.report import format_report
    from napari_sleap.evaluate.tracking import evaluate_tracking

    gt = sio.load_slp(str(_sample(ctx).gt))
    pred = sio.load_slp(str(ctx.tracked))
    frames = held_out_frames(ctx)
    poses = evaluate_poses(gt, pred, frames=frames)
    title = f"held-out frames {frames[0]}..{frames[-1]}"
    print(format_report(poses, title=title))
    plot_node_errors(poses, ctx.out / "node_errors.png", title=title)
    tracks = evaluate_tracking(gt, pred, frame_range=(frames[0], frames[-1] + 1))
    print(tracks.summary())
    full = {"frames": [frames[0], frames[-1]], "poses": poses.to_dict()}
    full["tracks"] = tracks.to_dict()
    write_text(ctx.out / "evaluation.json", json.dumps(full, indent=1))
    err = poses.error
    ctx.results["evaluate"] = {
        "frames": [frames[0], frames[-1]],
        "oks_map": poses.oks_map,
        "oks_mar": poses.oks_mar,
        "mean_oks": poses.moks,
        "detection": poses.detection,
        "error_px": {k: err.get(k) for k in ("mean", "p50", "p90", "p95")},
        "pck_5px": float(poses.pck[list(poses.pck_thresholds).index(5)])
        if 5 in list(poses.pck_thresholds)
        else None,
        "id_switches": tracks.id_switches,
        "idf1": tracks.idf1,
        "mota": tracks.mota,
        "pred_tracks": tracks.pred_tracks,
        "gt_tracks": tracks.gt_tracks,
        "details": str(ctx.out / "evaluation.json"),
        "plot": str(ctx.out / "node_errors.png"),
    }
    r = ctx.results["evaluate"]
    return (
        f"OKS mAP {r['oks_map']:.3f}, error p50 {_px(err.get('p50'))} p90 "
        f"{_px(err.get('p90'))}; tracks: {r['id_switches']} ID switches, IDF1 "
        f"{r['idf1']:.3f}"
    )


def _px(value: float | None) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.2f} px"


def _picture_frames(table: Any, frames: list[int], n: int = 4) -> list[int]:
    """``n`` frames spread over ``frames``, preferring ones with both animals."""
    counts = {f: 0 for f in frames}
    for f in table.frames:
        if f in counts:
            counts[int(f)] += 1
    full = [f for f in frames if counts[f] >= N_ANIMALS] or frames
    # Leave room for a trail before the first picture.
    pool = full[min(len(full) - 1, len(full) // (2 * n)) :]
    picks = np.linspace(0, len(pool) - 1, num=min(n, len(pool))).round().astype(int)
    return sorted({pool[i] for i in picks})


def step_render(ctx: DemoContext) -> str:
    """Draw the tracked poses on four held-out frames, with trails, to tracks.png."""
    from napari_sleap.demo.render import (
        RenderStyle,
        pose_table,
        render_montage,
        save_png,
    )
    from napari_sleap.io.video import open_video

    tracked = sio.load_slp(str(ctx.tracked), open_videos=False)
    table = pose_table(tracked)
    frames = _picture_frames(table, held_out_frames(ctx))
    with open_video(_sample(ctx).video, grayscale=True) as reader:
        images = [reader.read(f) for f in frames]
    style = RenderStyle(scale=1.5 if ctx.size >= 384 else 2.0, trail_length=40)
    picture = render_montage(table, frames, images, columns=2, style=style)
    path = save_png(picture, ctx.out / "tracks.png")
    ctx.results["render"] = {
        "picture": str(path),
        "frames": frames,
        "shape": list(picture.shape),
    }
    return f"frames {frames} -> {path} ({picture.shape[1]}x{picture.shape[0]})"


def format_summary(summary: dict[str, Any]) -> str:
    """A readable block of the demo's headline figures."""
    res = summary.get("results", {})
    lines = ["", "== napari-sleap demo =="]
    if "sample" in res:
        s = res["sample"]
        lines.append(
            f"sample    {s['frames']} frames of {s['size']} px, 2 animals; trained on "
            f"{s['train_frames']} frames (0..{s['last_train_frame']})"
        )
    if "train" in res:
        t = res["train"]
        models = ", ".join(
            f"{r} {m['steps']} steps at {m['steps_per_s']} steps/s"
            for r, m in t["models"].items()
        )
        if t.get("trained_now", True):
            cpu = f", {t['cpu_seconds']:.0f} s CPU" if "cpu_seconds" in t else ""
            took = f"in {t['seconds']:.0f} s{cpu}"
        else:  # an earlier run trained them: their logs know how long it took
            logged = sum(m["seconds"] for m in t["models"].values())
            took = f"(trained earlier, {logged:.0f} s of epochs)"
        lines.append(f"train     {t['pipeline']} {took}: {models}")
    if "predict" in res:
        p = res["predict"]
        lines.append(
            f"predict   held-out frames {p['frames'][0]}..{p['frames'][1]}: "
            f"{p['instances']} instances, {p['frames_per_s']} frames/s"
        )
    if "track" in res:
        k = res["track"]
        lines.append(
            f"track     {k['tracker']}: tracks {k['tracks']}, "
            f"{k['ms_per_frame']} ms/frame"
        )
    if "evaluate" in res:
        e = res["evaluate"]
        err = e["error_px"]
        lines.append(
            f"poses     OKS mAP {e['oks_map']:.3f}, mAR {e['oks_mar']:.3f}, detection "
            f"recall {e['detection'].get('recall', float('nan')):.3f}; node error "
            f"p50 {_px(err['p50'])}, p90 {_px(err['p90'])}"
        )
        lines.append(
            f"tracks    {e['id_switches']} ID switches, IDF1 {e['idf1']:.3f}, MOTA "
            f"{e['mota']:.3f} ({e['pred_tracks']} tracks for {e['gt_tracks']} animals)"
        )
    pictures = [res[k]["picture"] for k in ("render",) if k in res]
    pictures += res.get("view", {}).get("screenshots", [])
    if "evaluate" in res:
        pictures.append(res["evaluate"]["plot"])
    if pictures:
        lines.append("pictures  " + ", ".join(pictures))
    return "\n".join(lines)
