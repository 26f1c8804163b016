"""Image sequences as videos: a folder (or list) of png/jpg/tif/bmp files.

Frames are the files in plain sorted order, the order sleap-io's ``ImageVideo`` uses,
so frame indices in ``.slp`` files line up. Every still image in this package
(folders and the PNG/JPEG frames embedded in ``.pkg.slp`` files) is decoded by
OpenCV, so the same file always gives the same pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from napari_sleap.io.video_base import VideoReader

#: Extensions of image files that make up an image-sequence video.
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def find_images(folder: str | Path) -> list[Path]:
    """The image files in ``folder``, sorted by name."""
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS)


def to_layout(image: np.ndarray, grayscale: bool, bgr: bool = True) -> np.ndarray:
    """Turn an OpenCV-decoded image into ``(height, width, 1 or 3)`` RGB or gray.

    Args:
        image: What ``cv2.imread``/``cv2.imdecode`` returned (2-D, BGR or BGRA).
        grayscale: Whether to give 1 channel (luma of color images).
        bgr: Whether the decoded channels are blue-green-red, as OpenCV gives for
            ordinary files; False when OpenCV wrote the file from an RGB array (as
            SLEAP 1.x did for embedded images), so decoding gives RGB back.
    """
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        if grayscale:
            return image[..., None]
        return np.repeat(image[..., None], 3, axis=2)
    if bgr:
        image = image[..., ::-1]
    if not grayscale:
        return np.ascontiguousarray(image)
    if _is_gray(image):
        return np.ascontiguousarray(image[..., :1])
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)[..., None]


def _is_gray(image: np.ndarray) -> bool:
    """True when a 3-channel image has equal channels everywhere."""
    return bool(
        np.array_equal(image[..., 0], image[..., 1])
        and np.array_equal(image[..., 0], image[..., 2])
    )


def detect_grayscale(image: np.ndarray) -> bool:
    """True for a decoded image that is 2-D, 1-channel, or has equal channels."""
    if image.ndim == 2 or image.shape[2] == 1:
        return True
    return _is_gray(image[..., :3])


def read_image(path: Path) -> np.ndarray:
    """Decode one image file with OpenCV, naming the file when it cannot be read."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(
            f"cannot read image {path}: missing, empty or not an image. Remove it "
            "from the folder or replace it with a readable png/jpg/tif."
        )
    return image


class ImageSequenceReader(VideoReader):
    """A folder of images, or an explicit list of image files, as one video.

    Args:
        path: A folder (its images sorted by name become the frames) or a list of
            image files in frame order.
        grayscale: True gives 1 channel, False 3; None decides from the first image.
    """

    backend = "images"

    def __init__(
        self, path: str | Path | Sequence[str | Path], grayscale: bool | None = None
    ) -> None:
        if isinstance(path, (str, Path)):
            folder = Path(path)
            if not folder.is_dir():
                raise FileNotFoundError(
                    f"image folder not found: {folder}. Check the path, or move the "
                    "images back to where they were."
                )
            files = find_images(folder)
            if not files:
                raise ValueError(
                    f"{folder} has no images ({', '.join(IMAGE_EXTS)}). Point at "
                    "the folder that holds the frames."
                )
        else:
            files = [Path(p) for p in path]
            if not files:
                raise ValueError("an image-sequence video needs at least one file")
            missing = [p for p in files if not p.is_file()]
            if missing:
                raise FileNotFoundError(
                    f"image file not found: {missing[0]} ({len(missing)} of "
                    f"{len(files)} missing). Move the images back or update the list."
                )
            folder = files[0].parent
        super().__init__(folder)
        self.files = files
        first = read_image(files[0])
        if grayscale is None:
            # First and middle images, so a color video opening on black is color.
            grayscale = detect_grayscale(first) and (
                len(files) < 3 or detect_grayscale(read_image(files[len(files) // 2]))
            )
        self.grayscale = grayscale
        frame = to_layout(first, self.grayscale)
        self._frame_shape = frame.shape
        self._dtype = frame.dtype

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(frames, height, width, channels)``."""
        return (len(self.files), *self._frame_shape)

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the first image (uint8 or uint16)."""
        return self._dtype

    def _read(self, index: int) -> np.ndarray:
        path = self.files[index]
        frame = to_layout(read_image(path), self.grayscale)
        if frame.shape != self._frame_shape or frame.dtype != self._dtype:
            raise ValueError(
                f"image {path} is {frame.shape} {frame.dtype} but the sequence's "
                f"first image {self.files[0].name} is {self._frame_shape} "
                f"{self._dtype}. All frames must match: resize or remove it."
            )
        return frame
