"""Seekbar and labeled-frame table after one edit: full refill vs frame by frame.

Opens 100,000 synthetic predicted frames (bench_labeling's labels) in a shown
viewer with the Labeling and Frames docks, then for edits of one frame (add an
instance on a new frame, accept a frame's predictions, undo each) times the
Frames dock's catch-up: the seekbar and the table as they update now (only the
touched frames) and a full refill of both (the pass over every labeled frame
they made before). Writes bench/results/frames_follow_<frames>.json. Run under
Xvfb: `xvfb-run -a .venv/bin/python bench/bench_frames_follow.py [--frames N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_labeling import synthetic, timed  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    args = parser.parse_args()
    import napari
    from napari.layers import Layer
    from qtpy.QtWidgets import QApplication

    from napari_sleap.labeling import AcceptPrediction, AddInstance
    from napari_sleap.napari.docks.frame_table import FramesPanel
    from napari_sleap.napari.docks.labeling import LabelingWidget
    from napari_sleap.napari.layers.convert import labels_to_layers
    from napari_sleap.napari.sync.skeleton_link import install

    labels = synthetic(args.frames)
    viewer = napari.Viewer(show=True)
    for data, kwargs, kind in labels_to_layers(labels):
        viewer.add_layer(Layer.create(data, kwargs, kind))
    install(viewer)
    lab = LabelingWidget(viewer)
    panel = FramesPanel(viewer)
    viewer.window.add_dock_widget(panel, name="Frames")
    app = QApplication.instance()
    app.processEvents()
    sync = lab.sync
    bar, table = panel.seekbar, panel.table
    out: dict = {"frames": args.frames, "load_before": os.getloadavg()[0]}

    def catch_up() -> None:  # what the coalescing timers run
        bar.refresh()
        table.refresh()

    def full() -> None:
        for w in (bar, table):
            w._touched = None
            w.refresh()

    def edit_then(how) -> callable:
        state = {"k": 0}

        def run() -> None:
            k = state["k"] = state["k"] + 1
            f = 5 + 10 * (k % 900)  # frames with no instances: a new frame
            xy = np.full((13, 2), 300.0) + np.arange(13)[:, None]
            sync.push(AddInstance(labels, video=sync.video, frame_idx=f, xy=xy))
            for w in (bar, table):  # measured here, not by the timers
                w._timer.stop()
            assert all(w._touched for w in (bar, table)), "nothing to catch up"
            t0 = time.perf_counter()
            how()
            run.times.append((time.perf_counter() - t0) * 1000)
            lab.undo()
            for w in (bar, table):
                w._timer.stop()
            how()

        run.times = []
        return run

    for name, how in (("incremental", catch_up), ("full_refill", full)):
        run = edit_then(how)
        timed(run, repeat=7)
        out[f"add_new_frame_{name}_ms"] = sorted(run.times)[len(run.times) // 2]
    mid = args.frames // 2 + 2

    def accept(how) -> float:
        preds = list(sync.frame_instances(mid))
        sync.push(
            AcceptPrediction(
                labels, instances=preds, frames=[sync.frame_of(p) for p in preds]
            )
        )
        for w in (bar, table):
            w._timer.stop()
        assert all(w._touched for w in (bar, table)), "nothing to catch up"
        t0 = time.perf_counter()
        how()
        ms = (time.perf_counter() - t0) * 1000
        lab.undo()
        for w in (bar, table):
            w._timer.stop()
        how()
        return ms

    for name, how in (("incremental", catch_up), ("full_refill", full)):
        ms = sorted(accept(how) for _ in range(5))
        out[f"accept_{name}_ms"] = ms[2]
    out["ratio_add"] = (
        out["add_new_frame_full_refill_ms"] / out["add_new_frame_incremental_ms"]
    )
    out["ratio_accept"] = out["accept_full_refill_ms"] / out["accept_incremental_ms"]
    out["load_after"] = os.getloadavg()[0]
    out["machine"] = f"{platform.node()} {os.cpu_count()} cores"
    out["date"] = time.strftime("%Y-%m-%d")
    viewer.close()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"frames_follow_{args.frames}.json").write_text(
        json.dumps(out, indent=1)
    )
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
