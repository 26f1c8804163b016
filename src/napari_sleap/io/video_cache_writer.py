"""Decode a video once into a zarr v3 store, for fast scrubbing and training reads.

The writer side of the cache (the lookup and validation live in
:mod:`napari_sleap.io.video_cache`). Chunks are one frame each, compressed with
Zstandard level 1 (see that module for the measurements behind the choice).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import zarr
from zarr.codecs import ZstdCodec

from napari_sleap.io.atomic import clean_stale_partials, partial_path
from napari_sleap.io.video import open_video
from napari_sleap.io.video_base import VideoReader
from napari_sleap.io.video_cache import (
    CACHE_KEY,
    CACHE_VERSION,
    cache_candidates,
    source_stamp,
)
from napari_sleap.progress import ProgressFn, StopFlag, check_stop, no_progress

#: Zstandard level of the chunks.
ZSTD_LEVEL = 1
#: Frames handed to zarr per write; zarr compresses a batch's chunks concurrently.
WRITE_BATCH = 16


def cache_video(
    src: str | Path | VideoReader,
    dst: str | Path | None = None,
    *,
    frames: range | Sequence[int] | None = None,
    progress: ProgressFn | None = None,
    stop: StopFlag | None = None,
    overwrite: bool = True,
) -> Path:
    """Decode ``src`` into a zarr v3 store at ``dst``, atomically and cancellably.

    The store is written beside ``dst`` under a hidden name and renamed into place
    when complete, so ``dst`` is never a half-written cache; if stopped or failing,
    the partial store is removed.

    Args:
        src: A video path (decoded by its own reader, never by an existing cache)
            or an open :class:`VideoReader`.
        dst: The ``.zarr`` store to write; default ``<stem>.zarr`` beside ``src``.
        frames: A contiguous range of frames to store (a subset cache, e.g. for
            tests); default all. Subset caches are never picked by
            :func:`find_cache`.
        progress: Called as ``progress(done, total)`` after each batch of frames.
        stop: Checked between batches; when set, :class:`~napari_sleap.progress.
            Cancelled` is raised and nothing is left at ``dst``.
        overwrite: Replace an existing store at ``dst`` (only if it is a zarr store).

    Returns:
        The path of the finished store.
    """
    progress = progress or no_progress
    own_reader = not isinstance(src, VideoReader)
    reader = open_video(src, use_cache=False) if own_reader else src
    try:
        source = Path(reader.source)
        dst = Path(dst) if dst is not None else cache_candidates(source)[0]
        _check_destination(dst, source, overwrite)
        selected = _frame_range(frames, reader.n_frames, source)
        clean_stale_partials(dst)  # stores left by killed earlier runs
        tmp = partial_path(dst)
        try:
            _write_store(reader, tmp, selected, progress, stop)
            _replace_dir(tmp, dst)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    finally:
        if own_reader:
            reader.close()
    return dst


def _frame_range(frames: range | Sequence[int] | None, n: int, source: Path) -> range:
    if frames is None:
        return range(n)
    if not isinstance(frames, range):
        frames = list(frames)
        if not frames or frames != list(range(frames[0], frames[-1] + 1)):
            raise ValueError(
                f"frames for caching {source} must be a contiguous ascending range, "
                "e.g. range(100, 200)"
            )
        frames = range(frames[0], frames[-1] + 1)
    if frames.step != 1 or len(frames) == 0 or frames.start < 0 or frames.stop > n:
        raise ValueError(
            f"frames={frames} for caching {source}: pass a non-empty range with step "
            f"1 inside 0..{n} (the video has {n} frames)"
        )
    return frames


def _check_destination(dst: Path, source: Path, overwrite: bool) -> None:
    if dst.resolve() == source.resolve():
        raise ValueError(f"the cache path {dst} is the video itself: choose another")
    if not dst.exists():
        if not dst.parent.is_dir():
            raise FileNotFoundError(
                f"cannot write cache {dst}: folder {dst.parent} does not exist"
            )
        return
    if not overwrite:
        raise FileExistsError(f"{dst} exists; pass overwrite=True to replace it")
    if not (dst.is_dir() and (dst / "zarr.json").is_file()):
        raise ValueError(
            f"{dst} exists and is not a zarr store; refusing to replace it. Choose "
            "another output path or remove it."
        )


def _write_store(
    reader: VideoReader,
    path: Path,
    frames: range,
    progress: ProgressFn,
    stop: StopFlag | None,
) -> None:
    n, h, w, c = reader.shape
    source = Path(reader.source)
    info: dict[str, Any] = {
        "version": CACHE_VERSION,
        "complete": False,
        "source": {**source_stamp(source), "n_frames": n}
        if source.is_file()
        else {"name": source.name, "n_frames": n},
        "frames": [frames.start, frames.stop, 1],
        "reader": reader.backend,
        "grayscale": c == 1,
        "fps": getattr(reader, "fps", None),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    array = zarr.create_array(
        store=str(path),
        shape=(len(frames), h, w, c),
        chunks=(1, h, w, c),
        dtype=reader.dtype,
        compressors=[ZstdCodec(level=ZSTD_LEVEL)],
        attributes={CACHE_KEY: info},
        dimension_names=("frame", "y", "x", "channel"),
    )
    total = len(frames)
    progress(0, total)
    # Decoding the next batch overlaps compressing the last one (both release the
    # GIL); one batch in flight keeps memory bounded.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future | None = None
        done = 0
        for start in range(0, total, WRITE_BATCH):
            check_stop(stop)
            stop_at = min(start + WRITE_BATCH, total)
            block = reader.read_frames(
                range(frames.start + start, frames.start + stop_at)
            )
            if pending is not None:
                pending.result()
                progress(done, total)
            pending = pool.submit(array.__setitem__, slice(start, stop_at), block)
            done = stop_at
        if pending is not None:
            pending.result()
            progress(done, total)
    check_stop(stop)
    array.attrs[CACHE_KEY] = {**info, "complete": True}


def _replace_dir(tmp: Path, dst: Path) -> None:
    """Move the finished store ``tmp`` to ``dst``, keeping the old one until then."""
    if not dst.exists():
        os.replace(tmp, dst)
        return
    old = dst.with_name(f".{dst.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(dst, old)
    try:
        os.replace(tmp, dst)
    except BaseException:
        os.replace(old, dst)
        raise
    shutil.rmtree(old, ignore_errors=True)
