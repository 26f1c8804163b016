"""Find and validate the zarr v3 cache of a video (the read side of the cache).

A cache is written once by :mod:`napari_sleap.io.video_cache_writer`; readers
only look it up here, so :mod:`napari_sleap.io.video` can prefer a cache without
depending on the writer (which opens videos through it). The store holds one
array ``(frames, height, width, channels)``, one frame per chunk, compressed with
Zstandard level 1: on the 1024x1024 fly clip it read about as fast as lz4 and
wrote as fast as any codec while storing 3.7x smaller than raw frames (stronger
levels, delta filters and bit-shuffling saved under 6% and cost speed; measured
in ``bench/bench_video.py``). Its attributes record the source file's name,
size, modification time and frame count, so :func:`find_cache` can tell whether
a cache beside a video still matches it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import zarr

#: Attribute key under which a cache records where its frames came from.
CACHE_KEY = "napari_sleap_cache"
#: Bumped when the layout or the decoder changes, so old caches are not trusted.
CACHE_VERSION = 1


def cache_candidates(video: str | Path) -> list[Path]:
    """Where a cache of ``video`` may sit: ``<stem>.zarr`` or ``<name>.zarr``."""
    video = Path(video)
    return [
        video.with_name(video.stem + ".zarr"),
        video.with_name(video.name + ".zarr"),
    ]


def source_stamp(video: str | Path) -> dict[str, Any]:
    """The facts about a source file that a cache must match: name, size, mtime."""
    stat = Path(video).stat()
    return {
        "name": Path(video).name,
        "size": int(stat.st_size),
        "mtime_ns": int(stat.st_mtime_ns),
    }


def read_cache_info(store: str | Path) -> dict[str, Any] | None:
    """The provenance a cache recorded, or None when ``store`` is not our cache."""
    meta = Path(store) / "zarr.json"
    if not meta.is_file():
        return None
    try:
        array = zarr.open_array(store=str(store), mode="r")
    except Exception:  # not an array store, or unreadable: not a cache of ours
        return None
    info = array.attrs.get(CACHE_KEY)
    if not isinstance(info, dict):
        return None
    return {**info, "shape": list(array.shape)}


def is_valid_cache(store: str | Path, video: str | Path) -> bool:
    """Whether ``store`` is a complete cache of ``video`` as the file is now.

    Valid means: written by this package's current cache version, holding every
    frame (not a subset), and recording the video's current name, size and
    modification time.
    """
    info = read_cache_info(store)
    if info is None:
        return False
    try:
        stamp = source_stamp(video)
    except OSError:
        return False
    source = info.get("source", {})
    n = source.get("n_frames")
    return (
        info.get("version") == CACHE_VERSION
        and info.get("complete") is True
        and all(source.get(k) == v for k, v in stamp.items())
        and isinstance(n, int)
        and info.get("frames") == [0, n, 1]
        and info["shape"][0] == n
    )


def find_cache(video: str | Path) -> Path | None:
    """A valid zarr cache beside ``video`` (``<stem>.zarr``, then ``<name>.zarr``).

    Returns None when there is none, or only stale or partial ones.
    """
    for store in cache_candidates(video):
        if store.is_dir() and is_valid_cache(store, video):
            return store
    return None
