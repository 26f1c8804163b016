"""Multi-page TIFF stacks (one frame per page), as microscopes and sleap-io write them.

Read with tifffile, page by page, so opening reads no pixels beyond the first page.
TIFF is lossless here, so tifffile and OpenCV (used for image folders) give the
same pixels for the same data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from napari_sleap.io.video_base import VideoReader
from napari_sleap.io.video_images import detect_grayscale

#: Extensions read by :class:`TiffStackReader` when a single file is given.
TIFF_EXTS = (".tif", ".tiff")


def _as_hwc(page: np.ndarray, path: Path) -> np.ndarray:
    """One page as ``(height, width, channels)``: planar RGB is moved to the end."""
    if page.ndim == 2:
        return page[..., None]
    if page.ndim == 3 and page.shape[-1] in (1, 3, 4):
        return page[..., :3] if page.shape[-1] == 4 else page
    if page.ndim == 3 and page.shape[0] in (3, 4):
        return np.moveaxis(page[:3], 0, -1)
    raise ValueError(
        f"{path} has pages of shape {page.shape}; expected (h, w) or (h, w, 3). "
        "Save the stack with one 2-D or RGB image per page."
    )


class TiffStackReader(VideoReader):
    """A TIFF file whose pages are the frames.

    Args:
        path: The ``.tif``/``.tiff`` file.
        grayscale: True gives 1 channel, False 3; None decides from the first and
            middle pages.
    """

    backend = "tiff"

    def __init__(self, path: str | Path, grayscale: bool | None = None) -> None:
        super().__init__(path)
        if not self.path.is_file():
            raise FileNotFoundError(
                f"TIFF stack not found: {self.path}. Check the path, or move the "
                "file back to where it was."
            )
        self._tif: Any = None
        pages = self._pages()
        self._n = len(pages)
        if self._n == 0:
            raise ValueError(f"{self.path} has no pages")
        first = self._page(0)
        if grayscale is None:
            middle = self._page(self._n // 2) if self._n > 2 else first
            grayscale = detect_grayscale(first) and detect_grayscale(middle)
        self.grayscale = grayscale
        self._frame_shape = self._finish(first).shape
        self._dtype = first.dtype

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(frames, height, width, channels)``."""
        return (self._n, *self._frame_shape)

    @property
    def dtype(self) -> np.dtype:
        """The pages' dtype."""
        return self._dtype

    def _read(self, index: int) -> np.ndarray:
        frame = self._finish(self._page(index))
        if frame.shape != self._frame_shape:
            raise ValueError(
                f"{self.path} page {index} is {frame.shape}, page 0 is "
                f"{self._frame_shape}. All pages must have one size."
            )
        return frame

    def _close(self) -> None:
        if self._tif is not None:
            self._tif.close()
        self._tif = None

    def _drop_handles(self, state: dict) -> None:
        state["_tif"] = None

    def _pages(self) -> Any:
        if self._tif is None:
            import tifffile

            try:
                self._tif = tifffile.TiffFile(self.path)
            except (tifffile.TiffFileError, OSError) as err:
                raise ValueError(f"cannot read {self.path} as TIFF ({err})") from err
        return self._tif.pages

    def _page(self, index: int) -> np.ndarray:
        return _as_hwc(self._pages()[index].asarray(), self.path)

    def _finish(self, frame: np.ndarray) -> np.ndarray:
        if self.grayscale and frame.shape[2] == 3:
            if np.array_equal(frame[..., 0], frame[..., 1]) and np.array_equal(
                frame[..., 0], frame[..., 2]
            ):
                return frame[..., :1]
            if frame.dtype in (np.uint8, np.uint16, np.float32):
                rgb = np.ascontiguousarray(frame)
                return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None]
            weights = np.array([0.299, 0.587, 0.114])
            return np.round(frame @ weights)[..., None].astype(frame.dtype)
        if not self.grayscale and frame.shape[2] == 1:
            return np.repeat(frame, 3, axis=2)
        return frame
