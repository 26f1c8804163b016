"""Both lazy forms of a video work as napari Image layer data in a real viewer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_sleap.io.video import as_dask, as_lazy_array, open_video
from napari_sleap.io.video_cache_writer import cache_video


@pytest.mark.parametrize("wrap", [as_dask, as_lazy_array])
def test_viewer_shows_the_asked_frame(make_napari_viewer, small_video: Path, wrap):
    cache_video(small_video)  # the viewer reads the zarr cache beside the video
    reader = open_video(small_video)
    assert reader.backend == "zarr"
    reference = open_video(small_video, use_cache=False)
    viewer = make_napari_viewer()
    layer = viewer.add_image(
        wrap(reader, squeeze_gray=True), contrast_limits=(0, 255), multiscale=False
    )
    assert layer.data.shape == (30, 64, 96)
    for i in (17, 3, 29, 4):
        viewer.dims.set_current_step(0, i)
        shown = np.asarray(layer._slice.image.raw)
        np.testing.assert_array_equal(shown, reference.read(i)[..., 0])
