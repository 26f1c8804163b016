"""The zarr cache: round trip, validity, atomic and cancellable writes, CLI, dask."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import zarr

from napari_sleap.cli import main
from napari_sleap.io.video import (
    MediaReader,
    ZarrReader,
    as_dask,
    as_lazy_array,
    find_cache,
    is_valid_cache,
    open_video,
)
from napari_sleap.io.video_cache import CACHE_KEY
from napari_sleap.io.video_cache_writer import cache_video
from napari_sleap.progress import Cancelled


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_clip_cache_round_trip_across_keyframe(clip_mp4: Path, tmp_path) -> None:
    frames = range(240, 262)  # crosses the keyframe at 250
    calls: list[tuple[int, int]] = []
    store = cache_video(
        clip_mp4,
        tmp_path / "clip.zarr",
        frames=frames,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[0] == (0, 22) and calls[-1] == (22, 22)
    cached = open_video(store)
    assert isinstance(cached, ZarrReader)
    assert cached.shape == (22, 1024, 1024, 1)
    source = open_video(clip_mp4, use_cache=False)
    for k, i in enumerate(frames):
        np.testing.assert_array_equal(cached.read(k), source.read(i))
    array = zarr.open_array(str(store), mode="r")
    assert array.chunks == (1, 1024, 1024, 1)
    assert array.compressors  # compressed, not raw
    info = array.attrs[CACHE_KEY]
    assert info["source"]["name"] == "clip.mp4" and info["source"]["n_frames"] == 1500
    assert info["frames"] == [240, 262, 1] and info["complete"] is True
    # A subset cache is never taken for the whole video.
    assert not is_valid_cache(store, clip_mp4)


def test_find_cache_prefers_valid_and_ignores_stale(small_video: Path) -> None:
    assert find_cache(small_video) is None
    store = cache_video(small_video)  # default: <stem>.zarr beside the video
    assert store == small_video.with_name("small.zarr")
    assert find_cache(small_video) == store
    reader = open_video(small_video)
    assert isinstance(reader, ZarrReader) and reader.source == small_video
    assert reader.fps == pytest.approx(25.0)
    # Asking for other channels than the cache holds decodes the video instead.
    color = open_video(small_video, grayscale=False)
    assert isinstance(color, MediaReader) and color.channels == 3
    direct = open_video(small_video, use_cache=False)
    assert isinstance(direct, MediaReader)
    for i in (0, 9, 29):
        np.testing.assert_array_equal(reader.read(i), direct.read(i))
    # Touching the video makes the cache stale: it is ignored, the video decoded.
    stat = small_video.stat()
    os.utime(small_video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert find_cache(small_video) is None
    assert isinstance(open_video(small_video), MediaReader)
    # <name>.zarr is the second place looked at.
    other = cache_video(small_video, small_video.with_name("small.mp4.zarr"))
    assert find_cache(small_video) == other


def test_cancel_leaves_no_partial_store(small_video: Path) -> None:
    stop = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 16:
            stop.set()

    dst = small_video.with_name("cancelled.zarr")
    with pytest.raises(Cancelled):
        cache_video(small_video, dst, progress=progress, stop=stop)
    assert not dst.exists()
    assert _leftovers(small_video.parent) == []


def test_cancel_keeps_the_previous_store(small_video: Path) -> None:
    dst = cache_video(small_video, frames=range(0, 5))
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        cache_video(small_video, dst, stop=stop)
    assert open_video(dst).n_frames == 5
    assert _leftovers(small_video.parent) == []
    cache_video(small_video, dst)  # replacing a finished store works
    assert open_video(dst).n_frames == 30


def test_cache_refuses_bad_destinations_and_frames(small_video: Path) -> None:
    folder = small_video.with_name("stuff.zarr")
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not a zarr store"):
        cache_video(small_video, folder)
    assert (folder / "keep.txt").exists()
    with pytest.raises(ValueError, match="0..30"):
        cache_video(small_video, small_video.with_name("x.zarr"), frames=range(20, 40))
    with pytest.raises(FileNotFoundError, match="no_such_dir"):
        cache_video(small_video, small_video.parent / "no_such_dir" / "x.zarr")
    with pytest.raises(FileNotFoundError, match="absent.mp4"):
        cache_video(small_video.with_name("absent.mp4"))


def test_cli_cache(small_video: Path, capsys) -> None:
    out = small_video.with_name("cli.zarr")
    assert main(["cache", str(small_video), "-o", str(out), "--frames", "3-7"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert open_video(out).n_frames == 5
    assert main(["cache", str(small_video), "-o", str(out), "--no-overwrite"]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["cache", str(small_video.with_name("none.mp4"))]) == 1
    assert "none.mp4" in capsys.readouterr().err
    assert main(["cache", str(small_video), "--frames", "x"]) == 1
    capsys.readouterr()
    assert main(["cache", str(small_video)]) == 0  # default <stem>.zarr
    full = small_video.with_name("small.zarr")
    assert capsys.readouterr().out.strip() == str(full)
    stamp = (full / "zarr.json").stat().st_mtime_ns
    assert main(["cache", str(small_video)]) == 0
    assert "up to date" in capsys.readouterr().err
    assert (full / "zarr.json").stat().st_mtime_ns == stamp


def test_as_dask_is_lazy_with_one_frame_chunks(clip_mp4: Path) -> None:
    reader = open_video(clip_mp4, use_cache=False)
    reads = reader.reads
    array = as_dask(reader)
    assert isinstance(array, da.Array)
    assert array.shape == (1500, 1024, 1024, 1) and array.dtype == np.uint8
    assert array.chunks[0] == (1,) * 1500
    assert array.chunksize == (1, 1024, 1024, 1)
    assert reader.reads == reads, "making the dask array must decode nothing"
    np.testing.assert_array_equal(array[1250].compute(), reader.read(1250))
    block = array[498:502, 100:200, 50:60].compute()
    assert block.shape == (4, 100, 10, 1)
    np.testing.assert_array_equal(block[2], reader.read(500)[100:200, 50:60])
    gray = as_dask(reader, squeeze_gray=True)
    assert gray.shape == (1500, 1024, 1024) and gray.chunksize == (1, 1024, 1024)
    # One graph layer: the squeeze happens at the source, not as a per-frame
    # dask layer that would make every frame read walk all 1500 tasks.
    assert len(gray.dask.layers) == 1 and len(array.dask.layers) == 1
    np.testing.assert_array_equal(gray[7].compute(), reader.read(7)[..., 0])


def test_lazy_array_indexing(small_video: Path) -> None:
    reader = open_video(small_video, use_cache=False)
    frames = reader.read_frames(range(30))
    lazy = as_lazy_array(reader)
    assert lazy.shape == (30, 64, 96, 1) and lazy.ndim == 4 and len(lazy) == 30
    gray = as_lazy_array(reader, squeeze_gray=True)
    assert gray.shape == (30, 64, 96) and gray.dtype == np.uint8
    reads = reader.reads
    np.testing.assert_array_equal(gray[12], frames[12, ..., 0])
    assert reader.reads == reads + 1
    np.testing.assert_array_equal(gray[3:6, 10:20], frames[3:6, 10:20, :, 0])
    np.testing.assert_array_equal(gray[..., 5], frames[..., 5, 0])
    np.testing.assert_array_equal(lazy[[4, 2], ..., 0], frames[[4, 2], ..., 0])
    np.testing.assert_array_equal(np.asarray(lazy), frames)
    with pytest.raises(IndexError):
        gray[1, 2, 3, 4]


def test_zarr_reads_run_concurrently_and_correctly(small_video: Path) -> None:
    store = cache_video(small_video)
    cached = open_video(store)
    assert cached.concurrent_reads
    expected = open_video(small_video, use_cache=False).read_frames(range(30))
    array = as_dask(cached)
    np.testing.assert_array_equal(array.compute(scheduler="threads"), expected)
