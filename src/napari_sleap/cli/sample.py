"""``napari-sleap sample``: write the synthetic two-animal sample (video + labels)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``sample`` subcommand."""
    p = subparsers.add_parser(
        "sample",
        help="make the synthetic two-animal sample (video, ground truth, training)",
        description=(
            "Write sample.mp4, sample_gt.slp (every frame) and sample_train.slp "
            "(every 10th of the first 75%% of frames) into a folder. The same "
            "arguments always give the same files."
        ),
    )
    p.add_argument("-o", "--out", type=Path, default=Path("sample_data"), help="folder")
    p.add_argument("--frames", type=int, default=400, help="number of frames")
    p.add_argument("--size", type=int, default=384, help="frame side in pixels (even)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Make the sample and print where it went."""
    import time

    from napari_sleap.io.outputs import check_output_folder
    from napari_sleap.progress import TerminalProgress
    from napari_sleap.sample import make_sample

    check_output_folder(args.out, option="-o")
    start = time.monotonic()
    paths = make_sample(
        args.out,
        n_frames=args.frames,
        size=args.size,
        seed=args.seed,
        progress=TerminalProgress("sample"),
    )
    print(f"video:    {paths.video}")
    print(f"labels:   {paths.gt}")
    print(f"training: {paths.train}")
    print(f"made in {time.monotonic() - start:.1f} s")
    return 0
