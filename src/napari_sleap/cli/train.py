"""``napari-sleap train LABELS --pipeline P -o DIR``: train every model of a pipeline.

Each model goes to ``DIR/<role>/``. All models are checked and their data
decoded before the first folder is written, so bad labels or configs exit
with a message and leave nothing half-done. Rerunning after an interrupt
continues unfinished models and skips finished ones.
"""

from __future__ import annotations

import argparse
import math
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
    p.add_argument(
        "labels",
        type=Path,
        help="labels: SLEAP .slp, DeepLabCut project (folder, config.yaml or "
        "CSV), COCO keypoint .json or SLEAP analysis .h5",
    )
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
    p.add_argument(
        "--self-train",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="top-down: train the centered-instance model in two phases, with "
        "confident predictions on unlabeled frames of the videos as extra labels "
        "in between (default: the profile's self_train.enabled)",
    )
    p.add_argument("--seed", type=int, help="random seed (default: the profile's)")
    p.add_argument(
        "--restart",
        action="store_true",
        help="start over instead of continuing an interrupted training in -o",
    )
    p.add_argument(
        "--gpus",
        metavar="all|N",
        help="train on N (or all) GPUs with tf.distribute.MirroredStrategy, batch "
        "scaled by N; without a GPU it trains on the CPU as before",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Train; returns the exit code."""
    from napari_sleap.io.outputs import check_output_folder
    from napari_sleap.progress import Cancelled, TerminalProgress
    from napari_sleap.train.distribute import gpu_setup
    from napari_sleap.train.pipeline import train_pipeline

    if args.max_minutes is not None and not (
        math.isfinite(args.max_minutes) and args.max_minutes > 0
    ):
        raise ValueError(
            f"--max-minutes {args.max_minutes}: must be a positive number of "
            "minutes (leave it out for no budget)"
        )
    check_output_folder(args.out, inputs=[args.labels])
    bars: dict[str, TerminalProgress] = {}
    current = {"role": "train"}

    def emit(kind: str, value) -> None:
        if kind == "log":
            print(value, file=sys.stderr, flush=True)
        elif kind == "model":
            current["role"] = value

    def progress(done: int, total: int) -> None:
        role = current["role"]
        bars.setdefault(role, TerminalProgress(role))(done, total)

    overrides, gpus = gpu_setup(
        args.gpus,
        args.pipeline,
        args.config,
        seed=args.seed,
        max_minutes=args.max_minutes,
    )
    if gpus.message:
        print(gpus.message, file=sys.stderr, flush=True)
    try:
        with gpus.scope():  # several GPUs: MirroredStrategy
            train_pipeline(
                args.labels,
                args.pipeline,
                args.out,
                overrides=overrides,
                seed=args.seed,
                max_minutes=args.max_minutes,
                restart=args.restart,
                progress=None if args.quiet else progress,
                emit=None if args.quiet else emit,
                verbose=not args.quiet,
                self_train=args.self_train,
            )
    except Cancelled as err:
        print(f"error: {err}", file=sys.stderr)
        return 130
    return 0
