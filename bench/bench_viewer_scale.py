"""Proofreading at scale: 100,000 predicted frames of two animals in a real viewer.

``xvfb-run -a .venv/bin/python bench/bench_viewer_scale.py --frames 100000``
synthesizes tracked predictions (the sample's two-animal motion, 10 nodes, with
one identity swap planted), then measures, in a shown napari viewer:

- open: Labels -> layers -> viewer (instances, edges, tracks), with the
  proofreading dock attached;
- frame change: jumping to random frames and stepping to the next one (wall,
  including the draw);
- edits through the proofreading dock, each with its Tracks layer update:
  assign one instance, delete one frame's predictions, swap two tracks from
  a frame on, and their undos; the ranked likely-swap list;
- a labeling edit: dragging one node (two drag steps) and its undo, the
  debounced Tracks update after it, a save through the npe2 writer, and
  opening the saved file in a fresh viewer (sleap-io's load included).

Past 50k point rows the instances layer holds only the current frame's rows
(``napari_sleap.napari.sync.window``) and the Tracks layer a window of frames.

Writes ``bench/results/viewer_scale_<frames>.json``; add the row to
docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.gui.person import drag_point, tracked_predictions  # noqa: E402

RESULTS = ROOT / "bench" / "results"
MACHINE = "cpu2 (2-core dev box, shared/busy)"
#: Tracks followers of the open layers (their debounced updates are settled).
FOLLOWERS: list = []


def _settle(app, seconds: float = 0.0) -> None:
    end = time.monotonic() + seconds
    app.processEvents()
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def _settle_tracks(app) -> None:
    """Run any debounced Tracks update still pending from an earlier edit."""
    for follower in FOLLOWERS:
        follower.settle()
    app.processEvents()


def _timed(app, fn, *args) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn(*args)`` plus the redraw it causes.

    The Tracks layer follows an edit ``DEBOUNCE_MS`` later: an earlier edit's
    update is run first (not timed here; ``tracks_after_drag`` times one).
    """
    _settle_tracks(app)
    w0, c0 = time.perf_counter(), time.process_time()
    fn(*args)
    app.processEvents()
    return time.perf_counter() - w0, time.process_time() - c0


def _steps(app, viewer, frames: list[int]) -> dict:
    """Frame changes (points and draw), then the Tracks window refill they defer."""
    walls, cpus, refills = [], [], []
    for f in frames:
        w, c = _timed(app, viewer.dims.set_current_step, 0, f)
        walls.append(w * 1e3)
        cpus.append(c * 1e3)
        t0 = time.perf_counter()
        _settle_tracks(app)
        refills.append((time.perf_counter() - t0) * 1e3)
    return {
        "median_ms": round(statistics.median(walls), 1),
        "p90_ms": round(float(np.percentile(walls, 90)), 1),
        "cpu_median_ms": round(statistics.median(cpus), 1),
        "tracks_refill_after_ms_median": round(statistics.median(refills), 1),
    }


def _labeling_edits(app, viewer, panel, frame: int) -> dict:
    """Drag one node on ``frame`` and undo it; the debounced Tracks update after."""
    from napari_sleap.napari.sync.tracks_follow import follower_for

    viewer.dims.set_current_step(0, frame)
    app.processEvents()
    sync = panel.sync
    inst = sync.frame_instances(frame)[0]
    row = int(sync.instance_rows(inst)[2])
    out = {"drag_one_node": _timed(app, drag_point, sync.layer, row, (3.0, -2.0))}
    follower = follower_for(sync.layer)
    out["tracks_after_drag"] = _timed(app, follower.update)
    out["undo_drag"] = _timed(app, sync.undo)
    return out


def _save(app, points, labels) -> dict:
    """Save through the npe2 writer (every row, not the window) and check it."""
    import tempfile

    from napari_sleap.io.labels import compare_labels, load_labels
    from napari_sleap.napari._writer import write_slp

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "saved.slp")
        w0, c0 = time.perf_counter(), time.process_time()
        write_slp(path, [points.as_layer_data_tuple()])
        out = {
            "wall_s": round(time.perf_counter() - w0, 2),
            "cpu_s": round(time.process_time() - c0, 2),
        }
        again = load_labels(path, missing_videos="ignore")
        out["frames_saved"] = len(again.labeled_frames)
        out["differences_from_live"] = len(compare_labels(labels, again))
        del again
        out["open_file"] = _open_file(app, path)
    return out


