"""Picture of our trained top-down's poses on later frames of the real fly clip.

``.venv/bin/python scripts/render_fly_predictions.py PRED.slp`` tracks the
predictions of ``bench/bench_fly_accuracy.py`` (frames 1200..1249) with flow
shift and draws four frames around the flies to docs/images/fly_predictions.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DATA = ROOT.parent / "shared" / "data"


def main(pred_path: str) -> int:
    """Track, crop to the flies and draw four frames; returns the exit code."""
    import numpy as np
    import sleap_io as sio

    from napari_sleap.demo.render import (
        RenderStyle,
        pose_table,
        render_montage,
        save_png,
    )
    from napari_sleap.io.video import open_video
    from napari_sleap.track import track_labels

    pred = sio.load_slp(pred_path)
    tracked = track_labels(pred, tracker="flow", max_tracks=2)
    table = pose_table(tracked)
    frames = [1205, 1220, 1235, 1249]
    with open_video(DATA / "clip.mp4", grayscale=True) as reader:
        images = [reader.read(f) for f in frames]
    pts = np.concatenate(
        [i.numpy() for lf in tracked if lf.frame_idx in frames for i in lf.instances]
    )
    (x0, y0), (x1, y1) = np.nanmin(pts, 0) - 60, np.nanmax(pts, 0) + 60
    side = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    region = tuple(
        int(v) for v in (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    )
    style = RenderStyle(scale=max(1.0, 560 / side), trail_length=20)
    picture = render_montage(
        table, frames, images, columns=2, style=style, region=region
    )
    path = save_png(picture, ROOT / "docs" / "images" / "fly_predictions.png")
    print(f"wrote {path} ({picture.shape[1]}x{picture.shape[0]}), region {region}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
