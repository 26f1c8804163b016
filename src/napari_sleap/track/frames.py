"""Grayscale frames for optical flow, read forward without seeking where possible.

Tracking visits frames in order, so the reader keeps one decoder open and reads on
from its position; it seeks only for backward or long forward jumps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import sleap_io as sio

#: Forward jumps up to this many frames are decoded through rather than seeked.
READ_ON_LIMIT = 64
_CV2_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".webm"}


class FrameSource(Protocol):
    """Anything that returns frame ``idx`` as a 2-D uint8 grayscale array."""

    def __call__(self, idx: int) -> np.ndarray:
        """Return frame ``idx``."""
        ...


def to_gray(frame: np.ndarray) -> np.ndarray:
    """A 2-D uint8 image from (H, W), (H, W, 1) or (H, W, 3) frames."""
    frame = np.asarray(frame)
    if frame.ndim == 3:
        frame = frame[..., 0] if frame.shape[-1] == 1 else frame.mean(axis=-1)
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(frame)


class SequentialVideoReader:
    """OpenCV reader of a movie file that reads on instead of seeking.

    Args:
        path: The movie file.
    """

    def __init__(self, path: str | Path) -> None:
        import cv2

        self.path = Path(path)
        self._cv2 = cv2
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise FileNotFoundError(
                f"{self.path}: cannot open the video for optical flow; check the path "
                "or choose a tracker without flow (--tracker simple or kalman)"
            )
        self._pos = 0

    def __call__(self, idx: int) -> np.ndarray:
        """Return frame ``idx`` as grayscale."""
        cap = self._cap
        if idx < self._pos or idx - self._pos > READ_ON_LIMIT:
            cap.set(self._cv2.CAP_PROP_POS_FRAMES, idx)
            self._pos = idx
        while self._pos < idx:
            cap.grab()
            self._pos += 1
        ok, frame = cap.read()
        if not ok:
            raise ValueError(f"{self.path}: frame {idx} could not be decoded")
        self._pos = idx + 1
        if frame.ndim == 3:
            frame = self._cv2.cvtColor(frame, self._cv2.COLOR_BGR2GRAY)
        return frame

    def close(self) -> None:
        """Release the decoder."""
        self._cap.release()


class PackageVideoReader:
    """Frames through :mod:`napari_sleap.io.video` (image folders, HDF5, zarr, ...)."""

    def __init__(self, video: sio.Video) -> None:
        from napari_sleap.io.video import open_sleap_video

        self.reader = open_sleap_video(video)

    def __call__(self, idx: int) -> np.ndarray:
        """Return frame ``idx`` as grayscale."""
        return to_gray(self.reader.read(idx))

    def close(self) -> None:
        """Release the reader."""
        self.reader.close()


def open_frames(video: sio.Video) -> SequentialVideoReader | PackageVideoReader:
    """The fastest frame reader for a sleap-io video.

    Movie files are decoded forward by OpenCV (about 3x faster per frame than the
    package's PyAV reader here, which matters at a few ms per frame); everything
    else goes through :func:`napari_sleap.io.video.open_sleap_video`.

    Raises:
        FileNotFoundError: When the video file is missing (names the file and fix).
    """
    filename = video.filename
    if isinstance(filename, str):
        path = Path(filename)
        if path.suffix.lower() in _CV2_SUFFIXES:
            if not path.exists():
                raise FileNotFoundError(
                    f"{path}: video not found; flow tracking reads frames, so point "
                    "the labels at the moved video or use --tracker simple|kalman"
                )
            return SequentialVideoReader(path)
    return PackageVideoReader(video)
