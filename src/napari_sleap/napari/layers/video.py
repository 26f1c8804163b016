"""A video as Image layer data: the reader's and the relink panel's one recipe.

No napari import: the tuple is what npe2 readers return, and a dock adds it with
``viewer.add_image(data, **kwargs)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import sleap_io as sio

from napari_sleap.io.video import as_lazy_array, open_sleap_video
from napari_sleap.io.video_prefetch import prefetching
from napari_sleap.napari.layers.convert import META_KEY


def image_layer(reader: Any, name: str, extra: dict | None = None) -> tuple:
    """A lazy Image layer tuple: grayscale drops its channel axis, color is RGB.

    A lazy frame array rather than dask: napari frame changes were ~40% faster
    (no scheduler per frame, no ``distributed`` import on first compute).
    """
    channels = reader.shape[-1]
    # Media files: decoded frames cached and read ahead, so steps either way are
    # cheap (see napari_sleap.io.video_prefetch).
    data = as_lazy_array(prefetching(reader), squeeze_gray=channels == 1)
    kwargs = {"name": name, "rgb": channels in (3, 4), "metadata": extra or {}}
    if channels == 1 and np.dtype(data.dtype) == np.uint8:
        kwargs["contrast_limits"] = (0, 255)
    return data, kwargs, "image"


def labels_video_layer(video: sio.Video, video_index: int, source: str) -> tuple:
    """The Image layer of a labels file's video (raises FileNotFoundError)."""
    reader = open_sleap_video(video)
    name = Path(str(reader.source if hasattr(reader, "source") else video.filename))
    meta = {META_KEY: {"role": "video", "video_index": video_index, "source": source}}
    return image_layer(reader, name.name, meta)
