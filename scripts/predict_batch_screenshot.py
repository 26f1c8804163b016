"""Photograph the predict dock in batch mode after a real batch run.

Run headless with ``xvfb-run -a .venv/bin/python scripts/predict_batch_screenshot.py``.
Two names for the real recording SLEAP 1.x's shared models were trained on and
one broken file (text named ``.mp4``) go through the dock's batch mode with
those models; when the job ends the first video's predictions are opened (as a
double-click on its row does) over the video, and the window is saved to
``docs/images/predict_panel_batch.png``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
MODELS = ROOT.parent / "shared" / "data" / "sleap1_models"
VIDEO = MODELS / "centered_pair_low_quality.mp4"


def _settle(seconds: float) -> None:
    from qtpy.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    """Run the batch from the dock and save the screenshot; returns the exit code."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "predict_batch")
    ap.add_argument(
        "--image", type=Path, default=ROOT / "docs/images/predict_panel_batch.png"
    )
    ap.add_argument("--frames", default="0-99")
    args = ap.parse_args(argv)
    if not VIDEO.exists():
        print(f"{VIDEO} not found: the shared data is needed", file=sys.stderr)
        return 1

    import napari

    from napari_sleap.napari.docks.predict import MODES, PredictPanel

    videos = args.out / "videos"
    videos.mkdir(parents=True, exist_ok=True)
    for name in ("session1_pair.mp4", "session2_pair.mp4"):
        link = videos / name
        if not link.exists():
            link.symlink_to(VIDEO)
    (videos / "session3_notes.mp4").write_text("field notes, not a video\n")

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1500, 950)
    viewer.open(str(videos / "session1_pair.mp4"), plugin="napari-sleap")
    panel = PredictPanel(viewer)
    panel.setMinimumWidth(460)
    viewer.window.add_dock_widget(panel, name="Predict & track", area="right")
    panel.set_models(
        [
            str(MODELS / "minimal_instance.UNet.centroid"),
            str(MODELS / "minimal_instance.UNet.centered_instance"),
        ]
    )
    panel.mode_combo.setCurrentText(MODES[1])
    panel.batch.add_folder(videos)
    panel.batch.frames_edit.setText(args.frames)
    panel.batch.out_edit.setText(str(args.out / "predictions"))
    panel.batch_result = None
    handle = panel.predict()
    deadline = time.monotonic() + 600
    while panel.job.running and time.monotonic() < deadline:
        _settle(0.1)
    if handle.status != "done":
        print(f"batch {handle.status}: {handle.error}", file=sys.stderr)
        return 1
    panel.open_batch_output(0)
    viewer.dims.set_current_step(0, 40)
    _settle(1.0)
    args.image.parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(args.image), canvas_only=False, flash=False)
    print(panel.summary.text())
    print(f"screenshot {args.image}")
    viewer.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
