"""What the track-name overlay, seekbar and frame table add to a frame step.

``xvfb-run -a .venv/bin/python bench/bench_names_overlay.py [--steps 80]`` opens
the tracked fly clip (``../shared/data/clip_0-1249.slp``, 2 flies x 1250 frames)
in a shown viewer with the napari-sleap workbench, then steps frame by frame,
alternating the names overlay on and off on every step (one run, so the noise of
this shared machine hits both alike), and times each step (``dims`` step, layer
slices, our handlers, a draw). It also times a full refill of the names (what an
edit costs the overlay).
Writes ``bench/results/names_overlay.json``; add its line to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"


def _median_p90(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered) * 1e3, 2),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1e3, 2),
        "n": len(ordered),
    }


def main() -> None:
    """Run the bench and write its JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=80)
    args = parser.parse_args()

    import napari
    import sleap_io as sio
    from qtpy.QtWidgets import QApplication

    from napari_sleap.napari.docks.workbench import Workbench

    labels = sio.load_slp(str(DATA / "clip_0-1249.slp"), open_videos=False)
    labels.videos[0].replace_filename(str(DATA / "clip.mp4"), open=False)
    tmp = Path(tempfile.mkdtemp()) / "clip_all.slp"
    labels.save(str(tmp))

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 1000)
    viewer.open(str(tmp), plugin="napari-sleap")
    bench = Workbench(viewer)
    viewer.window.add_dock_widget(bench, name="napari-sleap")
    app = QApplication.instance()
    overlay = bench.docks["Labeling"].display.overlay
    box = bench.docks["Labeling"].display.track_names
    start = 300
    viewer.dims.set_current_step(0, start)
    for _ in range(5):
        app.processEvents()
    times: dict[str, list[float]] = {"names_on": [], "names_off": []}
    update: list[float] = []
    unchanged: list[float] = []
    for k in range(args.steps):
        on = k % 2 == 0
        box.setChecked(on)
        app.processEvents()
        t0 = time.perf_counter()
        viewer.dims.set_current_step(0, start + 1 + k)
        app.processEvents()
        times["names_on" if on else "names_off"].append(time.perf_counter() - t0)
        if on:
            t1 = time.perf_counter()
            overlay.update()  # nothing changed: left alone
            unchanged.append(time.perf_counter() - t1)
            overlay.layer.data = overlay.layer.data[:-1]  # as if a name changed
            t1 = time.perf_counter()
            overlay.update()
            update.append(time.perf_counter() - t1)
    result = {
        "bench": "names_overlay",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.node()} ({platform.processor() or platform.machine()})",
        "command": "xvfb-run -a .venv/bin/python bench/bench_names_overlay.py",
        "step_with_names": _median_p90(times["names_on"]),
        "step_without_names": _median_p90(times["names_off"]),
        "names_refill_after_an_edit": _median_p90(update),
        "names_update_nothing_changed": _median_p90(unchanged),
        "ratio_median": round(
            statistics.median(times["names_on"])
            / statistics.median(times["names_off"]),
            3,
        ),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "names_overlay.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    viewer.close()


if __name__ == "__main__":
    main()
