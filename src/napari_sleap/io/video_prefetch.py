"""Frame stepping in a viewer: decoded frames cached, the next ones read ahead.

A compressed video is cheap to read forward and dear to read backward: a step
back seeks to the keyframe before the frame and decodes up to it (~85 ms CPU a
step on the 1024x1024 fly clip, every step). :class:`PrefetchReader` wraps a
reader for a viewer:

- a step back that misses the cache decodes a short window of frames ending at
  the one asked for (one seek, then reading on), so the next steps back are hits;
- after each read a background thread, with its own decoder (a copy of the
  reader), reads ahead in the direction of travel: the next frames going
  forward, the window before the cached one going backward;
- decoded frames are kept in a bounded cache (least recently used out).

The foreground reader keeps reading on from where it is, as before; the cache
only adds hits. Pixels are the reader's own, so they are identical either way.
"""

from __future__ import annotations

import pickle
import threading
import weakref
from collections import OrderedDict

import numpy as np

from napari_sleap.io.video_base import VideoReader

#: Frames read ahead when stepping forward.
AHEAD = 8
#: Frames decoded per window when stepping backward.
BACK_WINDOW = 24
#: Cache size in bytes (decoded frames).
CACHE_BYTES = 192 * 2**20
#: How often an idle read-ahead thread checks that its reader is still used.
IDLE_CHECK_S = 2.0


class PrefetchReader(VideoReader):
    """A reader that caches decoded frames and reads ahead in a background thread.

    Args:
        inner: The reader to wrap (it serves cache misses in the caller's thread).
        ahead: Frames read ahead when stepping forward.
        back_window: Frames decoded per window when stepping backward.
        cache_bytes: Most bytes of decoded frames kept.
    """

    def __init__(
        self,
        inner: VideoReader,
        ahead: int = AHEAD,
        back_window: int = BACK_WINDOW,
        cache_bytes: int = CACHE_BYTES,
    ) -> None:
        super().__init__(inner.path)
        self.inner = inner
        self.source = inner.source
        self.backend = inner.backend
        self.fps = inner.fps
        self.ahead = ahead
        self.back_window = back_window
        frame_bytes = int(np.prod(inner.shape[1:])) * np.dtype(inner.dtype).itemsize
        self.capacity = max(ahead + 2 * back_window, cache_bytes // max(frame_bytes, 1))
        #: Reads served from the cache / by the caller's thread / by the thread.
        self.hits = self.misses = self.prefetched = 0
        self._init_threading()

    def _init_threading(self) -> None:
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._wake = threading.Condition()
        self._target: tuple[int, int] | None = None  # (frame, direction)
        self._last = -1
        self._thread: threading.Thread | None = None
        self._bg: VideoReader | None = None
        self._closed = False

    # -- VideoReader -----------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """The wrapped reader's shape."""
        return self.inner.shape

    @property
    def dtype(self) -> np.dtype:
        """The wrapped reader's dtype."""
        return self.inner.dtype

    def _read(self, index: int) -> np.ndarray:
        # A step back (not a jump) starts backward reading; anything else forward.
        stepping_back = 0 < self._last - index <= 2
        direction = -1 if stepping_back else 1
        self._last = index
        frame = self._cached(index)
        if frame is None:
            self.misses += 1
            if stepping_back:
                frame = self._read_window(index)
            else:
                frame = self.inner.read(index)
                self._store(index, frame)
        else:
            self.hits += 1
        self._schedule(index, direction)
        return frame.copy()

    def _read_window(self, index: int) -> np.ndarray:
        """Decode the frames just before ``index`` with it (one seek), cache them."""
        lo = max(0, index - self.back_window + 1)
        todo = [i for i in range(lo, index + 1) if not self._has(i)]
        frames = self.inner.read_frames(todo)
        for i, frame in zip(todo, frames, strict=True):
            self._store(i, frame)
        return frames[-1] if todo and todo[-1] == index else self._cached(index)

    def _close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(2.0)
        self._thread = None
        self.inner.close()
        if self._bg is not None:
            self._bg.close()
        self._bg = None
        with self._cache_lock:
            self._cache.clear()
        self._closed = False

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        for key in (
            "_cache",
            "_cache_lock",
            "_wake",
            "_thread",
            "_bg",
            "_target",
        ):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._init_threading()

    # -- the cache ---------------------------------------------------------------

    def _cached(self, index: int) -> np.ndarray | None:
        with self._cache_lock:
            frame = self._cache.get(index)
            if frame is not None:
                self._cache.move_to_end(index)
            return frame

    def _has(self, index: int) -> bool:
        with self._cache_lock:
            return index in self._cache

    def _store(self, index: int, frame: np.ndarray) -> None:
        with self._cache_lock:
            self._cache[index] = frame
            self._cache.move_to_end(index)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)

    # -- reading ahead -------------------------------------------------------------

    def _schedule(self, index: int, direction: int) -> None:
        """Point the background thread at what the next steps will want."""
        with self._wake:
            self._target = (index, direction)
            self._wake.notify()
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run,
                args=(weakref.ref(self),),
                daemon=True,
                name=f"prefetch {self.path.name}",
            )
            self._thread.start()

    def _plan(self, index: int, direction: int) -> list[int]:
        """Frames to read next for a viewer at ``index`` moving in ``direction``."""
        n = self.n_frames
        if direction > 0:
            return [
                i
                for i in range(index + 1, min(n, index + 1 + self.ahead))
                if not self._has(i)
            ]
        # Backward: when fewer than half a window is cached below, decode the
        # window before the cached run (ascending: one seek, then reading on).
        lo = index
        while lo > 0 and self._has(lo - 1):
            lo -= 1
        if index - lo >= self.back_window // 2 or lo == 0:
            return []
        return list(range(max(0, lo - self.back_window), lo))

    @staticmethod
    def _run(ref: weakref.ref) -> None:
        """The thread: read what the newest target asks for, until closed or gone.

        It holds the reader only weakly between jobs, so a reader nobody uses any
        more (its layer deleted) is collected with its cache, and the thread ends.
        """
        while True:
            me = ref()
            if me is None or me._closed:
                return
            wake = me._wake
            with wake:
                target, me._target = me._target, None
                if target is None:
                    del me
                    wake.wait(IDLE_CHECK_S)
                    continue
            me._prefetch(target)
            del me

    def _prefetch(self, target: tuple[int, int]) -> None:
        for i in self._plan(*target):
            if self._target is not None or self._closed:
                break  # the viewer moved on: plan again from there
            if self._has(i):
                continue
            try:
                frame = self._background().read(i)
            except Exception:  # a bad frame is the caller's to report
                break
            self._store(i, frame)
            self.prefetched += 1

    def _background(self) -> VideoReader:
        """The thread's own decoder: an unpickled copy of the wrapped reader."""
        if self._bg is None:
            self._bg = pickle.loads(pickle.dumps(self.inner))
        return self._bg


def prefetching(reader: VideoReader) -> VideoReader:
    """``reader`` wrapped in a :class:`PrefetchReader` where that pays (media files).

    Image folders, TIFF stacks, HDF5 and zarr read any frame at the same cost, so
    they are returned as they are.
    """
    if reader.backend != "media":
        return reader
    return PrefetchReader(reader, ahead=AHEAD, back_window=BACK_WINDOW)
