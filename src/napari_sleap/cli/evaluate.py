"""``napari-sleap evaluate GT.slp PRED.slp``: pose accuracy against ground truth."""

from __future__ import annotations

import argparse
import json
import math
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``evaluate`` subcommand."""
    p = subparsers.add_parser(
        "evaluate",
        help="score predicted poses against ground truth (OKS mAP, PCK, errors)",
        description=(
            "Match predicted instances to the ground truth's user-labeled "
            "instances frame by frame (by OKS) and report OKS mAP/mAR over "
            "0.50:0.05:0.95, PCK at 1..10 px, localization error per node and "
            "detection precision/recall. Defaults follow SLEAP 1.x's evaluation."
        ),
    )
    p.add_argument("gt", help="ground-truth labels (.slp); its user instances count")
    p.add_argument("pred", help="predicted labels (.slp)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--plot", metavar="FILE.png", help="write a per-node error chart")
    p.add_argument(
        "--frames",
        metavar="SPEC",
        help="only these frame indices, e.g. 1000-1499,1600 (default: all labeled)",
    )
    p.add_argument(
        "--matching",
        choices=("hungarian", "greedy"),
        default="hungarian",
        help="optimal matching per frame, or SLEAP 1.x's greedy-by-score "
        "(default: hungarian)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="COCO-style: unmatched predictions are false positives in mAP and "
        "frames with no prediction count as missed",
    )
    p.add_argument(
        "--oks-stddev",
        type=float,
        default=0.025,
        help="OKS keypoint spread (SLEAP default 0.025)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="let --plot replace an existing file that is not a PNG",
    )
    p.set_defaults(run=run)


def note_nonfinite(labels, path: str) -> int:
    """Say how many labeled points are infinite (they are scored as unlabeled)."""
    import numpy as np

    bad = 0
    for lf in labels:
        for inst in lf.instances:
            xy = np.asarray(inst.numpy(), dtype=float)
            bad += int((np.isinf(xy).any(axis=-1)).sum())
    if bad:
        print(
            f"note: {path}: {bad} point(s) have infinite coordinates; they are "
            "treated as unlabeled nodes. Fix them in napari to score them",
            file=sys.stderr,
        )
    return bad


def run(args: argparse.Namespace) -> int:
    """Load both files, evaluate, print the report and write the plot if asked."""
    from napari_sleap.evaluate.pose import evaluate_poses
    from napari_sleap.evaluate.report import format_report
    from napari_sleap.io.frames import parse_frames, video_length
    from napari_sleap.io.labels import load_labels

    if not math.isfinite(args.oks_stddev) or args.oks_stddev <= 0:
        raise ValueError(f"--oks-stddev {args.oks_stddev}: must be positive")
    if args.plot:
        from napari_sleap.io.outputs import check_output_file

        check_output_file(
            args.plot,
            kind="png",
            inputs=[args.gt, args.pred],
            overwrite=args.overwrite,
            option="--plot",
        )
    gt = load_labels(args.gt, missing_videos="ignore")
    pr = load_labels(args.pred, missing_videos="ignore")
    frames = parse_frames(args.frames, video_length(gt)) if args.frames else None
    note_nonfinite(gt, args.gt)
    try:
        ev = evaluate_poses(
            gt,
            pr,
            frames=frames,
            matching=args.matching,
            strict=args.strict,
            oks_stddev=args.oks_stddev,
        )
    except ValueError as err:
        raise ValueError(f"evaluating {args.pred} against {args.gt}: {err}") from err
    if ev.counts["frames"] == 0:
        print(
            f"warning: no labeled frame of {args.gt} "
            f"{'in --frames ' + args.frames + ' ' if args.frames else ''}"
            "has user instances; nothing was evaluated",
            file=sys.stderr,
        )
    if args.plot:
        from napari_sleap.evaluate.plot import plot_node_errors

        plot_node_errors(ev, args.plot, title=f"Localization error: {args.pred}")
    if args.json:
        out = ev.to_dict()
        out["files"] = {"gt": str(args.gt), "pred": str(args.pred)}
        print(json.dumps(out, indent=2))
    else:
        print(format_report(ev, title=f"{args.pred} vs ground truth {args.gt}"))
        if args.plot:
            print(f"\nper-node error chart: {args.plot}")
    return 0
