"""``napari-sleap live MODEL_DIR... SOURCE``: poses from a camera or a replayed video.

Runs the closed loop of :mod:`napari_sleap.live` and prints its latency figures
at the end (also after Ctrl+C).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``live`` subcommand."""
    p = subparsers.add_parser(
        "live",
        help="poses live from a camera, or a video replayed at its frame rate",
        description=(
            "Run the model folders of one pipeline on SOURCE frame by frame, the "
            "newest frame first: a camera index (0, 1, ...) through OpenCV, or a "
            "video file replayed in real time as a stand-in camera. Frames that "
            "arrive while the model is busy are dropped, not queued. Prints "
            "end-to-end latency (grab to decision), model latency and dropped "
            "frames at the end; Ctrl+C stops cleanly."
        ),
    )
    p.add_argument("paths", nargs="+", metavar="MODEL_DIR... SOURCE")
    p.add_argument(
        "--fps",
        type=float,
        help="replay rate of a video (default: the file's), or the rate asked "
        "of a camera",
    )
    p.add_argument("--frames", metavar="A-B", help="video frames to replay (0-1249)")
    p.add_argument(
        "--out", metavar="POSES.slp|.json", help="save the poses (.json: with times)"
    )
    p.add_argument(
        "--engine",
        choices=("auto", "predictor", "portable"),
        default="auto",
        help="auto (default): the portable engine in bfloat16 for top-down on "
        "CPUs with AMX/AVX512-BF16, else the predictor; predictor: the "
        "TensorFlow predictor at batch 1; portable: the backend-free path "
        "(Keras 3 on TensorFlow, JAX or PyTorch)",
    )
    p.add_argument(
        "--bfloat16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bfloat16 compute (portable engine); --no-bfloat16: float32. "
        "Default: as the auto engine chooses",
    )
    p.add_argument("--max-instances", type=int, help="most animals per frame")
    p.add_argument("--peak-threshold", type=float, default=0.2)
    p.add_argument(
        "--max-seconds", type=float, help="stop after this long (a camera runs on)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(run=run)


def _check_models(models: list[str]) -> None:
    for i, model in enumerate(models):
        if not Path(model).is_dir():
            raise FileNotFoundError(
                f"model folder {model} does not exist (argument {i + 1}; the model "
                "folders come first, then the camera index or video). Fix: give "
                "the folder a training run wrote"
            )


def run(args: argparse.Namespace) -> int:
    """Run the loop on the source and print the figures."""
    import threading

    from napari_sleap.io.frames import parse_frames
    from napari_sleap.live.engines import load_live_model
    from napari_sleap.live.loop import LiveLoop
    from napari_sleap.live.record import check_output, save_run
    from napari_sleap.live.source import VideoReplaySource, open_source
    from napari_sleap.progress import TerminalProgress

    if len(args.paths) < 2:
        raise ValueError("give at least one MODEL_DIR and then the SOURCE")
    *models, spec = args.paths
    _check_models(models)
    frames = parse_frames(args.frames) if args.frames else None
    is_camera = str(spec).strip().isdigit()
    if args.out:
        check_output(args.out, None if is_camera else Path(spec))
    source = open_source(spec, fps=args.fps, frames=frames)  # bad sources fail fast
    try:
        model = load_live_model(
            models,
            engine=args.engine,
            max_instances=args.max_instances,
            peak_threshold=args.peak_threshold,
            precision={None: "auto", True: "bfloat16", False: "float32"}[args.bfloat16],
        )
    except BaseException:
        source.stop()  # close the camera or file
        raise
    stop = threading.Event()
    if args.max_seconds:
        timer = threading.Timer(args.max_seconds, stop.set)
        timer.daemon = True
        timer.start()
    progress = None if args.quiet else TerminalProgress("live")
    loop = LiveLoop(source, model, progress=progress, stop=stop)
    started = time.perf_counter()
    summary = loop.run()
    if progress is not None and summary.cancelled:
        sys.stderr.write("\n")
    for line in summary.lines():
        print(line)
    if args.out:
        video = source.path if isinstance(source, VideoReplaySource) else None
        t0 = source.t_start or started
        path = save_run(args.out, loop.results, summary, model.skeleton, t0, video)
        print(f"{path}: {summary.processed} frames of poses")
    return 0
