"""Frames and timing for the device check: OpenCV decode only, no project imports.

The GPU machines have OpenCV but may lack imageio-ffmpeg and PyAV, so frames are
decoded with ``cv2.VideoCapture``. Several decoder threads (each its own capture
on its own part of the clip; OpenCV releases the GIL while decoding) keep a
fast accelerator fed; :func:`decode_rate` measures decoding alone.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np


def _gray(frame: np.ndarray) -> np.ndarray:
    import cv2

    if frame.ndim == 3 and frame.shape[2] == 3:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    return frame[..., None] if frame.ndim == 2 else frame


@functools.lru_cache(maxsize=8)
def _count_frames(path: str) -> int:
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.grab():
        n += 1
    cap.release()
    return n


def clip_length(path: str | Path) -> int:
    """Frames in the clip (counted by decoding once: container counts can lie)."""
    n = _count_frames(str(path))
    if n == 0:
        raise ValueError(f"{path}: OpenCV decodes no frame from it")
    return n


def read_frames(path: str | Path, count: int, start: int = 0) -> np.ndarray:
    """``count`` gray frames ``(N, H, W, 1)`` uint8 from ``start`` (wraps around)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    frames = []
    while len(frames) < count:
        ok, frame = cap.read()
        if not ok:
            cap.release()
            cap = cv2.VideoCapture(str(path))
            ok, frame = cap.read()
            if not ok:
                raise ValueError(f"{path}: OpenCV could not decode a frame")
        frames.append(_gray(frame))
    cap.release()
    return np.stack(frames)


class FrameStream:
    """Decoded gray frames from ``threads`` decoders, looping over the clip.

    Each thread decodes its own share of the clip with its own capture; frames
    arrive in decode order per thread (interleaved across threads), which is
    fine for throughput figures. Use as a context manager; :meth:`batches`
    yields ``(B, H, W, 1)`` uint8 arrays.
    """

    def __init__(self, path: str | Path, threads: int = 2, prefetch: int = 256):
        self.path = str(path)
        self.threads = max(1, threads)
        self.length = clip_length(path)
        self._queue: queue.Queue = queue.Queue(maxsize=prefetch)
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self.errors: list[str] = []

    def _decode(self, start: int) -> None:
        import cv2

        try:
            while not self._stop.is_set():
                cap = cv2.VideoCapture(self.path)
                cap.set(cv2.CAP_PROP_POS_FRAMES, start)
                while not self._stop.is_set():
                    ok, frame = cap.read()
                    if not ok:
                        break
                    self._queue.put(_gray(frame))
                cap.release()
                start = 0
        except Exception as err:  # report, the consumer raises
            self.errors.append(f"{type(err).__name__}: {err}")
            self._queue.put(None)

    def __enter__(self) -> FrameStream:
        step = self.length // self.threads
        for i in range(self.threads):
            t = threading.Thread(target=self._decode, args=(i * step,), daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._workers:
            while t.is_alive():
                with contextlib.suppress(queue.Empty):
                    self._queue.get(timeout=0.01)

    def drain(self) -> int:
        """Drop the frames decoded so far (the decoders go on); returns how many."""
        n = 0
        with contextlib.suppress(queue.Empty):
            while True:
                item = self._queue.get_nowait()
                if item is None:
                    raise RuntimeError(f"decoder failed: {'; '.join(self.errors)}")
                n += 1
        return n

    def frame(self) -> np.ndarray:
        """The next decoded frame."""
        item = self._queue.get()
        if item is None:
            raise RuntimeError(f"decoder failed: {'; '.join(self.errors)}")
        return item

    def batches(self, batch: int) -> Iterator[np.ndarray]:
        """Endless ``(batch, H, W, 1)`` uint8 batches."""
        while True:
            yield np.stack([self.frame() for _ in range(batch)])


def decode_rate(path: str | Path, threads: int, seconds: float) -> dict:
    """Decoded frames/s of ``threads`` decoders for about ``seconds``."""
    with FrameStream(path, threads) as stream:
        stream.frame()  # decoders started
        t0 = time.perf_counter()
        n = 0
        while time.perf_counter() - t0 < seconds:
            stream.frame()
            n += 1
        dt = time.perf_counter() - t0
    return {"threads": threads, "frames": n, "seconds": round(dt, 3), "fps": n / dt}


def percentile_ms(times: list[float], q: float) -> float:
    """The ``q``-th percentile of ``times`` (seconds) in milliseconds."""
    return float(np.percentile(np.asarray(times) * 1e3, q))


def timed_calls(
    call: Callable[[], object], seconds: float, min_calls: int = 3
) -> list[float]:
    """Seconds of each of ``call()``'s runs: at least ``min_calls``, then until
    ``seconds`` have passed."""
    times: list[float] = []
    t_end = time.perf_counter() + seconds
    while len(times) < min_calls or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return times
