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
_UNKNOWN = 2**62  # a read position past any frame, so the next read seeks
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


#: Decoder pixel formats whose first plane is 8-bit luma (the gray image itself).
LUMA_FIRST = {
    "gray",
    "nv12",
    "nv21",
    "yuv410p",
    "yuv411p",
    "yuv420p",
    "yuv422p",
    "yuv440p",
    "yuv444p",
    "yuvj420p",
    "yuvj422p",
    "yuvj440p",
    "yuvj444p",
}


def pixel_format(path: str | Path) -> str | None:
    """The decoder pixel format of a movie's first video stream (None if unknown)."""
    try:
        import av

        with av.open(str(path)) as container:
            return container.streams.video[0].codec_context.pix_fmt
    except Exception:  # any failure just means: convert the usual way
        return None


class SequentialVideoReader:
    """OpenCV reader of a movie file that reads on instead of seeking.

    For 8-bit YUV movies it hands back the decoder's luma plane as the gray image
    instead of converting every frame to BGR and back to gray, which halves the
    cost per frame (flow needs image structure, not calibrated grey levels; luma
    keeps the video's own range, e.g. 16..235).

    Args:
        path: The movie file.
        luma: Read the luma plane directly; None decides from the pixel format.
    """

    def __init__(self, path: str | Path, luma: bool | None = None) -> None:
        import cv2

        self.path = Path(path)
        self._cv2 = cv2
        if luma is None:
            luma = pixel_format(self.path) in LUMA_FIRST
        self.luma = luma
        self._open()
        self._size = (
            int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
        )

    def _open(self) -> None:
        cv2 = self._cv2
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise FileNotFoundError(
                f"{self.path}: cannot open the video for optical flow; check the path "
                "or choose a tracker without flow (--tracker simple or kalman)"
            )
        if self.luma and not self._cap.set(cv2.CAP_PROP_CONVERT_RGB, 0):
            self.luma = False
        self._pos = 0

    def _read(self) -> np.ndarray | None:
        if not self.luma:
            return self._cap.read()[1]
        # OpenCV warns on every raw frame that it passes the planes on as they
        # are; that is what is wanted here, so silence it for this call only.
        logging = self._cv2.utils.logging
        level = logging.getLogLevel()
        logging.setLogLevel(logging.LOG_LEVEL_ERROR)
        try:
            return self._cap.read()[1]
        finally:
            logging.setLogLevel(level)

    def __call__(self, idx: int) -> np.ndarray:
        """Return frame ``idx`` as grayscale."""
        cap = self._cap
        if idx < self._pos or idx - self._pos > READ_ON_LIMIT:
            cap.set(self._cv2.CAP_PROP_POS_FRAMES, idx)
            self._pos = idx
        while self._pos < idx:
            cap.grab()
            self._pos += 1
        frame = self._read()
        if frame is None:
            self._pos = _UNKNOWN  # where the decoder stands is unknown: seek next
            raise ValueError(f"{self.path}: frame {idx} could not be decoded")
        self._pos = idx + 1
        if self.luma and frame.shape[:2] != self._size:
            # The backend did not hand back a plain luma plane: convert instead.
            self._cap.release()
            self.luma = False
            self._open()
            return self(idx)
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
