"""``make demo``: the project's main job, step by step, on its own synthetic sample.

Run as ``python -m napari_sleap.demo --out out/demo`` (under ``xvfb-run`` on a
headless machine). The steps: make the sample, train a small top-down model on
its training frames, predict the held-out frames, track them, score poses and
tracks against the ground truth, draw a picture of the tracked poses, and show
the result in napari (screenshots). Each step is a function of a shared
:class:`DemoContext` returning a one-line summary; the model steps themselves
live in :mod:`napari_sleap.demo.steps`.

A step whose outputs exist is skipped on a rerun (``--fresh`` redoes all), unless
a step before it was redone. TensorFlow and a napari viewer must not share a
process (software OpenGL), so once TensorFlow is loaded the ``view`` step runs
in a child process of this module.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from napari_sleap.progress import TerminalProgress
from napari_sleap.sample import NODES, SamplePaths, ensure_sample

REPO_ROOT = Path(__file__).resolve().parents[3]
#: Sample size of ``--quick`` (frames, side): seconds, not minutes, end to end.
QUICK_SAMPLE = (60, 192)


@dataclass
class DemoContext:
    """What the steps share: where things go and what earlier steps made.

    Attributes:
        out: Folder for the demo's results (models, predictions, pictures).
        sample_dir: Folder the sample is made in.
        n_frames: Frames in the sample.
        size: Frame side in pixels.
        quick: Tiny model and few steps (tests): checks the loop, not accuracy.
        fresh: Redo every step even where its outputs exist.
        max_train_minutes: Wall-clock cap on training (None: no cap).
        sample: The sample's files, once the ``sample`` step ran.
        labels_to_show: The ``.slp`` the ``view`` step opens (the ``track``
            step points it at the tracked predictions).
        dirty: Set once a step really ran, so that later steps redo too.
        results: Anything a step wants in ``summary.json``, by step name.
    """

    out: Path
    sample_dir: Path
    n_frames: int = 400
    size: int = 384
    quick: bool = False
    fresh: bool = False
    max_train_minutes: float | None = None
    sample: SamplePaths | None = None
    labels_to_show: Path | None = None
    dirty: bool = False
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def models_dir(self) -> Path:
        """Folder of the trained model folders (one per role)."""
        return self.out / "models"

    @property
    def predictions(self) -> Path:
        """Untracked predictions on the held-out frames."""
        return self.out / "predictions.slp"

    @property
    def tracked(self) -> Path:
        """The predictions with tracks."""
        return self.out / "tracked.slp"


@dataclass(frozen=True)
class Step:
    """One demo step: a name, its function and the files it makes.

    The function returns the step's one-line summary; a rerun skips the step
    while its files all exist.
    """

    name: str
    run: Callable[[DemoContext], str]
    outputs: Callable[[DemoContext], list[Path]] | None = None


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
    import sleap_io as sio

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


def _showcase(labels_path: Path) -> tuple[int, np.ndarray, float]:
    """A frame where both animals are near but apart; its midpoint (y, x) and span.

    The span (pixels) is what a zoomed view needs to frame both animals.
    """
    import sleap_io as sio

    labels = sio.load_slp(str(labels_path), open_videos=False)
    first = min((lf.frame_idx for lf in labels), default=0)
    best, best_score = (first, np.zeros(2), 100.0), np.inf
    for lf in labels:
        if len(lf) < 2:
            continue
        pts = np.stack([inst.numpy() for inst in lf.instances[:2]])
        if np.isnan(pts).all(axis=(1, 2)).any():
            continue
        length = np.max(np.nanmax(pts[0], axis=0) - np.nanmin(pts[0], axis=0))
        gap = np.linalg.norm(np.nanmean(pts[0], 0) - np.nanmean(pts[1], 0))
        score = abs(gap - 1.4 * length)
        if score < best_score:
            flat = pts.reshape(-1, 2)
            lo, hi = np.nanmin(flat, 0), np.nanmax(flat, 0)
            extent = float(np.max(hi - lo)) + 2.5 * length
            best, best_score = (lf.frame_idx, ((lo + hi) / 2)[::-1], extent), score
    return int(best[0]), best[1], best[2]


def _settle() -> None:
    """Let Qt lay out and draw before a screenshot."""
    from qtpy.QtWidgets import QApplication

    for _ in range(5):
        QApplication.processEvents()
        time.sleep(0.05)


def _view_in_child(ctx: DemoContext, show: Path) -> str:
    """Run the ``view`` step in a fresh process (this one has TensorFlow)."""
    record = ".view_summary.json"
    cmd = [
        sys.executable,
        "-m",
        "napari_sleap.demo",
        *("--out", str(ctx.out), "--sample-dir", str(ctx.sample_dir)),
        *("--frames", str(ctx.n_frames), "--size", str(ctx.size)),
        *("--steps", "view", "--show", str(show), "--summary", record),
    ]
    done = subprocess.run(cmd, check=False, stdout=subprocess.PIPE, text=True)
    path = ctx.out / record
    if done.returncode != 0 or not path.exists():
        raise RuntimeError(
            f"the view step failed in its own process (exit {done.returncode}): "
            f"{done.stdout[-2000:]}; run `xvfb-run -a python -m napari_sleap.demo "
            f"--out {ctx.out} --steps view` to see why"
        )
    ctx.results["view"] = json.loads(path.read_text())["results"]["view"]
    path.unlink()
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("[view]")]
    summary = lines[-1][len("[view] ") :] if lines else "done"
    return summary.rsplit(" (", 1)[0] + " (own process)"


def step_view(ctx: DemoContext) -> str:
    """Open the result in a shown napari viewer with our reader; save screenshots.

    ``view.png`` shows the whole frame, ``view_zoom.png`` the two animals. It
    opens the tracked predictions when they exist, else the sample's ground truth.
    """
    show = ctx.labels_to_show
    if show is None and ctx.tracked.exists():
        show = ctx.tracked
    if show is None:
        if ctx.sample is None:
            step_sample(ctx)
        show = ctx.sample.gt
    if "tensorflow" in sys.modules:
        return _view_in_child(ctx, show)
    import napari

    viewer = napari.Viewer(show=True, title="napari-sleap demo")
    side = 768
    try:
        layers = viewer.open(str(show), plugin="napari-sleap")
        frame, centre, extent = _showcase(show)
        viewer.dims.set_current_step(0, frame)
        viewer.reset_view()
        _settle()
        shot = ctx.out / "view.png"
        image = viewer.screenshot(str(shot), size=(side, side), canvas_only=True)
        viewer.scene.camera.center = tuple(float(c) for c in centre)
        viewer.scene.camera.zoom = side / extent
        _settle()
        zoom_shot = ctx.out / "view_zoom.png"
        viewer.screenshot(str(zoom_shot), size=(side, side), canvas_only=True)
        names = [f"{layer.name} ({type(layer).__name__})" for layer in layers]
        points = [lay for lay in layers if type(lay).__name__ == "Points"]
        n_points = int(sum(len(p.data) for p in points))
    finally:
        viewer.close()
    ctx.results["view"] = {
        "labels": str(show),
        "screenshots": [str(shot), str(zoom_shot)],
        "frame": frame,
        "layers": names,
        "points": n_points,
        "screenshot_shape": list(image.shape),
        "screenshot_nonblack": float((image[..., :3] > 10).mean()),
    }
    return f"{len(layers)} layers ({n_points} points), frame {frame} -> {shot}"


def _steps() -> list[Step]:
    from napari_sleap.demo import steps as ds

    return [
        Step("sample", step_sample),
        Step("train", ds.step_train, ds.train_outputs),
        Step("predict", ds.step_predict, lambda c: [c.predictions]),
        Step("track", ds.step_track, lambda c: [c.tracked]),
        Step("evaluate", ds.step_evaluate, ds.evaluate_outputs),
        Step("render", ds.step_render, lambda c: [c.out / "tracks.png"]),
        Step("view", step_view),
    ]


#: The demo's steps in order.
STEPS: list[Step] = _steps()


def _record(ctx: DemoContext, name: str) -> Path:
    return ctx.out / "steps" / f"{name}.json"


def _skippable(ctx: DemoContext, step: Step) -> bool:
    """Whether a step's outputs (and its saved results) are all there."""
    if ctx.fresh or ctx.dirty or step.outputs is None:
        return False
    paths = [*step.outputs(ctx), _record(ctx, step.name)]
    return all(p.exists() for p in paths)


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.json")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


