"""``make demo``: the project's main job, step by step, on its own synthetic sample.

Run as ``python -m napari_sleap.demo --out out/demo`` (under ``xvfb-run`` on a
headless machine). Each step is a function of a shared :class:`DemoContext` that
returns a one-line summary; model steps (train, predict, track, evaluate) slot in
before ``view`` and run in job processes (:mod:`napari_sleap.jobs`), because this
process holds a napari viewer and must never import TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from napari_sleap.progress import TerminalProgress
from napari_sleap.sample import NODES, SamplePaths, ensure_sample

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class DemoContext:
    """What the steps share: where things go and what earlier steps made.

    Attributes:
        out: Folder for the demo's results (screenshots, summary).
        sample_dir: Folder the sample is made in.
        n_frames: Frames in the sample.
        size: Frame side in pixels.
        sample: The sample's files, once the ``sample`` step ran.
        labels_to_show: The ``.slp`` the ``view`` step opens (a later step can
            point it at predictions).
        results: Anything a step wants in ``summary.json``, by step name.
    """

    out: Path
    sample_dir: Path
    n_frames: int = 400
    size: int = 384
    sample: SamplePaths | None = None
    labels_to_show: Path | None = None
    results: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One demo step: a name and a function returning its one-line summary."""

    name: str
    run: Callable[[DemoContext], str]


def step_sample(ctx: DemoContext) -> str:
    """Make (or reuse) the synthetic sample."""
    ctx.sample = ensure_sample(
        ctx.sample_dir,
        n_frames=ctx.n_frames,
        size=ctx.size,
        progress=TerminalProgress("sample"),
    )
    ctx.labels_to_show = ctx.sample.gt
    import sleap_io as sio

    gt = sio.load_slp(str(ctx.sample.gt))
    train = sio.load_slp(str(ctx.sample.train))
    ctx.results["sample"] = {
        "video": str(ctx.sample.video),
        "frames": len(gt),
        "instances": sum(len(lf) for lf in gt),
        "train_frames": len(train),
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
    best, best_score = (0, np.zeros(2), 100.0), np.inf
    for lf in labels:
        if len(lf) < 2:
            continue
        pts = np.stack([inst.numpy() for inst in lf.instances[:2]])
        length = np.nanmax(np.ptp(pts[0], axis=0))
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


def step_view(ctx: DemoContext) -> str:
    """Open the labels in a shown napari viewer with our reader; save screenshots.

    ``sample.png`` shows the whole frame, ``sample_zoom.png`` the two animals.
    """
    import napari

    if ctx.labels_to_show is None:
        step_sample(ctx)
    viewer = napari.Viewer(show=True, title="napari-sleap demo")
    side = 768
    try:
        layers = viewer.open(str(ctx.labels_to_show), plugin="napari-sleap")
        frame, centre, extent = _showcase(ctx.labels_to_show)
        viewer.dims.set_current_step(0, frame)
        viewer.reset_view()
        _settle()
        shot = ctx.out / "sample.png"
        image = viewer.screenshot(str(shot), size=(side, side), canvas_only=True)
        viewer.scene.camera.center = tuple(float(c) for c in centre)
        viewer.scene.camera.zoom = side / extent
        _settle()
        zoom_shot = ctx.out / "sample_zoom.png"
        viewer.screenshot(str(zoom_shot), size=(side, side), canvas_only=True)
        names = [f"{layer.name} ({type(layer).__name__})" for layer in layers]
        points = [lay for lay in layers if type(lay).__name__ == "Points"]
        n_points = int(sum(len(p.data) for p in points))
    finally:
        viewer.close()
    ctx.results["view"] = {
        "screenshots": [str(shot), str(zoom_shot)],
        "frame": frame,
        "layers": names,
        "points": n_points,
        "screenshot_shape": list(image.shape),
        "screenshot_nonblack": float((image[..., :3] > 10).mean()),
    }
    return f"{len(layers)} layers ({n_points} points), frame {frame} -> {shot}"


#: The demo's steps in order; model steps go before ``view``.
STEPS: list[Step] = [
    Step("sample", step_sample),
    Step("view", step_view),
]


def run_demo(ctx: DemoContext, steps: list[Step] | None = None) -> dict[str, Any]:
    """Run the steps in order, printing one line each; returns the summary."""
    ctx.out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"steps": []}
    for step in steps or STEPS:
        start = time.monotonic()
        line = step.run(ctx)
        seconds = time.monotonic() - start
        print(f"[{step.name}] {line} ({seconds:.1f} s)", flush=True)
        summary["steps"].append({"name": step.name, "seconds": round(seconds, 2)})
    summary["results"] = ctx.results
    summary["nodes"] = list(NODES)
    tmp = ctx.out / ".summary.partial.json"
    tmp.write_text(json.dumps(summary, indent=1, default=str))
    os.replace(tmp, ctx.out / "summary.json")
    return summary


def main(argv: list[str] | None = None) -> int:
    """Command line of ``make demo``."""
    parser = argparse.ArgumentParser(prog="python -m napari_sleap.demo")
    parser.add_argument("--out", type=Path, default=Path("out/demo"))
    parser.add_argument(
        "--sample-dir",
        type=Path,
        default=REPO_ROOT / "sample_data",
        help="where the sample is made (default: sample_data/ in the repository)",
    )
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument(
        "--steps",
        default=",".join(s.name for s in STEPS),
        help="comma-separated steps to run (default: all)",
    )
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.steps.split(",") if s.strip()]
    known = {s.name: s for s in STEPS}
    unknown = [name for name in chosen if name not in known]
    if unknown:
        parser.error(f"--steps: unknown {unknown}; choose from {list(known)}")
    ctx = DemoContext(
        out=args.out, sample_dir=args.sample_dir, n_frames=args.frames, size=args.size
    )
    start = time.monotonic()
    run_demo(ctx, [known[name] for name in chosen])
    print(f"demo done in {time.monotonic() - start:.1f} s; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
