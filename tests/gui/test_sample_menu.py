"""The sample in a viewer: File > Open Sample and the demo's view step."""

from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
import sleap_io as sio

from napari_sleap.sample import NODES


def _coloured_pixels(image: np.ndarray) -> int:
    """Pixels whose colour is far from grey: drawn by label layers, not the video."""
    rgb = image[..., :3].astype(int)
    return int(((rgb.max(-1) - rgb.min(-1)) > 80).sum())


def test_napari_sample_menu_opens_video_and_labels(
    make_napari_viewer, sample_default, monkeypatch
):
    paths = sample_default  # made in <cache>/two_animals, as the menu would
    monkeypatch.setenv("NAPARI_SLEAP_CACHE", str(paths.folder.parent))
    viewer = make_napari_viewer()
    layers = viewer.open_sample("napari-sleap", "two_animals")
    kinds = {type(layer).__name__: layer for layer in layers}
    assert {"Image", "Points", "Vectors", "Tracks"} <= set(kinds)
    image, points = kinds["Image"], kinds["Points"]
    assert image.data.shape == (400, 384, 384)
    assert not isinstance(image.data, np.ndarray)  # lazy: only shown frames decoded
    assert image.data.reader.reads <= 3
    gt = sio.load_slp(str(paths.gt))
    assert len(points.data) == 400 * 2 * len(NODES)
    # The points are the ground truth: (frame, y, x) per node.
    f = 123
    want = np.concatenate([inst.numpy()[:, ::-1] for inst in gt[f]])
    have = points.data[points.data[:, 0] == f, 1:]
    assert np.allclose(np.sort(have, axis=0), np.sort(want, axis=0))


def test_demo_makes_sample_and_screenshots(sample_default, tmp_path):
    from napari_sleap.demo.run import STEPS, DemoContext, run_demo

    paths = sample_default
    ctx = DemoContext(out=tmp_path / "demo", sample_dir=paths.folder)
    steps = [s for s in STEPS if s.name in ("sample", "view")]  # no training here
    summary = run_demo(ctx, steps)
    assert [s["name"] for s in summary["steps"]] == ["sample", "view"]
    assert summary["results"]["sample"]["frames"] == 400
    assert json.loads((tmp_path / "demo" / "summary.json").read_text()) == json.loads(
        json.dumps(summary, default=str)
    )
    view = summary["results"]["view"]
    assert view["points"] == 400 * 2 * len(NODES)
    for shot in view["screenshots"]:
        image = iio.imread(shot)
        assert image.shape[:2] == (768, 768)
        assert (image[..., :3] > 10).mean() > 0.3  # the video is drawn, not black
        assert _coloured_pixels(image) > 200  # nodes and edges are drawn
