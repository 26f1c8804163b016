"""Videos stored in HDF5: pixel datasets and the encoded frames of ``.pkg.slp`` files.

Two layouts, as in SLEAP's ``HDF5Video``:

- a numeric dataset ``(frames, height, width[, channels])`` (or channels-first,
  ``(frames, channels, width, height)``, SLEAP's other layout);
- an embedded-image dataset (``<group>/video``): one PNG/JPEG byte string per row,
  its ``format`` and ``channel_order`` in attributes and, beside it,
  ``frame_numbers`` saying which frame of the source video each row holds.

Embedded videos keep the source video's frame numbers, so frame ``i`` of the reader
is frame ``i`` of the labels; frames that were not embedded read as black, and
:attr:`HDF5Reader.frame_numbers` lists the ones that hold pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import h5py
import numpy as np

from napari_sleap.io.video_base import VideoReader, as_channels_last
from napari_sleap.io.video_images import detect_grayscale, to_layout

#: Extensions read by :class:`HDF5Reader`.
HDF5_EXTS = (".h5", ".hdf5", ".slp")


def _find_dataset(f: h5py.File) -> str | None:
    """The first video-like dataset: numeric rank 3-4 first, then embedded images."""
    found: dict[str, str] = {}

    def visit(name: str, obj: Any) -> None:
        if not isinstance(obj, h5py.Dataset):
            return
        if "numeric" not in found and obj.ndim == 4 and obj.dtype.kind in "uif":
            found["numeric"] = name
        if "embedded" not in found and name.split("/")[-1] == "video":
            found["embedded"] = name

    f.visititems(visit)
    return found.get("numeric") or found.get("embedded")


class HDF5Reader(VideoReader):
    """Frames from a dataset of an HDF5 file (``.h5``, ``.hdf5``, ``.slp``).

    Args:
        path: The HDF5 file.
        dataset: The dataset (or the group holding an embedded ``video`` dataset);
            None finds the first rank-4 dataset, else the first embedded video.
        input_format: "channels_last" (default) or "channels_first" for numeric
            datasets stored ``(frames, channels, width, height)``.
        grayscale: True gives 1 channel, False 3; None keeps what is stored
            (1 channel when the first frame's channels are equal).
    """

    backend = "hdf5"

    def __init__(
        self,
        path: str | Path,
        dataset: str | None = None,
        input_format: str = "channels_last",
        grayscale: bool | None = None,
    ) -> None:
        super().__init__(path)
        if not self.path.is_file():
            raise FileNotFoundError(
                f"HDF5 video not found: {self.path}. Check the path, or move the "
                "file back to where it was."
            )
        if input_format not in ("channels_last", "channels_first"):
            raise ValueError(
                f"input_format={input_format!r} for {self.path}: use "
                "'channels_last' or 'channels_first'"
            )
        self.input_format = input_format
        self._file: h5py.File | None = None
        f = self._h5()
        if not dataset:
            dataset = _find_dataset(f)
            if dataset is None and self.path.suffix.lower() == ".slp":
                raise ValueError(
                    f"{self.path} holds labels but no embedded frames. Open the "
                    "video its labels refer to (open_sleap_video(labels.video)), or "
                    "save a package with frames: labels.save('X.pkg.slp', "
                    "embed='user')."
                )
            if dataset is None:
                raise ValueError(
                    f"{self.path} holds no video dataset (no rank-4 array and no "
                    "embedded 'video' dataset). Pass `dataset=` naming the frames."
                )
        if dataset not in f:
            raise ValueError(
                f"{self.path} has no dataset {dataset!r}. Pass one of: "
                f"{', '.join(sorted(f.keys()))}."
            )
        if isinstance(f[dataset], h5py.Group):
            if "video" not in f[dataset]:
                raise ValueError(
                    f"{self.path}:{dataset} is a group without a 'video' dataset. "
                    "Pass the dataset that holds the frames."
                )
            dataset = f"{dataset}/video"
        self.dataset = dataset
        ds = f[dataset]
        self.embedded = ds.dtype.kind not in "uifb" or "format" in ds.attrs
        if self.embedded:
            self._init_embedded(ds, grayscale)
        else:
            self._init_numeric(ds, grayscale)

    # -- set-up --------------------------------------------------------------

    def _init_numeric(self, ds: h5py.Dataset, grayscale: bool | None) -> None:
        if ds.ndim not in (3, 4):
            raise ValueError(
                f"{self.path}:{self.dataset} has shape {ds.shape}; a video dataset "
                "is (frames, height, width[, channels]). Pass another `dataset`."
            )
        self.frame_numbers = np.arange(ds.shape[0])
        self._row_of: dict[int, int] | None = None
        first = self._raw_numeric(ds, 0)
        self.grayscale = first.shape[2] == 1 if grayscale is None else grayscale
        self._dtype = first.dtype
        self._frame_shape = self._finish(first).shape
        self._n = ds.shape[0]

    def _init_embedded(self, ds: h5py.Dataset, grayscale: bool | None) -> None:
        self.image_format = str(ds.attrs.get("format", "png"))
        order = ds.attrs.get("channel_order", "BGR")
        order = order.decode() if isinstance(order, bytes) else str(order)
        # OpenCV decodes to BGR; data stored "RGB" was written from RGB and needs
        # flipping, data stored "BGR" (SLEAP 1.x) comes back as it was written.
        self._bgr = order.upper() == "RGB"
        parent = ds.parent
        if "frame_numbers" in parent:
            self.frame_numbers = parent["frame_numbers"][:].astype(np.int64)
        else:
            self.frame_numbers = np.arange(ds.shape[0])
        self._row_of = {int(f): row for row, f in enumerate(self.frame_numbers)}
        if len(self.frame_numbers) == 0:
            raise ValueError(f"{self.path}:{self.dataset} holds no frames")
        first = self._decode(ds, 0)
        if grayscale is None:
            grayscale = detect_grayscale(first)
        self.grayscale = grayscale
        frame = to_layout(first, grayscale, self._bgr)
        self._frame_shape = frame.shape
        self._dtype = frame.dtype
        if "fps" in ds.attrs:
            self.fps = float(ds.attrs["fps"])
        stated = int(ds.attrs.get("frames", 0))
        self._n = max(stated, int(self.frame_numbers.max()) + 1)

    # -- VideoReader -----------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(frames, height, width, channels)``."""
        return (self._n, *self._frame_shape)

    @property
    def dtype(self) -> np.dtype:
        """The stored dtype (uint8 for embedded images)."""
        return self._dtype

    def has_frame(self, index: int) -> bool:
        """Whether frame ``index`` holds pixels (embedded videos hold a subset)."""
        if self._row_of is None:
            return 0 <= index < self._n
        return int(index) in self._row_of

    def _read(self, index: int) -> np.ndarray:
        ds = self._h5()[self.dataset]
        if not self.embedded:
            return self._finish(self._raw_numeric(ds, index))
        row = self._row_of.get(index)
        if row is None:
            return np.zeros(self._frame_shape, dtype=self._dtype)
        frame = to_layout(self._decode(ds, row), self.grayscale, self._bgr)
        if frame.shape != self._frame_shape:
            raise ValueError(
                f"{self.path}:{self.dataset} frame {index} is {frame.shape}, the "
                f"first embedded frame is {self._frame_shape}. Re-export the package."
            )
        return frame

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = None

    def _drop_handles(self, state: dict) -> None:
        state["_file"] = None

    # -- helpers ---------------------------------------------------------------

    def _h5(self) -> h5py.File:
        if self._file is None:
            try:
                self._file = h5py.File(self.path, "r")
            except OSError as err:
                raise ValueError(
                    f"cannot open {self.path} as HDF5 ({err}). The file may be "
                    "truncated or not HDF5."
                ) from err
        return self._file

    def _raw_numeric(self, ds: h5py.Dataset, index: int) -> np.ndarray:
        frame = ds[index]
        if self.input_format == "channels_first" and frame.ndim == 3:
            frame = np.transpose(frame, (2, 1, 0))
        return as_channels_last(frame)

    def _finish(self, frame: np.ndarray) -> np.ndarray:
        """Apply the grayscale choice to a stored numeric frame."""
        if self.grayscale and frame.shape[2] == 3:
            if np.issubdtype(frame.dtype, np.floating):
                weights = np.array([0.299, 0.587, 0.114], dtype=frame.dtype)
                return (frame @ weights)[..., None].astype(frame.dtype)
            return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)[
                ..., None
            ]
        if not self.grayscale and frame.shape[2] == 1:
            return np.repeat(frame, 3, axis=2)
        return frame

    def _decode(self, ds: h5py.Dataset, row: int) -> np.ndarray:
        data = np.asarray(ds[row])
        if data.dtype == object:
            data = np.frombuffer(data.item(), dtype=np.uint8)
        image = cv2.imdecode(data.view(np.uint8).ravel(), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise ValueError(
                f"{self.path}:{self.dataset} row {row} is not a decodable "
                f"{self.image_format} image. Re-export the package."
            )
        return image
