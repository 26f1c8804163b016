"""The ``napari-sleap`` command: one subcommand per module in this package.

Each subcommand module defines ``add_parser(subparsers)`` and ``run(args) -> int``
and imports heavy libraries (TensorFlow) inside ``run`` only, so ``--help`` and
the light commands start fast.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS: list[str] = [
    "train",
    "evaluate",
    "export",
    "export_model",
    "track",
    "evaluate_tracks",
    "cache",
    "suggest",
    "predict",
    "live",
    "sample",
]


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="napari-sleap",
        description="Multi-animal pose estimation and tracking (SLEAP-compatible).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"napari_sleap.cli.{name}")
        module.add_parser(subparsers)
    for name, sub in subparsers.choices.items():
        if name in SEARCHES_VIDEOS:
            sub.add_argument(
                "--video-search",
                action="append",
                default=[],
                metavar="FOLDER",
                help="folder holding videos the labels file names but that are not "
                "beside it (repeatable)",
            )
    return parser


#: Commands that load labels files whose videos may have moved.
SEARCHES_VIDEOS = frozenset(
    {"train", "evaluate", "export", "track", "evaluate-tracks", "predict", "suggest"}
)

#: A fix for the operating-system errors a user can act on.
_OS_FIXES = {
    errno.EROFS: "the disk is read-only; choose an output on a writable disk",
    errno.EACCES: "no permission; choose a folder you may write, or fix its rights",
    errno.EPERM: "not permitted; choose a folder you may write",
    errno.ENOSPC: "the disk is full; free space or choose another disk "
    "(nothing was replaced: the previous file, if any, is intact)",
    errno.EDQUOT: "the disk quota is exhausted; free space or choose another disk",
    errno.EFBIG: "the file grew past what the disk or a size limit allows; free "
    "space or choose another disk (the previous file, if any, is intact)",
    errno.EISDIR: "a folder is where a file is wanted; give a file name",
    errno.ENOTDIR: "a file is where a folder is wanted; give a folder path",
}


def _os_error_message(err: OSError) -> str:
    where = err.filename or ""
    fix = _OS_FIXES.get(err.errno or -1)
    text = f"{where}: {err.strerror or err}" if where else str(err)
    return f"{text}. Fix: {fix}" if fix else text


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    from napari_sleap.io.labels import video_search_paths

    try:
        with video_search_paths(getattr(args, "video_search", None) or ()):
            return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"error: {_os_error_message(err)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