def run_demo(
    ctx: DemoContext,
    steps: list[Step] | None = None,
    summary_name: str = "summary.json",
) -> dict[str, Any]:
    """Run the steps in order, printing one line each; returns the summary.

    A step with outputs that all exist (and whose results were saved in
    ``out/steps/``) is skipped and its saved results reused, unless ``fresh`` is
    set or an earlier step was redone.
    """
    ctx.out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"steps": []}
    try:
        for step in steps or STEPS:
            summary["steps"].append(_run_step(ctx, step))
    except BaseException as err:
        # What ran is kept (the summary says which step failed); rerun to go on.
        summary["failed"] = {"step": step.name, "error": f"{type(err).__name__}: {err}"}
        raise
    finally:
        summary["results"] = ctx.results
        summary["nodes"] = list(NODES)
        summary["settings"] = {
            "quick": ctx.quick,
            "frames": ctx.n_frames,
            "size": ctx.size,
            "load_average": list(os.getloadavg()),
        }
        _write_json(ctx.out / summary_name, summary)
    return summary


def _run_step(ctx: DemoContext, step: Step) -> dict[str, Any]:
    """Run (or skip) one step, print its line; returns its entry in the summary."""
    start = time.monotonic()
    if _skippable(ctx, step):
        saved = json.loads(_record(ctx, step.name).read_text())
        ctx.results[step.name] = saved["results"]
        line, skipped = f"skipped: outputs exist ({saved['line']})", True
    else:
        line, skipped = step.run(ctx), False
        if step.outputs is not None:
            ctx.dirty = True
            _write_json(
                _record(ctx, step.name),
                {"line": line, "results": ctx.results.get(step.name)},
            )
    seconds = time.monotonic() - start
    print(f"[{step.name}] {line} ({seconds:.1f} s)", flush=True)
    return {"name": step.name, "seconds": round(seconds, 2), "skipped": skipped}


