"""npe2 writer: napari-sleap layers back to a .slp file.

Thin: edits are applied by :func:`napari_sleap.napari.layers.edits.layers_to_labels`
and the file is written atomically by :func:`napari_sleap.io.labels.save_labels`.
"""

from __future__ import annotations

from typing import Any

from napari_sleap.io.labels import save_labels
from napari_sleap.napari.layers.edits import layers_to_labels


def write_slp(path: str, layer_data: list[tuple[Any, dict, str]]) -> list[str]:
    """Save the instances layers in ``layer_data`` (with their edits) to ``path``.

    A ``.pkg.slp`` target also stores the images of the user-labeled frames.
    """
    labels = layers_to_labels(layer_data)
    embed = "user" if str(path).endswith(".pkg.slp") else False
    return [str(save_labels(labels, path, embed=embed))]
