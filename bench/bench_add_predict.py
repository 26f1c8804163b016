"""Latency of Add where a model is at hand: first Add (job start) vs the next ones.

A shown viewer opens the SLEAP 1.x ``minimal_instance`` labels with the Labeling
and Predict docks; the Predict dock lists the centroid + scaled centered-instance
models. Add on frames 0, 2, 3, ... (no predictions there) each predicts its frame
in the warm :class:`~napari_sleap.jobs.frame_worker.FrameWorker`. Timed from the
Add to the placed instance (the viewer keeps running its event loop meanwhile).
Writes ``bench/results/add_predict.json``. Run under Xvfb:
`xvfb-run -a .venv/bin/python bench/bench_add_predict.py [--adds 6]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "data" / "sleap1_models"
RESULTS = ROOT / "bench" / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--adds", type=int, default=6)
    args = ap.parse_args()
    import napari
    from qtpy.QtWidgets import QApplication

    tmp = Path(tempfile.mkdtemp())
    shutil.copy(MODELS / "centered_pair_low_quality.mp4", tmp)
    slp = tmp / "project.slp"
    shutil.copy(
        MODELS / "minimal_instance.UNet.centered_instance.labels_gt.train.slp", slp
    )
    viewer = napari.Viewer(show=True)
    _, dock = viewer.window.add_plugin_dock_widget("napari-sleap", "Labeling")
    _, panel = viewer.window.add_plugin_dock_widget("napari-sleap", "Predict and track")
    viewer.open(str(slp), plugin="napari-sleap")
    for m in ("centroid", "centered_instance_with_scaling"):
        panel.add_folder(str(MODELS / f"minimal_instance.UNet.{m}"))
    app = QApplication.instance()
    frames = [0, *range(2, 2 + args.adds - 1)]
    for f in frames:
        dock.set_frame(f)
        app.processEvents()
        dock.status.setText("")
        dock.add_instance(200.0, 250.0)
        end = time.monotonic() + 180
        while "Added" not in dock.status.text() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.005)
    lat = dock.predict_add.latencies
    worker = dock.predict_add.worker
    result = {
        "first_add_s": lat[0][0],
        "next_adds_s": [t for t, _ in lat[1:]],
        "next_median_s": statistics.median(t for t, _ in lat[1:]),
        "warm": [w for _, w in lat],
        "statuses_ok": len(lat) == len(frames),
        "machine": f"{platform.node()} {os.cpu_count()} cores",
        "load": os.getloadavg()[0],
        "date": time.strftime("%Y-%m-%d"),
    }
    dock.predict_add.close()
    if worker is not None:
        worker.handle.wait(10)
    viewer.close()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "add_predict.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
