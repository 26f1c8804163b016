"""``napari-sleap suggest LABELS.slp -k 20``: frames worth labeling, as suggestions.

The same methods as the Labeling dock's Suggestions box (uniform, random, image
features as SLEAP makes them); the picks replace the video's suggestions and the
labels are saved (atomically) to ``-o`` or in place.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``suggest`` subcommand."""
    from napari_sleap.labeling.frame_features import FEATURES
    from napari_sleap.labeling.suggestions import METHODS

    p = subparsers.add_parser(
        "suggest",
        help="suggest frames worth labeling (uniform, random, image features)",
        description=(
            "Pick K frames of a labels file's video and save them as its frame "
            "suggestions (SLEAP's 'Labeling Suggestions'). image_features reads a "
            "sample of frames, describes each by FEATURE, and picks frames from "
            "different k-means clusters of their principal components, so the "
            "suggestions cover the different looks of the video."
        ),
    )
    p.add_argument("labels", help="labels file (.slp) whose video to pick from")
    p.add_argument("-k", type=int, default=20, help="frames to suggest (default 20)")
    p.add_argument("--method", choices=METHODS, default="image_features")
    p.add_argument(
        "--feature",
        choices=FEATURES,
        default=FEATURES[0],
        help="image feature for image_features (default %(default)s)",
    )
    p.add_argument(
        "--sample",
        type=int,
        default=300,
        help="frames read for image_features, evenly spaced (default 300)",
    )
    p.add_argument(
        "--per-cluster",
        type=int,
        default=1,
        help="frames picked per cluster (default 1: K clusters)",
    )
    p.add_argument("--video", type=int, default=0, help="video index (default 0)")
    p.add_argument("--seed", type=int, default=0, help="random/k-means seed")
    p.add_argument(
        "-o", "--output", help="labels file to write (default: LABELS in place)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Suggest, save, and print the suggested frames."""
    from napari_sleap.io.labels import load_labels, save_labels
    from napari_sleap.io.video import open_sleap_video
    from napari_sleap.labeling import SetSuggestions, UndoStack
    from napari_sleap.labeling import suggestions as sg
    from napari_sleap.progress import TerminalProgress

    labels = load_labels(args.labels, video_search_paths=args.video_search)
    if not 0 <= args.video < len(labels.videos):
        raise ValueError(
            f"--video {args.video}: {args.labels} has {len(labels.videos)} video(s); "
            f"give 0..{len(labels.videos) - 1}"
        )
    video = labels.videos[args.video]
    # frames a person labeled already are not suggested again
    labeled = [
        lf.frame_idx
        for lf in labels.labeled_frames
        if lf.video is video and lf.user_instances
    ]
    with open_sleap_video(video) as reader:
        if args.method == "image_features":
            frames = sg.image_features(
                _Frames(reader),
                args.k,
                feature=args.feature,
                sample=args.sample,
                per_cluster=args.per_cluster,
                seed=args.seed,
                exclude=labeled,
                progress=TerminalProgress(f"suggest {args.feature}"),
            )
        else:
            frames = sg.suggest(args.method, len(reader), args.k, seed=args.seed)
    UndoStack().push(
        SetSuggestions(labels, video=video, frames=frames, method=args.method)
    )
    out = save_labels(labels, Path(args.output or args.labels))
    print(f"{len(frames)} {args.method} suggestions -> {out}", file=sys.stderr)
    print(" ".join(str(f) for f in frames))
    return 0


class _Frames:
    """Frame access by index for the suggestions (a reader's ``read``)."""

    def __init__(self, reader) -> None:
        self.reader = reader

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, index: int):
        return self.reader.read(int(index))
