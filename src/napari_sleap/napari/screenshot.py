"""Screenshots of a labels file in a shown napari viewer (the demo's ``view`` step).

Opens the file with this plugin's reader, then saves the whole frame and a zoom
on a chosen point; needs a display (``xvfb-run`` on a headless machine).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def settle(rounds: int = 5, pause: float = 0.05) -> None:
    """Let Qt lay out and draw before a screenshot."""
    from qtpy.QtWidgets import QApplication

    for _ in range(rounds):
        QApplication.processEvents()
        time.sleep(pause)


def screenshot_labels(
    labels_path: str | Path,
    out: str | Path,
    *,
    frame: int,
    centre: Sequence[float],
    extent: float,
    side: int = 768,
) -> dict[str, Any]:
    """Save ``view.png`` (the whole frame) and ``view_zoom.png`` in ``out``.

    Args:
        labels_path: The ``.slp`` to open.
        out: Folder for the two pictures.
        frame: Frame to show.
        centre: Where the zoomed view looks, as (y, x) in pixels.
        extent: Pixels the zoomed view spans.
        side: Side of the square pictures in pixels.

    Returns:
        The pictures' paths, the layers opened (``name (type)``), the points
        shown, and the first picture's shape and share of non-black pixels.
    """
    import napari

    out = Path(out)
    viewer = napari.Viewer(show=True, title="napari-sleap demo")
    try:
        layers = viewer.open(str(labels_path), plugin="napari-sleap")
        viewer.dims.set_current_step(0, frame)
        viewer.reset_view()
        settle()
        shot = out / "view.png"
        image = viewer.screenshot(str(shot), size=(side, side), canvas_only=True)
        viewer.scene.camera.center = tuple(float(c) for c in centre)
        viewer.scene.camera.zoom = side / extent
        settle()
        zoom_shot = out / "view_zoom.png"
        viewer.screenshot(str(zoom_shot), size=(side, side), canvas_only=True)
        names = [f"{layer.name} ({type(layer).__name__})" for layer in layers]
        points = [lay for lay in layers if type(lay).__name__ == "Points"]
        n_points = int(sum(len(p.data) for p in points))
    finally:
        viewer.close()
    return {
        "screenshots": [str(shot), str(zoom_shot)],
        "layers": names,
        "points": n_points,
        "screenshot_shape": list(image.shape),
        "screenshot_nonblack": float((image[..., :3] > 10).mean()),
    }
