"""``napari-sleap predict MODEL_DIR... INPUT -o OUT.slp``: poses for a video or .slp."""

from __future__ import annotations

import argparse
import difflib
import glob
import math
import sys
import time
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``predict`` subcommand."""
    p = subparsers.add_parser(
        "predict",
        help="predict poses on a video or a labels file with trained models",
        description=(
            "Run the model folders of one pipeline (single_instance; centroid + "
            "centered_instance[_id]; bottom_up; bottom_up_id; napari-sleap or "
            "SLEAP 1.x folders) over INPUT and write predicted instances to a "
            ".slp file SLEAP opens. Long runs stream parts to OUT.slp.parts/ and "
            "resume there when rerun with the same arguments."
        ),
    )
    p.add_argument("paths", nargs="+", metavar="MODEL_DIR... INPUT")
    p.add_argument("-o", "--output", required=True, metavar="OUT.slp")
    p.add_argument("--frames", metavar="SPEC", help="e.g. 1000-1499,1600 (per video)")
    p.add_argument(
        "--batch-size",
        type=int,
        help="frames per batch (default: 1 on a CPU, 8 on a GPU)",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--only-labeled-frames",
        action="store_true",
        help="with a .slp input: only frames with user labels",
    )
    group.add_argument(
        "--only-suggested-frames",
        action="store_true",
        help="with a .slp input: only the suggested frames",
    )
    p.add_argument("--peak-threshold", type=float, default=0.2)
    p.add_argument(
        "--refinement",
        choices=("integral", "quadratic", "local", "none"),
        default="integral",
        help="sub-pixel refinement where the model has no offsets head",
    )
    p.add_argument("--max-instances", type=int, help="most animals per frame")
    p.add_argument("--tracker", help="track after predicting (simple, flow, ...)")
    p.add_argument("--max-tracks", type=int, help="number of animals to track")
    p.add_argument(
        "--chunk-frames",
        type=int,
        default=500,
        help="frames per part on disk, bounding memory (500)",
    )
    p.add_argument("--mixed-precision", action="store_true", help="float16 (GPU)")
    p.add_argument(
        "--bfloat16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=(
            "bfloat16 compute in the portable engine (with --engine portable); "
            "--no-bfloat16: float32 whatever the engine. Default: auto, which "
            "uses bfloat16 for top-down on CPUs with AMX/AVX512-BF16 "
            "(docs/backends.md)"
        ),
    )
    p.add_argument("--xla", action="store_true", help="compile with XLA")
    p.add_argument(
        "--tta",
        choices=["auto", "none", "flip", "rot180", "rot90", "flip-rot90"],
        default="auto",
        help=(
            "top-down: average the crop model's maps over mirrored/turned "
            "crops (either engine). auto (default): rot90 for top-down models "
            "(4 turned views, ~2.3x the CPU; +0.03-0.08 OKS mAP where animals "
            "touch), none for the rest; none: fastest"
        ),
    )
    p.add_argument(
        "--engine",
        choices=("auto", "predictor", "portable", "default"),
        default="auto",
        help=(
            "auto (default): the portable engine in bfloat16 where the CPU "
            "computes bfloat16 natively and the models are top-down, else the "
            "predictor; predictor: the TensorFlow layers (old name: default); "
            "portable: the whole device path in keras.ops as one compiled "
            "function per batch, on any KERAS_BACKEND (tensorflow, jax, torch; "
            "see docs/backends.md)"
        ),
    )
    from napari_sleap.cli.predict_batch import add_batch_arguments

    add_batch_arguments(p)  # several videos / -o a folder: dask batch mode
    p.set_defaults(run=run)


#: Output endings that name a file, never the folder of batch mode.
_FILE_ENDINGS = (
    ".mp4",
    ".avi",
    ".mov",
    ".mkv",
    ".m4v",
    ".h5",
    ".hdf5",
    ".csv",
    ".json",
    ".nwb",
    ".png",
    ".jpg",
    ".tif",
    ".tiff",
    ".txt",
    ".zarr",
    ".yaml",
    ".keras",
)


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse numbers that would predict nothing useful, before loading a model."""
    if not math.isfinite(args.peak_threshold) or not 0 <= args.peak_threshold <= 1:
        raise ValueError(
            f"--peak-threshold {args.peak_threshold}: must be a number in 0..1 "
            "(a peak's confidence; default 0.2)"
        )
    if args.max_instances is not None and args.max_instances < 1:
        raise ValueError(
            f"--max-instances {args.max_instances}: must be at least 1 (leave it "
            "out for no cap)"
        )
    if args.max_tracks is not None and args.max_tracks < 1:
        raise ValueError(f"--max-tracks {args.max_tracks}: must be at least 1")
    if args.batch_size is not None and args.batch_size < 1:
        raise ValueError(f"--batch-size {args.batch_size}: must be at least 1")
    if args.chunk_frames < 1:
        raise ValueError(f"--chunk-frames {args.chunk_frames}: must be at least 1")
    out = Path(args.output)
    names_file = out.suffix.lower() in _FILE_ENDINGS or (
        out.exists() and not out.is_dir()
    )
    if names_file and not str(out).endswith(".slp"):
        raise ValueError(
            f"-o {out}: predict writes a .slp file (or, for several videos, a "
            f"folder of them). Fix: give -o {out.with_suffix('.slp')} or a "
            "folder"
        )


#: Endings of what predict reads (videos, labels, caches), never of a model folder.
_INPUT_ENDINGS = (".slp", ".zarr", *_FILE_ENDINGS)


