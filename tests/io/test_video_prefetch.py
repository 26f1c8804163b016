"""The viewer's frame cache: same pixels as the plain reader, steps back from cache.

On the real clip (H.264, a keyframe every 250 frames): stepping backward inside
a group of pictures decodes a window once, later steps back are cache hits, and
the background thread reads ahead with its own decoder.
"""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest

from napari_sleap.io.video import as_lazy_array, open_video
from napari_sleap.io.video_prefetch import PrefetchReader, prefetching


def _wait(cond, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def clip_readers(clip_mp4):
    plain = open_video(clip_mp4, use_cache=False)
    cached = PrefetchReader(open_video(clip_mp4, use_cache=False), back_window=16)
    yield plain, cached
    cached.close()
    plain.close()


def test_steps_back_decode_one_window_then_hit_the_cache(clip_readers):
    plain, cached = clip_readers
    inner = cached.inner
    cached.read(740)  # the viewer sits mid-GOP (keyframes at 500 and 750)
    seeks = inner.seeks
    for k in range(1, 9):  # eight steps back
        np.testing.assert_array_equal(cached.read(740 - k), plain.read(740 - k))
    # one window decoded for the first step back, one seek; the rest were hits
    assert inner.seeks - seeks == 1
    assert cached.hits >= 7
    # two more steps leave less than half the window below: the thread decodes
    # the window before it, ahead of the steps that will want it
    for k in (9, 10):
        np.testing.assert_array_equal(cached.read(740 - k), plain.read(740 - k))
    assert _wait(lambda: all(cached._has(i) for i in range(708, 724)))
    hits = cached.hits
    for k in range(11, 30):
        np.testing.assert_array_equal(cached.read(740 - k), plain.read(740 - k))
    assert cached.hits - hits >= 13  # 730..711 came from the cache


def test_forward_steps_read_ahead_with_their_own_decoder(clip_readers):
    plain, cached = clip_readers
    cached.read(100)
    assert _wait(lambda: cached.prefetched >= cached.ahead)
    seeks = cached.inner.seeks
    for i in range(101, 101 + cached.ahead):
        np.testing.assert_array_equal(cached.read(i), plain.read(i))
    assert cached.inner.seeks == seeks  # the read-ahead never moved this decoder
    assert cached.hits >= cached.ahead


def test_a_jump_is_one_read_and_frames_are_copies(clip_readers):
    plain, cached = clip_readers
    frame = cached.read(1200)
    frame[:] = 0  # the caller's copy: the cache keeps the decoded frame
    np.testing.assert_array_equal(cached.read(1200), plain.read(1200))
    misses = cached.misses
    np.testing.assert_array_equal(cached.read(300), plain.read(300))  # far back
    assert cached.misses == misses + 1 and not any(
        cached._has(i) for i in range(280, 300)
    )  # a jump back decodes no window


def test_lazy_array_pickles_and_only_media_is_wrapped(clip_mp4, tmp_path):
    import tifffile

    reader = prefetching(open_video(clip_mp4, use_cache=False))
    assert isinstance(reader, PrefetchReader)
    data = as_lazy_array(reader, squeeze_gray=True)
    first = data[5]
    again = pickle.loads(pickle.dumps(reader))
    np.testing.assert_array_equal(again.read(5)[..., 0], first)
    again.close()
    reader.close()
    tifffile.imwrite(tmp_path / "s.tif", np.zeros((3, 8, 8), np.uint8))
    stack = open_video(tmp_path / "s.tif")
    assert prefetching(stack) is stack


def test_the_thread_ends_with_its_reader(clip_mp4):
    import gc
    import weakref

    reader = PrefetchReader(open_video(clip_mp4, use_cache=False))
    reader.read(10)
    thread = reader._thread
    assert thread.is_alive()
    end = time.monotonic() + 20
    while reader.prefetched < reader.ahead and time.monotonic() < end:
        time.sleep(0.02)  # the read-ahead finishes: the thread is idle again
    ref = weakref.ref(reader)
    del reader
    # the thread does not keep the reader (or its cache) alive
    assert _wait(lambda: gc.collect() >= 0 and ref() is None, timeout=10)
    thread.join(10)
    assert not thread.is_alive()
