"""``napari-sleap track IN.slp -o OUT.slp``: give every instance an identity track."""

from __future__ import annotations

import argparse
import math
import sys

# Spelled out so that building the parser imports nothing heavy; a test checks
# they equal the core's names.
TRACKERS = ("simple", "flow", "kalman", "identity")
SIMILARITIES = ("instance", "centroid", "iou", "oks")
MATCHERS = ("hungarian", "greedy")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``track`` subcommand."""
    p = subparsers.add_parser(
        "track",
        help="follow each animal's identity through the frames",
        description=(
            "Assign tracks to the instances of IN.slp frame by frame and save the "
            "result. --max-tracks N (the number of animals) culls extra "
            "detections, caps the tracks and reuses them when animals reappear."
        ),
    )
    p.add_argument("input", help="labels with poses to track (.slp)")
    p.add_argument("-o", "--output", required=True, help="tracked labels (.slp)")
    p.add_argument(
        "--tracker",
        choices=TRACKERS,
        default="flow",
        help="flow: poses moved by optical flow (reads the video); simple: recent "
        "poses; kalman: constant-velocity filter; identity: from an identity "
        "model's predictions (default: flow)",
    )
    p.add_argument("--max-tracks", type=int, help="number of animals (default: no cap)")
    p.add_argument(
        "--similarity",
        choices=SIMILARITIES,
        default="instance",
        help="how detections are compared with tracks: node distances, centroid "
        "distance, box overlap or OKS (default: instance)",
    )
    p.add_argument(
        "--match",
        choices=MATCHERS,
        default="hungarian",
        help="optimal assignment per frame, or best pair first (default: hungarian)",
    )
    p.add_argument(
        "--window", type=int, default=5, help="frames a track stays open (default 5)"
    )
    p.add_argument(
        "--min-score",
        type=float,
        help="drop detections scoring below this (default: keep all)",
    )
    p.add_argument(
        "--identity-switch-cost",
        type=float,
        default=3.0,
        help="identity tracker: identity score a motion track must gather against "
        "its identity before it is relabeled; 0 trusts every frame (default 3)",
    )
    p.add_argument(
        "--frames",
        metavar="A-B",
        help="track only frames A..B (inclusive); others are left as they are",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing -o that holds user-labeled instances (never "
        "the input)",
    )
    p.set_defaults(run=run)


def _check_against_labels(args: argparse.Namespace, labels, frame_range) -> None:
    """Refuse --frames and --min-score that would leave nothing to track."""
    if not len(labels):
        raise ValueError(f"{args.input}: has no labeled frames to track")
    if frame_range is not None:
        present = [int(lf.frame_idx) for lf in labels]
        first, stop = frame_range
        if not any(first <= f < stop for f in present):
            raise ValueError(
                f"--frames {args.frames}: {args.input} has no instances there (its "
                f"frames run {min(present)}..{max(present)}). Fix: pick a range "
                "inside them"
            )
    if args.min_score is not None:
        scores = [
            float(i.score)
            for lf in labels
            for i in lf.instances
            if hasattr(i, "score") and i.score is not None
        ]
        if scores and args.min_score > max(scores):
            raise ValueError(
                f"--min-score {args.min_score}: would drop every detection; the "
                f"highest instance score in {args.input} is {max(scores):.3g}. "
                "Fix: choose a lower threshold"
            )


def run(args: argparse.Namespace) -> int:
    """Load, track with a progress bar, save atomically."""
    from napari_sleap.io.frames import parse_frame_range
    from napari_sleap.io.labels import load_labels, save_labels
    from napari_sleap.io.outputs import check_output_file
    from napari_sleap.progress import TerminalProgress
    from napari_sleap.track.trackers import track_labels

    if args.max_tracks is not None and args.max_tracks < 1:
        raise ValueError(f"--max-tracks {args.max_tracks}: must be at least 1")
    if args.identity_switch_cost < 0:
        raise ValueError(
            f"--identity-switch-cost {args.identity_switch_cost}: must be >= 0"
        )
    if args.window < 1:
        raise ValueError(f"--window {args.window}: must be at least 1")
    if args.min_score is not None and not math.isfinite(args.min_score):
        raise ValueError(f"--min-score {args.min_score}: must be a finite number")
    if not math.isfinite(args.identity_switch_cost):
        raise ValueError("--identity-switch-cost: must be a finite number")
    frame_range = parse_frame_range(args.frames) if args.frames else None
    check_output_file(
        args.output, kind="predictions", inputs=[args.input], overwrite=args.overwrite
    )
    needs_video = args.tracker == "flow"
    labels = load_labels(
        args.input, missing_videos="raise" if needs_video else "ignore"
    )
    _check_against_labels(args, labels, frame_range)
    tracked = track_labels(
        labels,
        tracker=args.tracker,
        max_tracks=args.max_tracks,
        similarity=args.similarity,
        match=args.match,
        window=args.window,
        min_score=args.min_score,
        identity_switch_cost=args.identity_switch_cost,
        frame_range=frame_range,
        inplace=True,
        progress=TerminalProgress("track"),
    )
    save_labels(tracked, args.output)
    n = sum(1 for lf in tracked.labeled_frames for i in lf.instances if i.track)
    print(
        f"{args.output}: {len(tracked.tracks)} tracks, {n} tracked instances",
        file=sys.stderr,
    )
    return 0
