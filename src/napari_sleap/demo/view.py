"""The demo's ``view`` step: the result in a shown napari viewer, as screenshots.

The viewer part lives in :mod:`napari_sleap.napari.screenshot` (the only package
that imports napari); this step picks the frame to show and, when TensorFlow is
already loaded here, runs itself in a child process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import sleap_io as sio

from napari_sleap.demo.context import DemoContext
from napari_sleap.demo.steps import step_sample


def _showcase(labels_path: Path) -> tuple[int, np.ndarray, float]:
    """A frame where both animals are near but apart; its midpoint (y, x) and span.

    The span (pixels) is what a zoomed view needs to frame both animals.
    """
    labels = sio.load_slp(str(labels_path), open_videos=False)
    first = min((lf.frame_idx for lf in labels), default=0)
    best, best_score = (first, np.zeros(2), 100.0), np.inf
    for lf in labels:
        if len(lf) < 2:
            continue
        pts = np.stack([inst.numpy() for inst in lf.instances[:2]])
        if np.isnan(pts).all(axis=(1, 2)).any():
            continue
        length = np.max(np.nanmax(pts[0], axis=0) - np.nanmin(pts[0], axis=0))
        gap = np.linalg.norm(np.nanmean(pts[0], 0) - np.nanmean(pts[1], 0))
        score = abs(gap - 1.4 * length)
        if score < best_score:
            flat = pts.reshape(-1, 2)
            lo, hi = np.nanmin(flat, 0), np.nanmax(flat, 0)
            extent = float(np.max(hi - lo)) + 2.5 * length
            best, best_score = (lf.frame_idx, ((lo + hi) / 2)[::-1], extent), score
    return int(best[0]), best[1], best[2]


def _view_in_child(ctx: DemoContext, show: Path) -> str:
    """Run the ``view`` step in a fresh process (this one has TensorFlow)."""
    record = ".view_summary.json"
    cmd = [
        sys.executable,
        "-m",
        "napari_sleap.demo",
        *("--out", str(ctx.out), "--sample-dir", str(ctx.sample_dir)),
        *("--frames", str(ctx.n_frames), "--size", str(ctx.size)),
        *("--steps", "view", "--show", str(show), "--summary", record),
    ]
    done = subprocess.run(cmd, check=False, stdout=subprocess.PIPE, text=True)
    path = ctx.out / record
    if done.returncode != 0 or not path.exists():
        raise RuntimeError(
            f"the view step failed in its own process (exit {done.returncode}): "
            f"{done.stdout[-2000:]}; run `xvfb-run -a python -m napari_sleap.demo "
            f"--out {ctx.out} --steps view` to see why"
        )
    ctx.results["view"] = json.loads(path.read_text())["results"]["view"]
    path.unlink()
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("[view]")]
    summary = lines[-1][len("[view] ") :] if lines else "done"
    return summary.rsplit(" (", 1)[0] + " (own process)"


def step_view(ctx: DemoContext) -> str:
    """Open the result in a shown napari viewer with our reader; save screenshots.

    ``view.png`` shows the whole frame, ``view_zoom.png`` the two animals. It
    opens the tracked predictions when they exist, else the sample's ground truth.
    """
    show = ctx.labels_to_show
    if show is None and ctx.tracked.exists():
        show = ctx.tracked
    if show is None:
        if ctx.sample is None:
            step_sample(ctx)
        show = ctx.sample.gt
    if "tensorflow" in sys.modules:
        return _view_in_child(ctx, show)
    from napari_sleap.napari.screenshot import screenshot_labels

    frame, centre, extent = _showcase(show)
    shots = screenshot_labels(
        show, ctx.out, frame=frame, centre=centre, extent=extent, side=768
    )
    ctx.results["view"] = {"labels": str(show), "frame": frame, **shots}
    layers, n_points, shot = shots["layers"], shots["points"], shots["screenshots"][0]
    return f"{len(layers)} layers ({n_points} points), frame {frame} -> {shot}"
