"""npe2 reader: .slp labels, videos, image folders, TIFF stacks, .zarr -> layers.

Thin: labels come from :mod:`napari_sleap.io.labels`, frames from
:mod:`napari_sleap.io.video`, layer data from :mod:`napari_sleap.napari.layers.convert`.

TIFF: a multi-page file is a stack of frames (as microscopes write them) and opens
as a lazy video, one page per frame. A single-page TIFF is one picture, not a
video: the reader declines it (returns None), so napari's own reader shows it
with its dtype and channels. Since npe2 matches readers by file name, napari asks
once which plugin opens ``*.tif`` files (and can remember the choice).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from napari_sleap.io.formats import is_labels_path
from napari_sleap.io.labels import load_labels
from napari_sleap.io.relink import unusable_videos
from napari_sleap.io.video import open_video
from napari_sleap.io.video_images import IMAGE_EXTS
from napari_sleap.io.video_media import MEDIA_EXTS
from napari_sleap.io.video_tiff import TIFF_EXTS
from napari_sleap.napari.colormaps import tracks_colormap
from napari_sleap.napari.layers.convert import (
    META_KEY,
    LayerDataTuple,
    labels_to_layers,
)
from napari_sleap.napari.layers.video import image_layer, labels_video_layer

ReaderFunction = Callable[[Any], list[LayerDataTuple]]

#: The fix a missing or wrong video's warning names in the viewer.
RELINK_FIX = (
    "Fix: point at the video in the Missing videos panel (it opens by itself; "
    "Plugins > napari-sleap > Missing videos), then save the labels."
)


def get_reader(path: str | list[str]) -> ReaderFunction | None:
    """Return a reader for ``path`` if this plugin reads it, else None."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    p = Path(path)
    name = p.name.lower()
    if name.endswith(".slp") or is_labels_path(p):  # or DeepLabCut, COCO, ...
        return read_slp
    if p.is_dir():
        is_zarr = name.endswith(".zarr") or (p / "zarr.json").exists()
        has_images = any(f.suffix.lower() in IMAGE_EXTS for f in p.iterdir())
        return read_video if is_zarr or has_images else None
    if p.suffix.lower() in MEDIA_EXTS:
        return read_video
    if p.suffix.lower() in TIFF_EXTS and is_tiff_stack(p):
        return read_video
    return None


def is_tiff_stack(path: Path) -> bool:
    """True for a readable TIFF with more than one page (frames of a video)."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            pages = tif.pages
            return len(pages) > 1
    except (tifffile.TiffFileError, OSError, ValueError):
        return False


def read_video(path: str | list[str]) -> list[LayerDataTuple]:
    """Open a video, image folder or zarr cache as one lazy Image layer."""
    path = path[0] if isinstance(path, list) else path
    reader = open_video(path)
    _link_in_current_viewer()  # names the slider's axis "frame"
    return [image_layer(reader, Path(path).name)]


def read_slp(path: str | list[str]) -> list[LayerDataTuple]:
    """The npe2 reader of .slp files: :func:`slp_layers`, linked once in a viewer.

    npe2 gives a reader no viewer and no hook for "layers added", so the reader
    asks the current viewer to link napari-sleap layers as they land; the
    linking itself (edges follow points, tracks follow the frame, windows) is
    :func:`napari_sleap.napari.sync.skeleton_link.install`, which the docks call
    too. A video that is missing (or not the labeled one) opens the Missing
    videos panel (:mod:`napari_sleap.napari.docks.relink`).
    """
    layers = slp_layers(path)
    _link_in_current_viewer()
    labels = [k["metadata"][META_KEY]["labels"] for _, k, t in layers if t == "points"]
    shown = sum(kind == "image" for _, _, kind in layers)
    if labels and shown < len(labels[0].videos):  # a video is missing or wrong
        _offer_relink()  # as SLEAP asks where a moved video went
    return layers


def slp_layers(path: str | list[str]) -> list[LayerDataTuple]:
    """A .slp file as layer data only (no viewer): videos, points, edges, tracks.

    One Image layer per video whose file is found, then per video the instances
    Points, the skeleton-edge Vectors and the Tracks layer.
    """
    path = path[0] if isinstance(path, list) else path
    # One load: a missing video is reported as a warning, the labels still open;
    # the fix it names is the viewer's (the Missing videos panel).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        labels = load_labels(path, missing_videos="warn")
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, UserWarning) and "\nFix:" in text:
            text = text.split("\nFix:")[0] + "\n" + RELINK_FIX
        warnings.warn(text, w.category, stacklevel=2)
    layers: list[LayerDataTuple] = []
    # Both were reported by load_labels; neither is shown as if it were the video.
    missing = {id(v) for v in unusable_videos(labels)}
    for vi, video in enumerate(labels.videos):
        if id(video) in missing:
            continue  # already reported above
        try:
            layers.append(labels_video_layer(video, vi, str(path)))
        except (FileNotFoundError, ValueError) as err:
            warnings.warn(f"{path}: {err}", stacklevel=2)
    for data, kwargs, kind in labels_to_layers(labels):
        kwargs["metadata"][META_KEY]["source"] = str(path)
        if kind == "tracks":
            kwargs = tracks_colormap(kwargs)
        layers.append((data, kwargs, kind))
    for _, kwargs, _ in layers:  # several videos share the frame axis: show one
        kwargs["visible"] = kwargs["metadata"][META_KEY]["video_index"] == 0
    return layers


def _offer_relink() -> None:
    """Open the Missing videos panel in the current viewer (if it has a window)."""
    import napari

    from napari_sleap.napari.docks.relink import offer_relink

    viewer = napari.current_viewer()
    if viewer is not None:
        offer_relink(viewer)


def _link_in_current_viewer() -> None:
    """Have edge lines follow points once the layers land in the viewer."""
    import napari

    from napari_sleap.napari.sync.skeleton_link import install

    install(napari.current_viewer())
