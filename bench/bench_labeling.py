"""Labeling edits at scale: 100,000 predicted frames x 2 animals x 13 nodes.

Opens synthetic predictions in a real (hidden) napari viewer with the labeling
dock, then times each edit end to end (command + in-place layer update + edge
update): drag step, accept prediction, assign track, hide node, add instance on
an unlabeled frame, delete instance, undo, redo; plus frame navigation steps.
Writes bench/results/labeling_<frames>.json. Run under Xvfb:
`xvfb-run -a .venv/bin/python bench/bench_labeling.py [--frames 100000]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import sleap_io as sio

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def synthetic(n_frames: int, n_nodes: int = 13, seed: int = 0) -> sio.Labels:
    """Two tracked predicted animals a frame (none on 5 mod 10); users every 1000th."""
    rng = np.random.default_rng(seed)
    skel = sio.Skeleton([f"n{i}" for i in range(n_nodes)])
    skel.add_edges([(f"n{i}", f"n{i + 1}") for i in range(n_nodes - 1)])
    tracks = [sio.Track("a"), sio.Track("b")]
    video = sio.Video(filename="synthetic.mp4", open_backend=False)
    video.backend_metadata["shape"] = (n_frames, 1024, 1024, 1)
    base = rng.uniform(100, 900, (2, n_nodes, 2))
    frames = []
    for f in range(n_frames):
        if f % 10 == 5:
            continue
        insts = []
        for a in range(2):
            xy = base[a] + rng.normal(0, 2, (n_nodes, 2))
            if f % 1000 == 0:
                insts.append(
                    sio.Instance.from_numpy(xy, skeleton=skel, track=tracks[a])
                )
            else:
                insts.append(
                    sio.PredictedInstance.from_numpy(
                        xy,
                        skeleton=skel,
                        point_scores=np.full(n_nodes, 0.9),
                        score=float(rng.uniform(0.2, 1.0)),
                        track=tracks[a],
                    )
                )
        frames.append(sio.LabeledFrame(video=video, frame_idx=f, instances=insts))
    return sio.Labels(
        labeled_frames=frames, videos=[video], skeletons=[skel], tracks=tracks
    )


def timed(fn, repeat: int = 5) -> dict:
    """Median and max wall time of ``fn`` in ms, and median CPU time of the process.

    On the shared box wall time swings with the load; the process CPU time
    (all its threads) is the steadier figure of the work done.
    """
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return {
        "median_ms": statistics.median(wall),
        "max_ms": max(wall),
        "cpu_median_ms": statistics.median(cpu),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=100_000)
    args = parser.parse_args()
    import napari
    from napari.layers import Layer

    from napari_sleap.labeling import SetPoints
    from napari_sleap.napari.docks.labeling import LabelingWidget
    from napari_sleap.napari.layers.convert import labels_to_layers
    from napari_sleap.napari.sync.skeleton_link import install

    out: dict = {"frames": args.frames, "load_before": os.getloadavg()}
    t = time.perf_counter()
    labels = synthetic(args.frames)
    out["make_labels_s"] = time.perf_counter() - t
    viewer = napari.Viewer(show=False)
    t = time.perf_counter()
    for data, kwargs, kind in labels_to_layers(labels):
        viewer.add_layer(Layer.create(data, kwargs, kind))
    install(viewer)
    widget = LabelingWidget(viewer)
    out["open_layers_and_dock_s"] = time.perf_counter() - t
    sync = widget.sync
    points = sync.layer
    out["rows"] = len(points.data)
    mid = args.frames // 2 + 2  # a predicted frame in the middle
    widget.set_frame(mid)

    def drag_step() -> None:
        inst = sync.frame_instances(mid)[0]
        row = int(sync.instance_rows(inst)[0])
        start = np.array(points.data[row])
        points._set_drag_start({row}, start)
        points._move({row}, start + np.array([0.0, 1.0, 1.0]))
        points._drag_start = None
        sync._open_move = None

    def hide() -> None:
        points.selected_data = {
            int(sync.instance_rows(sync.frame_instances(mid)[1])[3])
        }
        widget.toggle_visibility()

    def move_cmd() -> None:
        inst = sync.frame_instances(mid)[0]
        sync.push(SetPoints(labels, instance=inst, xy=inst.numpy() + 0.5))

    out["drag_step"] = timed(drag_step)
    out["move_command"] = timed(move_cmd)
    out["hide_node"] = timed(hide)
    out["undo_in_place"] = timed(widget.undo)
    out["redo_in_place"] = timed(widget.redo)

    def assign() -> None:
        points.selected_data = {
            int(sync.instance_rows(sync.frame_instances(mid)[0])[0])
        }
        widget.assign_track(1)

    out["assign_track"] = timed(assign)
    out["accept_prediction"] = timed(lambda: (widget.accept_selected(), widget.undo()))
    frames = iter(range(mid + 3, mid + 4000, 10))  # frames 5 mod 10: unlabeled
    out["add_instance_new_frame"] = timed(
        lambda: widget.add_instance(500.0, 500.0, frame=next(frames))
    )
    out["undo_add_splice"] = timed(widget.undo)

    def delete() -> None:
        points.selected_data = {
            int(sync.instance_rows(sync.frame_instances(mid)[0])[0])
        }
        widget.delete_selected()
        widget.undo()

    out["delete_and_undo"] = timed(delete, repeat=3)
    widget.set_frame(0)
    out["next_labeled"] = timed(lambda: widget.go("labeled", 1), repeat=20)
    out["next_low_score"] = timed(lambda: widget.go("low_score", 1), repeat=20)
    out["frame_sets_rebuild"] = timed(
        lambda: (widget._invalidate(), widget.frame_sets()), 3
    )
    out["load_after"] = os.getloadavg()
    out["machine"] = "cpu2 (2-core dev box, shared/busy)"
    out["python"] = platform.python_version()
    out["napari"] = napari.__version__
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"labeling_{args.frames}.json"
    path.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))
    viewer.close()


if __name__ == "__main__":
    main()
