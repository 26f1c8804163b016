"""``napari-sleap evaluate-tracks GT.slp PRED.slp``: score tracks against truth."""

from __future__ import annotations

import argparse
import json
import math


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``evaluate-tracks`` subcommand."""
    p = subparsers.add_parser(
        "evaluate-tracks",
        help="identity switches, MOTA, IDF1, fragmentation, per-track coverage",
        description=(
            "Match predicted to ground-truth instances per frame by mean node "
            "distance (or OKS) and score the tracks: identity switches, MOTA, IDF1 "
            "(IDP/IDR), fragmentations and how much of each animal its best "
            "predicted track covers."
        ),
    )
    p.add_argument("gt", help="ground truth with tracks (.slp)")
    p.add_argument("pred", help="tracked predictions (.slp)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "--max-distance",
        type=float,
        help="matching radius in px (default: a quarter of the median GT box diagonal)",
    )
    p.add_argument(
        "--min-oks",
        type=float,
        help="match by OKS (SLEAP's constants) at least this instead of distance",
    )
    p.add_argument("--frames", metavar="A-B", help="evaluate only frames A..B")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load both files, evaluate, print."""
    from napari_sleap.evaluate.tracking import evaluate_tracking
    from napari_sleap.io.frames import parse_frame_range
    from napari_sleap.io.labels import load_labels

    if args.max_distance is not None and not (
        math.isfinite(args.max_distance) and args.max_distance > 0
    ):
        raise ValueError(f"--max-distance {args.max_distance}: must be positive")
    if args.min_oks is not None and not 0 < args.min_oks <= 1:
        raise ValueError(f"--min-oks {args.min_oks}: must be in (0, 1]")
    frame_range = parse_frame_range(args.frames) if args.frames else None
    gt = load_labels(args.gt, missing_videos="ignore")
    pred = load_labels(args.pred, missing_videos="ignore")
    from napari_sleap.cli.evaluate import note_nonfinite

    note_nonfinite(gt, args.gt)
    if not gt.tracks:
        raise ValueError(f"{args.gt}: has no tracks; ground truth needs identities")
    metrics = evaluate_tracking(
        gt, pred, args.max_distance, frame_range, min_oks=args.min_oks
    )
    if metrics.frames == 0:
        raise ValueError(
            f"{args.gt} and {args.pred} share no labeled frame of the same video; "
            "check that PRED was predicted on GT's video"
        )
    print(json.dumps(metrics.to_dict(), indent=2) if args.json else metrics.summary())
    return 0
