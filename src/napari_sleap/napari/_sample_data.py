"""npe2 sample-data hook: the synthetic two-animal sample as napari layers."""

from __future__ import annotations

from napari_sleap.napari.layers.convert import LayerDataTuple
from napari_sleap.sample import ensure_sample, user_cache_dir


def make_two_animals_sample() -> list[LayerDataTuple]:
    """Make the sample in the user cache (first use only, a few seconds) and read it.

    Returns the video as a lazy Image layer plus the plugin reader's label layers
    (points coloured by node and track, skeleton edges, tracks).
    """
    from napari_sleap.napari._reader import read_slp

    paths = ensure_sample(user_cache_dir() / "two_animals")
    return read_slp(str(paths.gt))
