"""``make demo``: the project's main job, step by step, on its own synthetic sample.

Run as ``python -m napari_sleap.demo --out out/demo`` (under ``xvfb-run`` on a
headless machine). The steps: make the sample, train a small top-down model on
its training frames, predict the held-out frames, track them, score poses and
tracks against the ground truth, draw a picture of the tracked poses, and show
the result in napari (screenshots). Each step is a function of a shared
:class:`~napari_sleap.demo.context.DemoContext` returning a one-line summary;
the steps live in :mod:`napari_sleap.demo.steps` and :mod:`napari_sleap.demo.view`
(this module only orders and runs them).

A step whose outputs exist is skipped on a rerun (``--fresh`` redoes all), unless
a step before it was redone. TensorFlow and a napari viewer must not share a
process (software OpenGL), so once TensorFlow is loaded the ``view`` step runs
in a child process of this module.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from napari_sleap.demo import steps as ds
from napari_sleap.demo.context import DemoContext, Step
from napari_sleap.demo.view import step_view
from napari_sleap.io.atomic import write_text
from napari_sleap.sample import NODES

__all__ = ["QUICK_SAMPLE", "STEPS", "DemoContext", "Step", "main", "run_demo"]

REPO_ROOT = Path(__file__).resolve().parents[3]
#: Sample size of ``--quick`` (frames, side): seconds, not minutes, end to end.
QUICK_SAMPLE = (60, 192)


def _steps() -> list[Step]:
    return [
        Step("sample", ds.step_sample),
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
    write_text(path, json.dumps(data, indent=1, default=str))


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
        print(ds.format_summary(summary))
    print(f"demo done in {time.monotonic() - start:.1f} s; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
