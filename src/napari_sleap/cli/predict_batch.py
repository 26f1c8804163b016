"""Batch mode of ``napari-sleap predict``: many videos into a folder, on dask.

``napari-sleap predict MODEL_DIR... VIDEO_OR_GLOB... -o OUT_DIR [--scheduler
local|ADDRESS] [--workers N]`` hands off here (from :mod:`.predict`) when
several videos, an output folder, ``--scheduler`` or ``--workers`` are given.
"""

from __future__ import annotations

import argparse
import glob
import sys
import time
from pathlib import Path


def add_batch_arguments(p: argparse.ArgumentParser) -> None:
    """The batch-mode options of the predict command."""
    g = p.add_argument_group(
        "batch mode (several videos or globs, -o a folder; runs on dask)"
    )
    g.add_argument(
        "--scheduler",
        metavar="local|ADDRESS",
        help="local: a cluster of worker processes on this machine (default in "
        "batch mode); ADDRESS: a running dask scheduler, e.g. tcp://host:8786; "
        "none: no dask, the videos one after another in this process",
    )
    g.add_argument(
        "--workers", type=int, help="local worker processes (default: per GPU/cores)"
    )
    g.add_argument(
        "--threads-per-worker",
        type=int,
        help="TensorFlow threads per local worker (default: cores / workers)",
    )
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="predict videos again even where OUT_DIR already has their output; "
        "with one OUT.slp: replace it even if it holds user-labeled instances",
    )


def wants_batch(args: argparse.Namespace) -> bool:
    """True when the arguments ask for batch mode rather than one .slp."""
    if args.scheduler is not None or args.workers is not None:
        return True
    if not str(args.output).endswith(".slp"):
        return True
    inputs = [p for p in args.paths if not Path(p).is_dir()]
    return len(inputs) > 1 or any(glob.has_magic(p) for p in inputs)


class TerminalBatchStatus:
    """Videos, frames and frames/s on one terminal line, a few times a second."""

    def __init__(self, min_interval: float = 0.5) -> None:
        self.min_interval = min_interval
        self._last = 0.0
        self._drawn_final = False

    def __call__(self, s) -> None:
        """Redraw the line; always draws the final state."""
        now = time.monotonic()
        if s.videos_total == 0:  # nothing to predict (all done or failed)
            return
        final = s.videos_done >= s.videos_total
        if self._drawn_final or (not final and now - self._last < self.min_interval):
            return
        self._drawn_final = final
        self._last = now
        sys.stderr.write(
            f"\rpredict: videos {s.videos_done}/{s.videos_total}, frames "
            f"{s.frames_done}/{s.frames_total}, {s.fps:.1f} frames/s, "
            f"{s.elapsed:.0f} s  "
        )
        if final:
            sys.stderr.write("\n")
        sys.stderr.flush()


def split_models(paths: list[str]) -> tuple[list[str], list[str]]:
    """Leading folders are the models; the rest are videos and globs."""
    n = 0
    while n < len(paths) and Path(paths[n]).is_dir():
        n += 1
    models, inputs = paths[:n], paths[n:]
    if not models:
        raise ValueError(
            f"{paths[0]}: is not a model folder; give MODEL_DIR... first, then "
            "the videos or globs"
        )
    if not inputs:
        raise ValueError("give the videos (or globs) to predict after the models")
    return models, inputs


def run_batch(args: argparse.Namespace) -> int:
    """Predict every video into ``-o`` on dask; prints a summary per video.

    Returns 1 when any video failed (each is named on stderr with its reason;
    the others are still predicted), else 0.
    """
    from napari_sleap.distributed.batch import predict_batch
    from napari_sleap.infer.predictor import PredictorOptions

    if args.only_labeled_frames or args.only_suggested_frames:
        raise ValueError(
            "--only-labeled-frames/--only-suggested-frames need a .slp input; "
            "batch mode (several videos, -o a folder) takes videos"
        )
    if args.batch_size is not None and args.batch_size < 1:
        raise ValueError(f"--batch-size {args.batch_size}: must be at least 1")
    if str(args.output).endswith(".slp"):
        raise ValueError(
            f"-o {args.output}: batch mode writes one .slp per video into a "
            "folder; give a folder"
        )
    models, inputs = split_models(list(args.paths))
    from napari_sleap.io.outputs import check_output_folder

    check_output_folder(args.output, inputs=[*models, *inputs])
    options = PredictorOptions(
        batch_size=args.batch_size,
        peak_threshold=args.peak_threshold,
        refinement=args.refinement,
        max_instances=args.max_instances,
        jit_compile=args.xla,
        mixed_precision=args.mixed_precision,
        tta=args.tta,
    )
    result = predict_batch(
        models,
        inputs,
        args.output,
        frames=args.frames,
        options=options,
        tracker=args.tracker,
        max_tracks=args.max_tracks,
        chunk_frames=args.chunk_frames,
        scheduler=args.scheduler or "local",
        workers=args.workers,
        threads=args.threads_per_worker,
        overwrite=args.overwrite,
        status=TerminalBatchStatus(),
        log=lambda text: print(text, file=sys.stderr, flush=True),
    )
    fps = result.frames / result.seconds if result.seconds else 0.0
    print(
        f"{args.output}: {len(result.written)} written, {len(result.skipped)} "
        f"already done, {len(result.failed)} failed; {result.frames} frames in "
        f"{result.seconds:.1f} s ({fps:.1f} frames/s)"
    )
    for video, message in result.failed.items():
        named = str(video) in message
        print(f"error: {message if named else f'{video}: {message}'}", file=sys.stderr)
    if result.failed:
        print(
            f"{len(result.failed)} video(s) failed (listed above) and were skipped; "
            "the others were predicted",
            file=sys.stderr,
        )
    return 1 if result.failed else 0
