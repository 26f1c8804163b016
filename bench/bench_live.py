"""Closed-loop latency and trigger timing on the fly clip replayed as a camera.

Each engine (``predictor``, ``portable:<keras backend>``) runs in a process of
its own (the Keras backend is chosen at import) on the same replay: frames
A..B of ``clip.mp4`` released at ``--fps`` by the replay clock, newest frame
first, the proximity trigger (one fly's head within N px of the other's
thorax) deciding on every processed frame. Reported per engine: end-to-end
latency (grab -> decision) median/p99, model latency, frames processed and
dropped, node error of the processed frames against the proofread labels,
and the trigger against the same rule on the labels (precision/recall of
trigger-on frames, processed and held over dropped frames; onsets found,
missed and false, delay from the labeled onset frame's release to the fire).
Extra distances are scored from the same run's poses and decision times.

    .venv/bin/python bench/bench_live.py --engines predictor,portable:tensorflow

Writes ``bench/results/live_<tag>.json``; prints the docs/benchmarks.md rows
(``--write-doc`` appends them). Frames 1250..1499 are never used.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
MACHINE = "cpu2 (2-core dev box, shared)"
MODELS = [ROOT / "out/fly_topdown/centroid", ROOT / "out/fly_topdown/centered_instance"]
#: The held-out frames of the clip: never replayed or scored here.
HELD_OUT_START = 1250


def _node_errors(results: list, labels: Any) -> list[float]:
    """Per labeled node: distance to the same node of its best-matched prediction."""
    by_frame = {lf.frame_idx: lf for lf in labels.labeled_frames}
    errors: list[float] = []
    for r in results:
        lf = by_frame.get(r.index)
        if lf is None or not len(r.poses):
            continue
        gt = np.stack([i.numpy() for i in lf.user_instances])
        pred = r.poses.points
        best = None
        for perm in itertools.permutations(range(len(pred)), min(len(gt), len(pred))):
            d = np.linalg.norm(gt[: len(perm)] - pred[list(perm)], axis=-1)
            cost = np.nanmean(d)
            if best is None or cost < best[0]:
                best = (cost, d)
        if best is not None:
            errors.extend(float(x) for x in best[1].ravel() if np.isfinite(x))
    return errors


def _triggers_from_poses(results: list, names: list[str], distance: float, args):
    """The trigger replayed over a run's poses, firing at each frame's decision time."""
    from napari_sleap.live.trigger import ProximityTrigger, TriggerEvent

    trig = ProximityTrigger(names, distance, args.node, args.target)
    decisions, events, state = {}, [], False
    for r in results:
        on = trig.holds(r.poses.points)
        decisions[r.index] = on
        if on != state:
            events.append(TriggerEvent(r.index, r.t_decision, on))
            state = on
    return decisions, events


def _model_alone(model: Any, args: argparse.Namespace, n: int = 40) -> dict:
    """The model on frames already in memory, back to back (no replay, no drops)."""
    import time

    from napari_sleap.io.video import open_video

    reader = open_video(args.video)
    frames = [np.asarray(reader[i]) for i in range(1150, 1150 + n)]
    reader.close()
    model.warmup(frames[0])
    times = []
    for f in frames:
        t = time.perf_counter()
        model.predict(f)
        times.append((time.perf_counter() - t) * 1000)
    return {
        "median": float(np.median(times)),
        "p99": float(np.percentile(times, 99)),
        "frames": n,
        "loadavg": os.getloadavg(),
    }


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    """One engine on the replay: the figures as a dict."""
    import sleap_io as sio

    from napari_sleap.io.frames import parse_frames
    from napari_sleap.live import LiveLoop, VideoReplaySource, load_live_model
    from napari_sleap.live.trigger import (
        ProximityTrigger,
        compare_to_labels,
        proximity,
        rule_from_labels,
    )

    engine = args.one.split(":")[0]
    frames = parse_frames(args.frames)
    source = VideoReplaySource(args.video, fps=args.fps, frames=frames)
    model = load_live_model(args.models, engine=engine, max_instances=2)
    alone = _model_alone(model, args)
    trigger = ProximityTrigger(model.node_names, args.distance, args.node, args.target)
    loop = LiveLoop(source, model, on_result=trigger)
    load0 = os.getloadavg()
    summary = loop.run()
    load1 = os.getloadavg()
    labels = sio.load_slp(str(args.labels))
    scores: dict[str, Any] = {}
    for distance in [args.distance, *args.extra_distances]:
        truth = rule_from_labels(labels, frames, distance, args.node, args.target)
        if distance == args.distance:  # the trigger that ran live
            decisions = {r.index: bool(r.decision) for r in loop.results}
            events = trigger.events
        else:
            decisions, events = _triggers_from_poses(
                loop.results, model.node_names, distance, args
            )
        scores[f"{distance:g}"] = compare_to_labels(
            decisions, events, truth, source.due_of_frame
        )
    errors = _node_errors(loop.results, labels)
    a = model.node_names.index(args.node)
    b = model.node_names.index(args.target)
    return {
        "engine": model.engine,
        "summary": summary.to_dict(),
        "model_alone_ms": alone,
        "trigger": scores,
        "node_error_px": {
            "p50": float(np.percentile(errors, 50)),
            "p90": float(np.percentile(errors, 90)),
            "nodes": len(errors),
        },
        "loadavg_start": load0,
        "loadavg_end": load1,
        "frames": [
            {
                "index": r.index,
                "t_due": r.t_due - source.t_start,
                "latency_ms": r.latency * 1000,
                "model_ms": r.model_latency * 1000,
                "instances": len(r.poses),
                "distance": proximity(r.poses.points, a, b),
                "decision": bool(r.decision),
            }
            for r in loop.results
        ],
    }


def _row(res: dict[str, Any], args: argparse.Namespace, command: str) -> str:
    s, t = res["summary"], res["trigger"][f"{args.distance:g}"]
    held, proc, on = t["held"], t["processed"], t["onsets"]
    load = f"load {res['loadavg_start'][0]:.1f} -> {res['loadavg_end'][0]:.1f}"
    lat, mod = s["latency_ms"], s["model_ms"]
    return (
        f"| {datetime.date.today()} | {MACHINE}; {load} | `{command}` | "
        f"**closed loop, {res['engine']}**: clip.mp4 frames {args.frames} replayed at "
        f"{args.fps:g} frames/s (1024x1024), top-down out/fly_topdown, batch 1: "
        f"end-to-end latency (grab -> trigger decision) **median "
        f"{lat['median']:.0f} ms, p99 {lat['p99']:.0f} ms** (model {mod['median']:.0f}"
        f" / {mod['p99']:.0f} ms in the loop; alone, 40 frames in memory back to "
        f"back: {res['model_alone_ms']['median']:.0f} / "
        f"{res['model_alone_ms']['p99']:.0f} ms); {s['processed']} of "
        f"{s['grabbed']} frames "
        f"processed ({s['processed_fps']:.1f}/s), **{s['dropped']} dropped** "
        f"({s.get('late', 0)} of them late from the replay clock); node "
        f"error p50 {res['node_error_px']['p50']:.1f} / p90 "
        f"{res['node_error_px']['p90']:.1f} px. Trigger head -> other's thorax < "
        f"{args.distance:g} px vs the same rule on clip_0-1249.slp: processed "
        f"frames precision {proc['precision']:.3f} / recall {proc['recall']:.3f}; "
        f"held over drops precision {held['precision']:.3f} / recall "
        f"{held['recall']:.3f} ({held['on_truth']} on-frames in the labels); onsets "
        f"{on['matched']} of {len(on['labels'])} found ({len(on['false'])} false), "
        f"delay median {on['delay_ms_median']:.0f} ms, max "
        f"{on['delay_ms_max']:.0f} ms |"
    )


def main(argv: list[str] | None = None) -> int:
    """Run every engine in its own process; write the JSON and the rows."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=[str(m) for m in MODELS])
    p.add_argument("--video", default=str(DATA / "clip.mp4"))
    p.add_argument("--labels", default=str(DATA / "clip_0-1249.slp"))
    p.add_argument("--frames", default="0-1249")
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--distance", type=float, default=60.0)
    p.add_argument("--extra-distances", type=float, nargs="*", default=[75.0])
    p.add_argument("--node", default="head")
    p.add_argument("--target", default="thorax")
    p.add_argument("--engines", default="predictor,portable:tensorflow")
    p.add_argument("--tag", default="fly")
    p.add_argument("--write-doc", action="store_true")
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--json-out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    from napari_sleap.io.frames import parse_frames

    if max(parse_frames(args.frames)) >= HELD_OUT_START:
        p.error(f"frames from {HELD_OUT_START} on are held out; replay 0-1249 at most")
    if args.one:
        Path(args.json_out).write_text(json.dumps(run_one(args), default=float))
        return 0
    runs = []
    passthrough = [a for a in (argv or sys.argv[1:]) if a != "--write-doc"]
    for spec in args.engines.split(","):
        env = dict(os.environ)
        if ":" in spec:
            env["KERAS_BACKEND"] = spec.split(":", 1)[1]
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "one.json"
            cmd = [sys.executable, __file__, *passthrough]
            cmd += ["--one", spec, "--json-out", str(out)]
            print(f"== {spec}", flush=True)
            done = subprocess.run(cmd, env=env, check=False)
            if done.returncode != 0:
                print(f"{spec}: failed (exit {done.returncode})", file=sys.stderr)
                continue
            runs.append({"spec": spec, **json.loads(out.read_text())})
    command = "python bench/bench_live.py " + " ".join(passthrough)
    result = {"command": command, "machine": MACHINE, "args": vars(args), "runs": runs}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"live_{args.tag}.json"
    path.write_text(json.dumps(result, indent=1, default=float))
    rows = [_row(r, args, command) for r in runs]
    for r in runs:
        print("\n".join(_lines(r)))
    print(f"wrote {path}")
    print("\n".join(rows))
    if args.write_doc and rows:
        with open(ROOT / "docs" / "benchmarks.md", "a") as f:
            f.write("\n".join(rows) + "\n")
    return 0


def _lines(res: dict[str, Any]) -> list[str]:
    s = res["summary"]
    out = [
        f"-- {res['engine']}: {s['processed']}/{s['grabbed']} processed, "
        f"{s['dropped']} dropped, latency {s['latency_ms']}, model {s['model_ms']}"
    ]
    for dist, t in res["trigger"].items():
        out.append(f"   N={dist}: processed {t['processed']}, held {t['held']}")
        out.append(f"   onsets {t['onsets']}")
    return out


if __name__ == "__main__":
    sys.exit(main())
