"""napari colormaps built from the layer model's colors."""

from __future__ import annotations

import numpy as np

from napari_sleap.napari.layers.convert import META_KEY


def tracks_colormap(kwargs: dict) -> dict:
    """Color the Tracks layer with the same per-track colors as the points."""
    from napari.utils.colormaps import Colormap

    colors = np.asarray(kwargs["metadata"][META_KEY]["track_colors"])
    n = len(colors)
    if n == 0:
        return kwargs
    track = np.asarray(kwargs["properties"]["track_id"], dtype=float)
    kwargs["properties"] = {**kwargs["properties"], "track_color": (track + 0.5) / n}
    cmap = Colormap(
        colors=colors,
        controls=np.linspace(0.0, 1.0, n + 1),
        interpolation="zero",
        name="napari-sleap tracks",
    )
    return {
        **kwargs,
        "colormaps_dict": {"track_color": cmap},
        "color_by": "track_color",
    }