def _open_file(app, path: str) -> dict:
    """File > Open of the saved .slp in a fresh viewer (reader, layers, links)."""
    import warnings

    import napari

    viewer = napari.Viewer(show=True)
    app.processEvents()
    w0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the synthetic video file doesn't exist
        viewer.open(path, plugin="napari-sleap")
    app.processEvents()
    out = {
        "wall_s": round(time.perf_counter() - w0, 2),
        "cpu_s": round(time.process_time() - c0, 2),
        "layers": [type(layer).__name__ for layer in viewer.layers],
    }
    viewer.close()
    return out


def run(n_frames: int) -> dict:
    import napari
    from napari.layers import Layer
    from qtpy.QtWidgets import QApplication

    from napari_sleap.napari.colormaps import tracks_colormap
    from napari_sleap.napari.docks.proofread import ProofreadPanel
    from napari_sleap.napari.layers.convert import labels_to_layers
    from napari_sleap.napari.sync.skeleton_link import install

    out: dict = {"frames": n_frames}
    swap_at = n_frames // 2 + 7
    t = time.perf_counter()
    labels = tracked_predictions(
        n_frames,
        swap_at,
        size=1024,
        seed=0,
        track_names=("animal_0", "animal_1"),
        video_name="synthetic_100k.mp4",
        tracking_score=0.8,
    )
    out["synthesize_s"] = round(time.perf_counter() - t, 2)
    viewer = napari.Viewer(show=True)
    app = QApplication.instance()
    _settle(app, 0.5)

    w0, c0 = time.perf_counter(), time.process_time()
    layers = labels_to_layers(labels)
    out["convert_s"] = round(time.perf_counter() - w0, 2)
    for data, kwargs, kind in layers:
        if kind == "tracks":
            kwargs = tracks_colormap(kwargs)
        viewer.add_layer(Layer.create(data, kwargs, kind))
    install(viewer)
    panel = ProofreadPanel(viewer)
    viewer.window.add_dock_widget(panel, name="Proofread")
    app.processEvents()
    out["open_s"] = round(time.perf_counter() - w0, 2)
    out["open_cpu_s"] = round(time.process_time() - c0, 2)
    points = panel.sync.layer
    from napari_sleap.napari.sync.tracks_follow import follower_for

    FOLLOWERS.append(follower_for(points))
    out["store_rows"] = len(panel.sync.store)
    out["points_layer_rows"] = len(points.data)
    print(
        f"open {out['open_s']} s ({out['store_rows']} rows, "
        f"{out['points_layer_rows']} in the layer)",
        flush=True,
    )

    rng = np.random.default_rng(0)
    jumps = [int(f) for f in rng.integers(0, n_frames, 15)]
    out["frame_jump"] = _steps(app, viewer, jumps)
    start = n_frames // 3
    out["frame_next"] = _steps(app, viewer, list(range(start, start + 15)))
    print(f"frame change {out['frame_jump']} / {out['frame_next']}", flush=True)

    edits = {}
    viewer.dims.set_current_step(0, start)
    inst = panel.sync.frame_instances(start)[0]
    edits["assign_one_instance"] = _timed(app, panel.assign, inst, "animal_new")
    edits["undo_assign"] = _timed(app, panel.undo)
    edits["delete_one_frame"] = _timed(app, panel.delete_range, start, start, "")
    edits["undo_delete"] = _timed(app, panel.undo)
    t = time.perf_counter()
    ranked = panel.find_swaps()
    out["likely_swaps_s"] = round(time.perf_counter() - t, 2)
    out["likely_swaps_top_frame"] = ranked[0].frame if ranked else None
    out["planted_swap_frame"] = swap_at
    panel.go_to_swap(0)
    edits["swap_from_frame"] = _timed(app, panel.swap_from_here)
    edits["undo_swap"] = _timed(app, panel.undo)
    edits.update(_labeling_edits(app, viewer, panel, start))
    out["edits"] = {
        k: {"wall_s": round(w, 3), "cpu_s": round(c, 3)} for k, (w, c) in edits.items()
    }
    t = time.perf_counter()
    panel.update_tracks_layer()
    out["tracks_layer_update_s"] = round(time.perf_counter() - t, 3)
    print(f"edits {out['edits']}", flush=True)
    out["save"] = _save(app, points, labels)
    print(f"save {out['save']}", flush=True)

    viewer.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100_000)
    args = ap.parse_args()
    result = run(args.frames)
    result.update(
        date=time.strftime("%Y-%m-%d"),
        machine=MACHINE,
        loadavg=list(os.getloadavg()),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        python=platform.python_version(),
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"viewer_scale_{args.frames}.json"
    path.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