def main(argv: list[str] | None = None) -> int:
    """Command line of ``make demo``."""
    parser = argparse.ArgumentParser(prog="python -m napari_sleap.demo")
    parser.add_argument("--out", type=Path, default=Path("out/demo"))
    parser.add_argument(
        "--sample-dir",
        type=Path,
        help="where the sample is made (default: sample_data/ in the repository; "
        "OUT/sample with --quick)",
    )
    parser.add_argument("--frames", type=int, help="sample frames (default 400)")
    parser.add_argument("--size", type=int, help="sample frame side (default 384)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a 60-frame 192-px sample and a tiny model trained a few steps: "
        "checks the whole loop in about a minute (the figures mean nothing)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="redo every step, even where done"
    )
    parser.add_argument(
        "--max-train-minutes",
        type=float,
        default=15.0,
        help="wall-clock cap on training (default 15; the demo trains in ~4)",
    )
    parser.add_argument(
        "--steps",
        default=",".join(s.name for s in STEPS),
        help="comma-separated steps to run (default: all)",
    )
    parser.add_argument("--show", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--summary", default="summary.json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.steps.split(",") if s.strip()]
    known = {s.name: s for s in STEPS}
    unknown = [name for name in chosen if name not in known]
    if unknown:
        parser.error(f"--steps: unknown {unknown}; choose from {list(known)}")
    frames, size = QUICK_SAMPLE if args.quick else (400, 384)
    sample_dir = args.sample_dir or (
        args.out / "sample" if args.quick else REPO_ROOT / "sample_data"
    )
    ctx = DemoContext(
        out=args.out,
        sample_dir=sample_dir,
        n_frames=args.frames or frames,
        size=args.size or size,
        quick=args.quick,
        fresh=args.fresh,
        max_train_minutes=args.max_train_minutes,
        labels_to_show=args.show,
    )
    start = time.monotonic()
    summary = run_demo(ctx, [known[name] for name in chosen], args.summary)
    if args.summary == "summary.json":
        from napari_sleap.demo.steps import format_summary

        print(format_summary(summary))
    print(f"demo done in {time.monotonic() - start:.1f} s; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
