"""Frames from a zarr store: our decoded-video caches, or any array of frames."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from napari_sleap.io.video_base import VideoReader, as_channels_last

#: Name of the frames array when a store's root is a group.
DEFAULT_ARRAY = "video"


def open_frames_array(path: Path, dataset: str | None = None) -> zarr.Array:
    """Open the frames array of a store: the root array, or ``dataset`` in a group.

    Without ``dataset``, a group's ``video`` array is used, else its first array of
    rank 3 or 4.
    """
    try:
        node: Any = zarr.open(store=str(path), mode="r")
    except Exception as err:  # zarr raises several types for unreadable stores
        raise ValueError(
            f"cannot open {path} as a zarr store ({type(err).__name__}: {err}). "
            "Re-create the cache with `napari-sleap cache VIDEO -o STORE.zarr`."
        ) from err
    if isinstance(node, zarr.Array):
        if dataset:
            raise ValueError(
                f"{path} is a single array; drop `dataset={dataset!r}` to read it"
            )
        return node
    if dataset:
        if dataset not in node:
            raise ValueError(
                f"{path} has no array {dataset!r}; it holds: "
                f"{', '.join(sorted(node.array_keys())) or 'no arrays'}"
            )
        return node[dataset]
    if DEFAULT_ARRAY in node:
        return node[DEFAULT_ARRAY]
    for _name, array in sorted(node.arrays()):
        if array.ndim in (3, 4):
            return array
    raise ValueError(
        f"{path} holds no frames array (rank 3 or 4). Pass `dataset=` naming it."
    )


class ZarrReader(VideoReader):
    """A zarr array of frames ``(frames, height, width[, channels])``.

    Args:
        path: The ``.zarr`` store (a folder).
        dataset: The array inside a group store; None for the root array or a
            group's ``video`` array.
        grayscale: True gives 1 channel, False 3; None keeps what is stored.

    Attributes:
        attrs: The array's attributes (a cache's provenance lives there).
    """

    backend = "zarr"
    concurrent_reads = True  # chunks are independent files: dask may read in parallel

    def __init__(
        self,
        path: str | Path,
        dataset: str | None = None,
        grayscale: bool | None = None,
    ) -> None:
        super().__init__(path)
        if not self.path.exists():
            raise FileNotFoundError(
                f"zarr store not found: {self.path}. Check the path, or re-create "
                "it with `napari-sleap cache VIDEO -o STORE.zarr`."
            )
        self.dataset = dataset
        self.fallback: Path | None = None
        self._fallback_reader: VideoReader | None = None
        self._warned = False
        self._array: zarr.Array | None = open_frames_array(self.path, dataset)
        array = self._array
        if array.ndim not in (3, 4):
            raise ValueError(
                f"{self.path} holds an array of shape {array.shape}; frames are "
                "(frames, height, width[, channels])."
            )
        stored = 1 if array.ndim == 3 else int(array.shape[3])
        self.grayscale = stored == 1 if grayscale is None else grayscale
        channels = 1 if self.grayscale else 3
        if stored not in (1, 3):
            raise ValueError(
                f"{self.path} frames have {stored} channels; expected 1 or 3."
            )
        self._shape = (int(array.shape[0]), *map(int, array.shape[1:3]), channels)
        self._stored = stored
        self._dtype = np.dtype(array.dtype)
        self.attrs = dict(array.attrs)
        info = self.attrs.get("napari_sleap_cache")
        if isinstance(info, dict) and info.get("fps"):
            self.fps = float(info["fps"])

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(frames, height, width, channels)``."""
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        """The stored dtype."""
        return self._dtype

    def _frames(self) -> zarr.Array:
        if self._array is None:
            self._array = open_frames_array(self.path, self.dataset)
        return self._array

    def use_fallback(self, video: Path) -> None:
        """Read frames whose cache chunk is missing or damaged from ``video``.

        Set for caches found beside a video: a deleted or corrupted chunk would
        otherwise read as a black frame (zarr's fill value) and get poses.
        """
        self.fallback = Path(video)

    def _chunk_ok(self, index: int) -> bool:
        """Whether frame ``index``'s chunk file exists (one frame per chunk)."""
        array = self._frames()
        if array.chunks[0] != 1 or self.dataset:
            return True
        rest = "/".join("0" for _ in array.shape[1:])
        return (self.path / "c" / str(index) / rest).is_file()

    def _read_fallback(self, index: int, why: str) -> np.ndarray:
        from napari_sleap.io.video_media import MediaReader

        if not self._warned:
            self._warned = True
            warnings.warn(
                f"zarr cache {self.path}: {why}; reading {self.fallback} instead. "
                f"Fix: re-create the cache with `napari-sleap cache {self.fallback} "
                "--force`",
                stacklevel=3,
            )
        if self._fallback_reader is None:
            self._fallback_reader = MediaReader(self.fallback, grayscale=self.grayscale)
        return self._fallback_reader.read(index)

    def _read(self, index: int) -> np.ndarray:
        if self.fallback is not None:
            if not self._chunk_ok(index):
                return self._read_fallback(index, f"frame {index} is missing")
            try:
                return self._read_stored(index)
            except Exception as err:  # noqa: BLE001 - codecs raise many types
                why = f"frame {index} is damaged ({type(err).__name__})"
                return self._read_fallback(index, why)
        return self._read_stored(index)

    def _read_stored(self, index: int) -> np.ndarray:
        frame = as_channels_last(np.asarray(self._frames()[index]))
        if self._stored == 3 and self.grayscale:
            weights = np.array([0.299, 0.587, 0.114])
            frame = np.round(frame @ weights)[..., None].astype(frame.dtype)
        elif self._stored == 1 and not self.grayscale:
            frame = np.repeat(frame, 3, axis=2)
        return frame

    def _close(self) -> None:
        self._array = None
        if self._fallback_reader is not None:
            self._fallback_reader.close()
            self._fallback_reader = None

    def _drop_handles(self, state: dict) -> None:
        state["_array"] = None
        state["_fallback_reader"] = None
