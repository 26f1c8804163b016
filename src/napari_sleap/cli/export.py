"""``napari-sleap export IN.slp --format analysis-h5|csv|nwb|dlc``: poses elsewhere."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``export`` subcommand."""
    p = subparsers.add_parser(
        "export",
        help="export poses as SLEAP analysis HDF5, tidy CSV, NWB or a DeepLabCut "
        "project",
        description=(
            "Export the poses of a labels/predictions file. analysis-h5 is SLEAP's "
            "analysis HDF5 layout (one file per video); csv is a tidy table with "
            "one row per frame x track x node; nwb writes one ndx-pose file per "
            "animal (<stem>.<track>.nwb when several; movement reads each) at the "
            "video's frame rate; dlc writes a DeepLabCut project folder."
        ),
    )
    p.add_argument(
        "input",
        help="labels or predictions (.slp; or DeepLabCut, COCO, analysis .h5)",
    )
    p.add_argument(
        "--format",
        required=True,
        choices=("analysis-h5", "csv", "nwb", "dlc"),
        help="output format",
    )
    p.add_argument(
        "-o",
        "--output",
        help="output file (default: beside the input, e.g. IN.analysis.h5)",
    )
    p.add_argument(
        "--video",
        type=int,
        help="analysis-h5: only this video index (default: every video)",
    )
    p.add_argument(
        "--frames", metavar="SPEC", help="only these frames, e.g. 1000-1499,1600"
    )
    p.add_argument(
        "--nwb-flavour",
        choices=("auto", "annotations", "predictions"),
        default="auto",
        help="nwb: training annotations or pose predictions (default: auto)",
    )
    p.add_argument(
        "--fps",
        type=float,
        default=None,
        help="nwb: frame rate for the timestamps (default: the video's own)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing output file of another kind (never the input)",
    )
    p.set_defaults(run=run)


def _default_output(source: Path, ending: str) -> Path:
    stem = source.name[: -len(".slp")] if source.name.endswith(".slp") else source.stem
    return source.with_name(stem + ending)


def _check_outputs(args: argparse.Namespace, labels, source: Path, out) -> None:
    """Refuse outputs that are an input (the labels or a video) before any work."""
    from napari_sleap.export import FORMATS
    from napari_sleap.io.outputs import check_output_file

    videos = [v.filename for v in labels.videos if isinstance(v.filename, str)]
    inputs = [source, *videos]
    if args.format == "dlc":  # a DeepLabCut project is a folder
        from napari_sleap.io.outputs import check_output_folder

        check_output_folder(
            out or _default_output(source, FORMATS["dlc"]), inputs=inputs
        )
        return
    if args.format == "analysis-h5":
        from napari_sleap.export.analysis_h5 import default_paths

        targets = [path for _, path in default_paths(labels, source, out)]
        if out is not None:
            targets = [out, *targets]
    else:
        targets = [out or _default_output(source, FORMATS[args.format])]
    for path in dict.fromkeys(targets):
        check_output_file(
            path, kind=args.format, inputs=inputs, overwrite=args.overwrite
        )


def run(args: argparse.Namespace) -> int:
    """Load the input and write the chosen format."""
    from napari_sleap.export import FORMATS
    from napari_sleap.export._common import check_exportable, select_frames
    from napari_sleap.io.frames import parse_frames, video_length
    from napari_sleap.io.labels import load_labels

    source = Path(args.input)
    out = Path(args.output) if args.output else None
    labels = load_labels(source, missing_videos="ignore")
    _check_outputs(args, labels, source, out)
    if args.frames:
        frames = parse_frames(args.frames, video_length(labels))
        labels = select_frames(labels, frames)
    check_exportable(labels, str(source))
    if args.format == "analysis-h5":
        from napari_sleap.export.analysis_h5 import default_paths, write_analysis_h5

        targets = default_paths(labels, source, out)
        if args.video is not None:
            if not 0 <= args.video < len(labels.videos):
                raise ValueError(
                    f"--video {args.video}: {source} has {len(labels.videos)} "
                    f"video(s) (indices 0..{len(labels.videos) - 1})"
                )
            targets = [(args.video, out or targets[args.video][1])]
        for video, path in targets:
            if not any(lf.video is labels.videos[video] for lf in labels):
                print(f"skipping video {video}: no labeled frames", file=sys.stderr)
                continue
            arrays = write_analysis_h5(
                labels, path, video=video, labels_path=str(source)
            )
            n_frames, n_tracks = arrays.occupancy.shape
            print(f"wrote {path}: {n_tracks} tracks x {n_frames} frames")
            if arrays.dropped:
                print(
                    f"  note: {arrays.dropped} instances not exported (a second "
                    "instance on the same track in a frame, or no track in a "
                    "tracked project)",
                    file=sys.stderr,
                )
    elif args.format == "csv":
        from napari_sleap.export.csv import write_csv

        path = out or _default_output(source, FORMATS["csv"])
        rows = write_csv(labels, path, source=str(source))
        print(f"wrote {path}: {rows} rows")
    elif args.format == "dlc":
        from napari_sleap.export.dlc_project import write_dlc_project

        path = out or _default_output(source, FORMATS["dlc"])
        n = write_dlc_project(labels, path, source=str(source))
        print(f"wrote {path}: DeepLabCut project, {n} labeled frames")
    else:
        from napari_sleap.export.nwb import write_nwb

        path = out or _default_output(source, FORMATS["nwb"])
        written = write_nwb(
            labels, path, flavour=args.nwb_flavour, source=str(source), fps=args.fps
        )
        for each in written:
            print(f"wrote {each}")
    return 0