def check_models_exist(paths: list[str]) -> None:
    """Name a model folder that does not exist, before the mode is chosen.

    The models come first; a missing one is not a folder, so it would be taken
    for a second video and the complaint would be batch mode's about ``-o``.
    Missing inputs (videos, ``.slp``) are left to the commands that read them.
    """
    for i, path in enumerate(paths[:-1]):
        here = Path(path)
        if here.is_dir():
            continue
        if here.exists() or glob.has_magic(path) or path.endswith(_INPUT_ENDINGS):
            return  # the inputs start here
        near = _similar_folders(here)
        hint = f" Did you mean {' or '.join(near)}?" if near else ""
        raise FileNotFoundError(
            f"model folder {path} does not exist (argument {i + 1}; the model "
            f"folders come first, then the video or .slp).{hint} Fix: give the "
            "folder a training run wrote (napari-sleap or SLEAP 1.x)"
        )


def _similar_folders(path: Path) -> list[str]:
    """Up to two folders beside ``path`` whose names are close to its name."""
    parent = path.parent
    try:
        names = (
            [p.name for p in parent.iterdir() if p.is_dir()] if parent.is_dir() else []
        )
    except OSError:
        return []
    close = difflib.get_close_matches(path.name, names, n=2, cutoff=0.6)
    return [str(parent / name) for name in close]


def check_output(args: argparse.Namespace) -> None:
    """Refuse -o that is an input or would replace user labels, before any work."""
    from napari_sleap.io.outputs import check_output_file

    if not str(args.output).endswith(".slp"):
        return  # batch mode checks its folder
    inputs = [p for p in args.paths if Path(p).exists()]
    check_output_file(
        args.output,
        kind="predictions",
        inputs=inputs,
        overwrite=args.overwrite,
        make_folder=True,  # predict makes OUT.slp's folder with its parts
    )


def run(args: argparse.Namespace) -> int:
    """Predict and save; prints a one-line summary."""
    from napari_sleap.cli.predict_batch import run_batch, wants_batch
    from napari_sleap.infer.predict import Written, predict
    from napari_sleap.infer.predictor import PredictorOptions
    from napari_sleap.progress import TerminalProgress

    check_arguments(args)
    check_models_exist(list(args.paths))
    if args.engine == "default":
        args.engine = "predictor"  # the old name
    if args.bfloat16 and (args.engine != "portable" or args.mixed_precision):
        raise ValueError(
            "--bfloat16 is offered by the portable engine only, instead of "
            "--mixed-precision. Fix: add --engine portable (and drop "
            "--mixed-precision); without --bfloat16 the auto engine already "
            "computes in bfloat16 where the CPU does so natively"
        )
    if wants_batch(args):
        if args.engine == "portable":
            raise ValueError(
                f"--engine {args.engine} is for one video or .slp; batch mode "
                "(several videos or -o a folder) runs the predictor engine. Fix: "
                "drop --engine, or predict one input at a time"
            )
        return run_batch(args)
    if len(args.paths) < 2:
        raise ValueError("give at least one MODEL_DIR and then the INPUT video/.slp")
    check_output(args)
    *models, source = args.paths
    if Path(source).suffix.lower() == ".zarr" or str(source).endswith(".zarr/"):
        raise ValueError(
            f"{source}: is a zarr frame cache, not a video. Fix: give the video it "
            "was made from (its cache beside it is used automatically)"
        )
    if not Path(source).exists():  # named as the input before any model loads
        raise FileNotFoundError(f"input not found: {source}")
    options = PredictorOptions(
        batch_size=args.batch_size,
        peak_threshold=args.peak_threshold,
        refinement=args.refinement,
        max_instances=args.max_instances,
        jit_compile=args.xla,
        mixed_precision=args.mixed_precision,
        tta=args.tta,
    )
    start = time.monotonic()
    from napari_sleap.infer.engine_choice import load_chosen

    precision = {None: "auto", True: "bfloat16", False: "float32"}[args.bfloat16]
    predictor, choice = load_chosen(models, options, args.engine, precision)
    tta = predictor.options.tta
    print(f"predict: {choice.describe()}; tta {tta}", file=sys.stderr, flush=True)
    result = predict(
        models,
        source,
        args.output,
        frames=args.frames,
        only_labeled=args.only_labeled_frames,
        only_suggested=args.only_suggested_frames,
        options=options,
        tracker=args.tracker,
        max_tracks=args.max_tracks,
        chunk_frames=args.chunk_frames,
        progress=TerminalProgress("predict"),
        return_labels=False,
        predictor=predictor,
    )
    if isinstance(result, Written):
        n_frames, n_inst = result.frames, result.instances
        bad, pipeline = result.bad_frames, result.pipeline
    else:  # tracked: the labels were built in memory
        info = result.provenance.get("napari_sleap.predict", {})
        bad, pipeline = info.get("bad_frames", []), info.get("pipeline")
        n_frames = len(result.labeled_frames)
        n_inst = sum(len(lf.instances) for lf in result.labeled_frames)
    print(
        f"{args.output}: {n_frames} frames, {n_inst} instances "
        f"({pipeline}) in {time.monotonic() - start:.1f} s, engine "
        f"{choice.engine} ({choice.precision})"
    )
    if bad:
        shown = ", ".join(f"video {v} frame {f}" for v, f in bad[:20])
        more = f" and {len(bad) - 20} more" if len(bad) > 20 else ""
        print(f"skipped {len(bad)} unreadable frame(s): {shown}{more}", file=sys.stderr)
    return 0
