"""``napari-sleap cache VIDEO -o VIDEO.zarr``: decode a video once, scrub it fast."""

from __future__ import annotations

import argparse
import errno
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``cache`` subcommand."""
    p = subparsers.add_parser(
        "cache",
        help="decode a video into a zarr cache for fast scrubbing",
        description=(
            "Decode VIDEO once into a compressed zarr store (one frame per chunk). "
            "Readers then use the cache instead of the video whenever it sits "
            "beside the video as <stem>.zarr or <name>.zarr and still matches it."
        ),
    )
    p.add_argument("video", help="video file (mp4, avi, mov, mkv, ...), folder or .h5")
    p.add_argument(
        "-o",
        "--output",
        help="zarr store to write (default: <stem>.zarr beside the video)",
    )
    p.add_argument(
        "--frames",
        metavar="A-B",
        help="cache only frames A..B (inclusive); such subset caches are not used "
        "in place of the video",
    )
    p.add_argument(
        "--dataset", help="dataset inside an HDF5 video (default: found by looking)"
    )
    p.add_argument(
        "--no-overwrite",
        action="store_true",
        help="fail instead of replacing an existing store",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="decode again even when OUTPUT is already a valid cache of VIDEO",
    )
    p.set_defaults(run=run)


def parse_frame_span(text: str) -> range:
    """Parse ``A-B`` (inclusive) or a single frame ``A`` into a range."""
    try:
        if "-" in text:
            first, last = (int(part) for part in text.split("-", 1))
        else:
            first = last = int(text)
    except ValueError:
        raise ValueError(
            f"--frames {text!r}: write the first and last frame as A-B, e.g. 0-499"
        ) from None
    if first < 0 or last < first:
        raise ValueError(f"--frames {text!r}: need 0 <= A <= B")
    return range(first, last + 1)


#: Operating-system errors about the disk, not the video.
_DISK_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EIO}
)


def _decode_error(err: Exception) -> bool:
    """Whether ``err`` came from decoding the video (not the disk, not our checks)."""
    if type(err).__module__.split(".")[0] in ("av", "cv2", "imageio_ffmpeg"):
        return True
    if type(err).__name__ == "Cancelled":
        return False
    if isinstance(err, OSError):
        return err.errno not in _DISK_ERRNOS and err.filename is None
    return not isinstance(err, ValueError)


def _check_output(output: Path, video: Path) -> None:
    """Refuse a store path that is the video, a file, or in an unwritable folder."""
    from napari_sleap.io.outputs import check_output_folder, same_file

    if output.exists() and same_file(output, video):
        raise ValueError(
            f"-o {output}: is the video itself. Fix: give a .zarr path, e.g. "
            f"-o {video.with_suffix('.zarr')}"
        )
    if output.exists() and not (output / "zarr.json").is_file():
        raise ValueError(
            f"-o {output}: exists and is not a zarr store; refusing to replace it. "
            f"Fix: choose another -o, e.g. {video.with_suffix('.zarr')}"
        )
    check_output_folder(output, inputs=[video])


def run(args: argparse.Namespace) -> int:
    """Write the cache with a progress bar; prints the store's path."""
    from napari_sleap.io.video import is_valid_cache, open_video
    from napari_sleap.io.video_cache import cache_candidates
    from napari_sleap.io.video_cache_writer import cache_video
    from napari_sleap.progress import TerminalProgress

    frames = parse_frame_span(args.frames) if args.frames else None
    video = Path(args.video)
    output = Path(args.output) if args.output else cache_candidates(video)[0]
    if frames is None and not args.force and is_valid_cache(output, video):
        print(f"{output} is up to date (pass --force to decode again)", file=sys.stderr)
        print(output)
        return 0
    _check_output(output, video)
    reader = open_video(video, dataset=args.dataset, use_cache=False)
    with reader:
        try:
            out = cache_video(
                reader,
                output,
                frames=frames,
                progress=TerminalProgress(f"cache {reader.source.name}"),
                overwrite=not args.no_overwrite,
            )
        except FileExistsError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        except Exception as err:  # decoder errors come in many types
            if not _decode_error(err):
                raise
            raise ValueError(
                f"{video}: cannot be decoded to the end ({type(err).__name__}: "
                f"{err}); the video is probably damaged. Nothing was written to "
                f"{output}. Fix: re-encode it (e.g. `ffmpeg -i {video} -c:v libx264 "
                "fixed.mp4`) and cache that, or predict on the video directly "
                "(predict skips unreadable frames)"
            ) from err
    print(out, file=sys.stdout)
    return 0
