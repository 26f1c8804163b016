"""Labels <-> layer conversion at scale, and the napari side on the real clip.

`convert`: synthetic predictions (N frames x 2 animals x 13 nodes) -> layer data
and back after moving one point. `viewer`: open clip_train.slp in a real napari
viewer, drag a point (edge update) and save. Writes JSON to bench/results/.
Run the viewer part under Xvfb:
`xvfb-run -a .venv/bin/python bench/bench_layers.py viewer`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import sleap_io as sio

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CLIP_SLP = ROOT.parent / "shared" / "data" / "clip_train.slp"


def synthetic(n_frames: int) -> sio.Labels:
    skel = sio.Skeleton(
        [f"n{i}" for i in range(13)], edges=[(i, i + 1) for i in range(12)]
    )
    video = sio.Video(filename="synthetic.mp4", open_backend=False)
    tracks = [sio.Track("a"), sio.Track("b")]
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 1000, size=(n_frames, 2, 13, 2))
    scores = np.ones(13)
    lfs = [
        sio.LabeledFrame(
            video=video,
            frame_idx=f,
            instances=[
                sio.PredictedInstance.from_numpy(
                    xy[f, a],
                    point_scores=scores,
                    score=1.0,
                    skeleton=skel,
                    track=tracks[a],
                )
                for a in range(2)
            ],
        )
        for f in range(n_frames)
    ]
    return sio.Labels(lfs, videos=[video], skeletons=[skel], tracks=tracks)


def bench_convert(n_frames: int) -> dict:
    from napari_sleap.io.labels import compare_labels
    from napari_sleap.napari.layers.convert import labels_to_layers
    from napari_sleap.napari.layers.edits import layers_to_labels

    t = time.perf_counter()
    labels = synthetic(n_frames)
    t_build = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    layers = labels_to_layers(labels, max_rows_all_edges=10**12)  # every edge
    t_to, c_to = time.perf_counter() - t, time.process_time() - c
    data, kwargs, _ = layers[-1]
    data = data.copy()
    data[len(data) // 2, 1] += 1.0
    t, c = time.perf_counter(), time.process_time()
    again = layers_to_labels([(data, kwargs, "points")])
    t_back, c_back = time.perf_counter() - t, time.process_time() - c
    assert len(compare_labels(labels, again)) == 1
    return {
        "frames": n_frames,
        "points_rows": int(len(data)),
        "edge_vectors": int(len(layers[-2][0])),
        "build_labels_s": round(t_build, 2),
        "labels_to_layers_s": round(t_to, 2),
        "labels_to_layers_cpu_s": round(c_to, 2),
        "layers_to_labels_s": round(t_back, 2),
        "layers_to_labels_cpu_s": round(c_back, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def bench_viewer() -> dict:
    import napari

    from napari_sleap.io.labels import compare_labels, load_labels

    viewer = napari.Viewer(show=False)
    viewer.open(str(CLIP_SLP), plugin="napari-sleap")  # warm imports
    for layer in list(viewer.layers):
        viewer.layers.remove(layer)
    t = time.perf_counter()
    viewer.open(str(CLIP_SLP), plugin="napari-sleap")
    t_open = time.perf_counter() - t
    points = viewer.layers[-1]
    times = []
    for row in range(1, 41, 13):
        start = np.array(points.data[row])
        points._set_drag_start({row}, start)
        t = time.perf_counter()
        points._move({row}, start + [0, 5.0, 5.0])
        times.append(time.perf_counter() - t)
        points._drag_start = None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "edited.slp"
        t = time.perf_counter()
        viewer.layers.save(str(out), plugin="napari-sleap")
        t_save = time.perf_counter() - t
        n_diff = len(compare_labels(load_labels(CLIP_SLP), load_labels(out)))
    viewer.close()
    return {
        "file": CLIP_SLP.name,
        "open_slp_in_viewer_s": round(t_open, 3),
        "drag_step_with_edges_ms": round(1000 * float(np.median(times)), 1),
        "save_s": round(t_save, 3),
        "instances_changed": n_diff,
    }


def bench_viewer_scale(n_frames: int) -> dict:
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_sleap.napari.layers.convert import labels_to_layers
    from napari_sleap.napari.sync.skeleton_link import _LINKS, install

    labels = synthetic(n_frames)
    viewer = napari.Viewer(show=False)
    install(viewer)
    t = time.perf_counter()
    for data, kwargs, kind in labels_to_layers(labels):
        getattr(viewer, f"add_{kind}")(data, **kwargs)
    t_add = time.perf_counter() - t
    points, edges = viewer.layers[-1], viewer.layers[-2]
    steps, step_cpu = [], []
    for frame in range(n_frames // 2, n_frames // 2 + 10):
        t, c = time.perf_counter(), time.process_time()
        viewer.dims.set_point(0, frame)
        QApplication.processEvents()
        steps.append(time.perf_counter() - t)
        step_cpu.append(time.process_time() - c)
    link = _LINKS[points]
    drags = []
    # the layer holds the current frame's rows (a window of the row store)
    viewer.dims.set_point(0, float(n_frames // 3))
    QApplication.processEvents()
    drag_cpu = []
    for row in range(0, 26, 6):
        start = np.array(points.data[row])
        points._set_drag_start({row}, start)
        t, c = time.perf_counter(), time.process_time()
        points._move({row}, start + [0, 5.0, 5.0])
        drags.append(time.perf_counter() - t)
        drag_cpu.append(time.process_time() - c)
        points._drag_start = None
    n_edges, n_shown = len(link.src), len(edges.data)
    t = time.perf_counter()
    points.remove([1])
    t_delete = time.perf_counter() - t
    assert len(link.src) < n_edges and len(edges.data) < n_shown
    layer_rows = len(points.data)
    viewer.close()
    return {
        "frames": n_frames,
        "points_rows": int(n_frames * 2 * 13),
        "points_layer_rows": layer_rows,
        "add_layers_s": round(t_add, 2),
        "frame_step_ms": round(1000 * float(np.median(steps)), 1),
        "frame_step_cpu_ms": round(1000 * float(np.median(step_cpu)), 1),
        "drag_step_with_edges_ms": round(1000 * float(np.median(drags)), 1),
        "drag_step_cpu_ms": round(1000 * float(np.median(drag_cpu)), 1),
        "delete_point_with_edges_s": round(t_delete, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("part", choices=["convert", "viewer", "viewer-scale"])
    parser.add_argument("--frames", type=int, default=100_000)
    args = parser.parse_args()
    if args.part == "convert":
        result = bench_convert(args.frames)
    elif args.part == "viewer-scale":
        result = bench_viewer_scale(args.frames)
    else:
        result = bench_viewer()
    result.update(
        part=args.part,
        date=time.strftime("%Y-%m-%d"),
        machine="cpu2 (2-core dev box, shared/busy)",
        loadavg=os.getloadavg(),
        python=platform.python_version(),
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"layers_{args.part}" + (f"_{args.frames}" if args.part != "viewer" else "")
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
