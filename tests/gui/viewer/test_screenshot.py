"""Screenshot of a shown viewer on the real clip: points and edges where expected."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from napari_sleap.napari.layers.convert import META_KEY
from napari_sleap.napari.layers.styles import DEFAULT_STYLE

FRAME = 1100  # a labeled frame while the flies walk
DOCS_IMAGE = Path(__file__).resolve().parents[3] / "docs" / "images" / "viewer_clip.png"


def _to_screen(
    yx: np.ndarray, center: np.ndarray, zoom: float, shape: tuple[int, ...]
) -> np.ndarray:
    """Data (y, x) -> screenshot (row, col) for a 2-D camera at ``center``."""
    half = np.array(shape[:2]) / 2.0
    return np.rint((yx - center) * zoom + half).astype(int)


def _close(pixel: np.ndarray, color: np.ndarray, tol: float) -> bool:
    return bool(np.abs(pixel[:3].astype(float) - color[:3] * 255).max() <= tol)


def test_screenshot_shows_nodes_and_edges(
    make_napari_viewer, qtbot, clip_train_slp: Path, tmp_path: Path
) -> None:
    import imageio.v3 as iio

    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1000, 900)
    viewer.open(str(clip_train_slp), plugin="napari-sleap")
    points = viewer.layers[-1]
    edges = viewer.layers[-2]
    viewer.dims.set_point(0, FRAME)
    here = (points.data[:, 0] == FRAME) & points.shown
    yx = points.data[here, 1:]
    center = (yx.min(axis=0) + yx.max(axis=0)) / 2
    canvas = viewer.screenshot(canvas_only=True, flash=False).shape[:2]
    zoom = float(min(np.array(canvas) / (np.ptp(yx, axis=0) + 80)))
    viewer.camera.center = (float(FRAME), *center)
    viewer.camera.zoom = zoom
    qtbot.wait(50)
    shot = viewer.screenshot(canvas_only=True, flash=False)
    iio.imwrite(tmp_path / "canvas.png", shot)
    if os.environ.get("NAPARI_SLEAP_DOCS_SCREENSHOT"):
        DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        window = viewer.screenshot(canvas_only=False, flash=False)
        iio.imwrite(tmp_path / "window.png", window)
        shutil.copy(tmp_path / "window.png", DOCS_IMAGE)

    h, w = shot.shape[:2]
    # nodes: the pixel at each point's center has its node's face color
    node_colors = DEFAULT_STYLE.points.node_colors(13)
    names = points.metadata[META_KEY]["labels"].skeletons[0].node_names
    node_idx = np.array([names.index(n) for n in points.features["node"][here]])
    rc = _to_screen(yx, center, zoom, (h, w))
    inside = (rc[:, 0] >= 0) & (rc[:, 0] < h) & (rc[:, 1] >= 0) & (rc[:, 1] < w)
    assert inside.sum() >= 20, f"{inside.sum()} points on screen"
    hits = [
        _close(shot[r, c], node_colors[k], tol=30)
        for (r, c), k in zip(rc[inside], node_idx[inside], strict=True)
    ]
    assert np.mean(hits) >= 0.8, f"{sum(hits)}/{len(hits)} node pixels match"

    # edges: midpoints away from any marker have the track color
    vec = np.asarray(edges.data)
    vec = vec[vec[:, 0, 0] == FRAME]
    mids = vec[:, 0, 1:] + vec[:, 1, 1:] / 2
    mid_rc = _to_screen(mids, center, zoom, (h, w))
    marker = DEFAULT_STYLE.points.size * zoom / 2 + 3
    gap = np.linalg.norm(mid_rc[:, None, :] - rc[None, :, :], axis=-1).min(axis=1)
    use = gap > marker
    assert use.sum() >= 5
    colors = np.asarray(edges.edge_color)[vec_idx(edges, FRAME)][use]
    checked = [
        _close(shot[r, c], color, tol=45)
        for (r, c), color in zip(mid_rc[use], colors, strict=True)
    ]
    assert np.mean(checked) >= 0.8, f"{sum(checked)}/{len(checked)} edge pixels match"
    track_colors = DEFAULT_STYLE.tracks.track_colors(2)
    assert all(any(np.allclose(c, t) for t in track_colors) for c in colors), (
        "edges are colored by track"
    )


def vec_idx(edges, frame: int) -> np.ndarray:
    return np.nonzero(np.asarray(edges.data)[:, 0, 0] == frame)[0]
