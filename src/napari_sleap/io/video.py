"""Open any video SLEAP users have as a frame-exact reader or a lazy dask array.

This module is the public face of video I/O: :func:`open_video` picks the reader
for a path (media file, image folder, TIFF stack, HDF5 dataset, zarr store; a valid
zarr cache beside a media file is preferred), :func:`open_sleap_video` does the
same for a ``sleap_io.Video`` from a labels file, :func:`as_dask` wraps a reader as
a ``(frames, height, width, channels)`` dask array with one frame per chunk, and
:func:`as_lazy_array` as a dask-free numpy-like array. The zarr cache is written
by :func:`napari_sleap.io.video_cache_writer.cache_video`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import dask.array as da
import numpy as np
from dask.base import tokenize

from napari_sleap.io.video_base import LazyFrames, VideoReader
from napari_sleap.io.video_cache import find_cache, is_valid_cache
from napari_sleap.io.video_hdf5 import HDF5_EXTS, HDF5Reader
from napari_sleap.io.video_images import IMAGE_EXTS, ImageSequenceReader
from napari_sleap.io.video_media import MEDIA_EXTS, MediaReader
from napari_sleap.io.video_tiff import TIFF_EXTS, TiffStackReader
from napari_sleap.io.video_zarr import ZarrReader

if TYPE_CHECKING:
    import sleap_io

__all__ = [
    "HDF5_EXTS",
    "IMAGE_EXTS",
    "MEDIA_EXTS",
    "VIDEO_EXTS",
    "HDF5Reader",
    "ImageSequenceReader",
    "LazyFrames",
    "MediaReader",
    "TIFF_EXTS",
    "TiffStackReader",
    "VideoReader",
    "ZarrReader",
    "as_dask",
    "as_lazy_array",
    "find_cache",
    "is_valid_cache",
    "is_video_path",
    "open_sleap_video",
    "open_video",
]

#: Every extension :func:`open_video` reads as a whole video (image folders too).
VIDEO_EXTS = (*MEDIA_EXTS, *HDF5_EXTS, *TIFF_EXTS, ".zarr")


def is_video_path(path: str | Path) -> bool:
    """Whether ``path`` looks like something :func:`open_video` reads (by its name)."""
    path = Path(path)
    suffix = path.suffix.lower()
    return suffix in MEDIA_EXTS or suffix in (".h5", ".hdf5", ".zarr")


def open_video(
    path: str | Path | Sequence[str | Path],
    *,
    dataset: str | None = None,
    grayscale: bool | None = None,
    input_format: str = "channels_last",
    use_cache: bool = True,
) -> VideoReader:
    """Open a video for frame-exact reading, choosing the reader by what ``path`` is.

    Args:
        path: A media file (mp4, avi, mov, mkv, ...), an image folder or a list of
            image files, a multi-page TIFF, an HDF5 file (``.h5``, ``.hdf5``,
            ``.slp``/``.pkg.slp``), or a ``.zarr`` store.
        dataset: The dataset inside an HDF5 file or the array inside a zarr group;
            None finds it.
        grayscale: True gives 1 channel, False 3; None decides from the data.
        input_format: For HDF5 numeric datasets: "channels_last" or
            "channels_first".
        use_cache: For media files, read a valid zarr cache beside the video
            (``<stem>.zarr`` or ``<name>.zarr``, see :func:`find_cache`) instead of
            decoding, when it holds the channels asked for; False always decodes
            the video itself.

    Returns:
        A :class:`VideoReader`; its ``source`` is the file asked for even when a
        cache is read.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If it exists but cannot be read as a video.
    """
    if not isinstance(path, (str, Path)):
        return ImageSequenceReader(path, grayscale=grayscale)
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"video not found: {path}. Check the path, or move the video back to "
            "where it was."
        )
    suffix = path.suffix.lower()
    if path.is_dir():
        if suffix == ".zarr" or (path / "zarr.json").exists():
            return ZarrReader(path, dataset=dataset, grayscale=grayscale)
        return ImageSequenceReader(path, grayscale=grayscale)
    if suffix in HDF5_EXTS:
        return HDF5Reader(
            path, dataset=dataset, input_format=input_format, grayscale=grayscale
        )
    if suffix in TIFF_EXTS:
        return TiffStackReader(path, grayscale=grayscale)
    if suffix in IMAGE_EXTS:
        return ImageSequenceReader([path], grayscale=grayscale)
    if use_cache:
        cache = find_cache(path)
        if cache is not None:
            reader = ZarrReader(cache)
            # A cache answers only in the channels it was decoded to: asking for
            # the other kind decodes the video, so pixels never depend on it.
            if grayscale is None or grayscale == reader.grayscale:
                reader.source = path
                reader.use_fallback(path)  # damaged chunks read from the video
                return reader
    try:
        return MediaReader(path, grayscale=grayscale)
    except ValueError as err:
        if suffix in MEDIA_EXTS:
            raise
        known = ", ".join((*MEDIA_EXTS, *HDF5_EXTS, *IMAGE_EXTS, ".zarr"))
        raise ValueError(
            f"{path} is not a video this package reads ({err}). Known kinds: "
            f"{known}, and folders of images."
        ) from err


def open_sleap_video(video: sleap_io.Video, *, use_cache: bool = True) -> VideoReader:
    """Open the video of a labels file (``sleap_io.Video``) with this package's readers.

    Media, image-sequence and HDF5 (including embedded ``.pkg.slp``) videos open
    through the same readers as :func:`open_video`, honouring the dataset, layout
    and grayscale choice the labels file records.

    Raises:
        FileNotFoundError: If the video's file is missing, naming it and saying how
            to point the labels at its new place.
    """
    filename = video.filename
    metadata = dict(video.backend_metadata or {})
    backend = video.backend
    grayscale = metadata.get("grayscale")
    if grayscale is None and backend is not None:
        grayscale = getattr(backend, "grayscale", None)
    grayscale = None if grayscale is None else bool(grayscale)
    relink = (
        "Fix: move it back or beside the labels file, or give its folder with "
        "--video-search FOLDER (from Python: load_labels(path, "
        "video_search_paths=[FOLDER]), then save)."
    )
    if isinstance(filename, (list, tuple)):
        missing = [f for f in filename if not Path(f).is_file()]
        if missing:
            raise FileNotFoundError(
                f"video image not found: {missing[0]} ({len(missing)} of "
                f"{len(filename)} frames missing). {relink}"
            )
        return ImageSequenceReader(list(filename), grayscale=grayscale)
    path = Path(filename)
    if not path.exists():
        raise FileNotFoundError(f"video not found: {path}. {relink}")
    dataset = getattr(backend, "dataset", None) or metadata.get("dataset") or None
    input_format = (
        getattr(backend, "input_format", None)
        or metadata.get("input_format")
        or "channels_last"
    )
    return open_video(
        path,
        dataset=dataset if path.suffix.lower() in HDF5_EXTS else None,
        grayscale=grayscale,
        input_format=input_format,
        use_cache=use_cache,
    )


def as_lazy_array(reader: VideoReader, *, squeeze_gray: bool = False) -> LazyFrames:
    """Wrap ``reader`` as a numpy-like array that reads frames when indexed.

    Like :func:`as_dask` for a viewer, without dask's scheduling overhead (a few
    ms per frame) and without its pitfall of whole-array operations (see
    :func:`as_dask`).
    """
    return LazyFrames(reader, squeeze_gray=squeeze_gray)


def as_dask(reader: VideoReader, *, squeeze_gray: bool = False) -> da.Array:
    """Wrap ``reader`` as a lazy ``(frames, height, width, channels)`` dask array.

    One frame per chunk, so a viewer asking for frame ``i`` decodes only frame ``i``;
    nothing is read when the array is made. The graph is a single blockwise layer,
    so reading a frame costs the same however long the video is. Whole-array dask
    operations on the result (``array[..., 0]``, ``array * 2``) each add a layer
    with a task per frame, and every later frame read then pays graph work in
    proportion to the frame count (~0.2 s a frame at 150k frames): ask for what
    you need here (``squeeze_gray``) or index frames first.

    Args:
        reader: An open reader.
        squeeze_gray: Drop the channel axis of 1-channel videos, giving
            ``(frames, height, width)`` as napari's Image layer wants for gray.
    """
    frames = LazyFrames(reader, squeeze_gray=squeeze_gray)
    dtype = frames.dtype
    source = Path(getattr(reader, "source", reader.path))
    try:
        stamp = source.stat().st_mtime_ns
    except OSError:
        stamp = 0
    name = "video-" + tokenize(str(reader.path), str(source), frames.shape, stamp)
    return da.from_array(
        frames,
        chunks=(1, *frames.shape[1:]),
        name=name,
        lock=False,
        asarray=False,
        fancy=False,
        inline_array=True,
        meta=np.empty((0,) * frames.ndim, dtype=dtype),
    )
