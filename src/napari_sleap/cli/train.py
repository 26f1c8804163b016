"""``napari-sleap train LABELS --pipeline P -o DIR``: train every model of a pipeline.

Each model goes to ``DIR/<role>/``. All models are checked and their data
decoded before the first folder is written, so bad labels or configs exit
with a message and leave nothing half-done. Rerunning after an interrupt
continues unfinished models and skips finished ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PIPELINE_HELP = (
    "single (one animal), top-down (centroid + centered instance), bottom-up "
    "(confmaps + PAFs), top-down-id / bottom-up-id (with identity classes from "
    "track names)"
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``train`` subcommand."""
    from napari_sleap.config.training import PIPELINES

    p = subparsers.add_parser(
        "train",
        help="train the models of a pipeline on a labels file",
        description="Train every model of a pipeline into OUT/<role>/.",
    )
    p.add_argument("labels", type=Path, help="SLEAP labels file (.slp)")
    p.add_argument(
        "--pipeline", required=True, choices=list(PIPELINES), help=PIPELINE_HELP
    )
    p.add_argument(
        "-o", "--out", required=True, type=Path, help="folder for the model folders"
    )
    p.add_argument(
        "--config",
        type=Path,
        help="YAML overrides on the built-in profiles; keys named after a role "
        "(centroid:, centered_instance:) apply to that model only",
    )
    p.add_argument(
        "--max-minutes",
        type=float,
        help="wall-clock budget for the whole pipeline (split between models)",
    )
    p.add_argument("--seed", type=int, help="random seed (default: the profile's)")
    p.add_argument(
        "--restart",
        action="store_true",
        help="start over instead of continuing an interrupted training in -o",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Train; returns the exit code."""
    from napari_sleap.config.training import pipeline_configs, read_overrides
    from napari_sleap.progress import Cancelled, TerminalProgress
    from napari_sleap.train.fit import check_out_dir, fit_prepared
    from napari_sleap.train.prepare import load_training_labels, prepare

    if args.max_minutes is not None and args.max_minutes <= 0:
        raise ValueError("--max-minutes must be > 0")
    overrides = read_overrides(args.config) if args.config else None
    configs = pipeline_configs(
        args.pipeline,
        overrides,
        seed=args.seed,
        max_minutes=args.max_minutes,
        source=str(args.config or "overrides"),
    )
    labels = load_training_labels(args.labels)
    out = Path(args.out)
    prepared = {}
    plan = {}
    for role, cfg in configs.items():
        prepared[role] = prepare(cfg, labels, args.labels)
        plan[role] = check_out_dir(out / role, prepared[role].config, args.restart)
    cache: dict = {}
    say = (lambda *a: None) if args.quiet else _say
    todo = [t for role, t in prepared.items() if plan[role] != "done"]
    if todo:
        n = len({s.key for t in todo for s in (*t.train, *t.val)})
        say(f"decoding {n} labeled frames")
    for tset in todo:
        tset.load_frames(cache)

    for role, tset in prepared.items():
        model_dir = out / role
        if plan[role] == "done":
            say(f"{role}: already trained in {model_dir} (use --restart to retrain)")
            continue
        c = tset.config
        say(
            f"{role}: {'resuming' if plan[role] == 'resume' else 'training'} -> "
            f"{model_dir} ({len(tset.train)} train / {len(tset.val)} val frames, "
            f"input scale {c.data.input_scale:g}"
            + (f", crop {c.data.crop_size}" if c.data.crop_size else "")
            + ")"
        )
        progress = None if args.quiet else TerminalProgress(role)
        try:
            fit_prepared(
                tset,
                model_dir,
                progress=progress,
                restart=args.restart,
                verbose=not args.quiet,
                frame_cache=cache,
            )
        except Cancelled as err:
            print(f"error: {err}", file=sys.stderr)
            return 130
        say(f"{role}: best model in {model_dir}")
    return 0


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
