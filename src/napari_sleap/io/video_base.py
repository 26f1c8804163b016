"""The common face of every video reader: shape, dtype and exact frame reads.

Each backend module (media, images, HDF5, zarr) subclasses :class:`VideoReader`.
Readers open their decoder lazily and drop it when pickled, so a reader can be
sent to another process (dask workers) and reopen there.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np


class VideoReader(ABC):
    """A video as frames ``(height, width, channels)`` read on demand.

    Attributes:
        path: The file (or folder, or store) the frames come from.
        source: The video this reader stands for: ``path``, or the original video
            when ``path`` is its zarr cache.
        backend: Short name of the reader family ("media", "images", "hdf5", "zarr").
        reads: How many frames were read so far (to check that opening is lazy).
        fps: Frames per second where the file says, else None.
    """

    backend: str = ""
    #: Whether ``_read`` may run in several threads at once (no shared decoder
    #: state); otherwise reads take turns under the reader's lock.
    concurrent_reads: bool = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.source = self.path
        self.reads = 0
        self.fps: float | None = None
        self._lock = threading.RLock()

    # -- what subclasses provide -------------------------------------------------

    @property
    @abstractmethod
    def shape(self) -> tuple[int, int, int, int]:
        """``(frames, height, width, channels)``."""

    @property
    @abstractmethod
    def dtype(self) -> np.dtype:
        """The dtype of every frame."""

    @abstractmethod
    def _read(self, index: int) -> np.ndarray:
        """Read frame ``index`` (already range-checked), called under the lock."""

    def _close(self) -> None:  # noqa: B027 (optional hook)
        """Release the decoder or file handle; the reader may reopen later."""

    # -- common behaviour ----------------------------------------------------------

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return self.shape[0]

    @property
    def height(self) -> int:
        """Frame height in pixels."""
        return self.shape[1]

    @property
    def width(self) -> int:
        """Frame width in pixels."""
        return self.shape[2]

    @property
    def channels(self) -> int:
        """1 for grayscale, 3 for color."""
        return self.shape[3]

    @property
    def ndim(self) -> int:
        """Always 4, so a reader can stand in for an array."""
        return 4

    def __len__(self) -> int:
        return self.n_frames

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` as ``(height, width, channels)``; negatives count back.

        Raises:
            IndexError: If ``index`` is outside ``[-n_frames, n_frames)``.
        """
        index = self._check_index(index)
        with self._guard():
            frame = self._read(index)
            self.reads += 1
        return frame

    def read_frames(self, indices: Iterable[int]) -> np.ndarray:
        """Return the frames at ``indices`` stacked as ``(n, height, width, channels)``.

        Frames are read in ascending order (so a run of indices decodes forward once)
        and returned in the order asked for.
        """
        indices = [self._check_index(i) for i in indices]
        out = np.empty((len(indices), *self.shape[1:]), dtype=self.dtype)
        order = sorted(range(len(indices)), key=indices.__getitem__)
        with self._guard():
            for k in order:
                out[k] = self._read(indices[k])
            self.reads += len(indices)
        return out

    def __getitem__(self, key: Any) -> np.ndarray:
        """Numpy-style indexing; the first axis picks frames, the rest slice them."""
        if not isinstance(key, tuple):
            key = (key,)
        first, rest = key[0], key[1:]
        if isinstance(first, (int, np.integer)):
            return self.read(int(first))[rest] if rest else self.read(int(first))
        if isinstance(first, slice):
            frames = self.read_frames(range(*first.indices(self.n_frames)))
        elif first is Ellipsis:
            frames = self.read_frames(range(self.n_frames))
            rest = key
        else:
            frames = self.read_frames(np.asarray(first).ravel().tolist())
        return frames[(slice(None), *rest)] if rest else frames

    def _guard(self) -> AbstractContextManager:
        """The lock around reads, or nothing for readers safe to read concurrently."""
        return nullcontext() if self.concurrent_reads else self._lock

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(self.n_frames):
            yield self.read(i)

    def close(self) -> None:
        """Release the decoder; reading again reopens it."""
        with self._lock:
            self._close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_lock"] = None
        self._drop_handles(state)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def _drop_handles(self, state: dict) -> None:  # noqa: B027 (optional hook)
        """Remove unpicklable open handles from a copy of ``__dict__``."""

    def __repr__(self) -> str:
        n, h, w, c = self.shape
        return (
            f"{type(self).__name__}('{self.path}', frames={n}, height={h}, "
            f"width={w}, channels={c}, dtype={np.dtype(self.dtype).name})"
        )

    def _check_index(self, index: int) -> int:
        n = self.n_frames
        i = int(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(
                f"frame {index} is out of range for {self.path} "
                f"({n} frames: 0..{n - 1})"
            )
        return i


def as_channels_last(frame: np.ndarray) -> np.ndarray:
    """Give a 2-D (grayscale) frame a trailing channel axis; leave 3-D frames alone."""
    return frame[..., None] if frame.ndim == 2 else frame


class LazyFrames:
    """A reader seen as a read-only numpy-like array, without dask.

    Indexing reads only the frames asked for. napari's Image layer accepts it as
    data, and :func:`~napari_sleap.io.video.as_dask` wraps it, so the channel
    squeeze happens at the source rather than as a dask layer over every frame.

    Args:
        reader: The open reader.
        squeeze_gray: Drop the channel axis of 1-channel videos: ``(frames, h, w)``.
    """

    def __init__(self, reader: VideoReader, squeeze_gray: bool = False) -> None:
        self.reader = reader
        self.squeezed = squeeze_gray and reader.channels == 1
        self.shape = reader.shape[:3] if self.squeezed else reader.shape
        self.dtype = np.dtype(reader.dtype)
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        if any(k is None for k in key):
            raise IndexError("LazyFrames does not support adding axes (None)")
        if Ellipsis in key:
            at = key.index(Ellipsis)
            fill = (slice(None),) * (self.ndim - len(key) + 1)
            key = key[:at] + fill + key[at + 1 :]
        if len(key) > self.ndim:
            raise IndexError(f"too many indices for an array of {self.ndim} dims")
        key = key + (slice(None),) * (self.ndim - len(key))
        return self.reader[key + (0,)] if self.squeezed else self.reader[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        frames = self[...]
        return frames if dtype is None else frames.astype(dtype)

    def __repr__(self) -> str:
        return f"LazyFrames({self.reader!r}, shape={self.shape})"
