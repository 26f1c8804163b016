"""Tracker speed and where each tracker breaks, on the real two-fly clip.

Ground truth is ../shared/data/clip_0-1249.slp; detections come from the seeded
degradation of tests/fixtures/degrade.py (jitter ~5 px, 10% nodes dropped, misses,
spurious low-score detections) scaled by ``strength``. Two parts:

- speed: every tracker over all 1250 frames at strength 1, ``--max-tracks 2``;
  for flow, decoding time is measured apart from tracking time (best of
  ``--repeat`` runs, since the machine is shared).
- sweep: strength (and jitter alone) per tracker over frames 950..1249, where the
  flies walk and court: identity switches, IDF1, MOTA, track count, per seed.
- identity: the identity tracker on detections whose identities are wrong at a
  given rate, per-frame (switch cost 0) and steadied by motion.
- synthetic_speed: five made-up animals on straight paths at rising speeds
  (simple vs kalman), where window matching loses fast crossing animals.

Writes bench/results/tracking.json and prints rows for docs/benchmarks.md.

    .venv/bin/python bench/bench_tracking.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import sleap_io as sio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.degrade import degrade_labels  # noqa: E402
from tests.track.synthetic import SKELETON, body, scene  # noqa: E402

from napari_sleap.evaluate.tracking import evaluate_tracking  # noqa: E402
from napari_sleap.track import track_labels  # noqa: E402
from napari_sleap.track.frames import open_frames  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "clip_0-1249.slp"
TRACKERS = ("simple", "kalman", "flow")
SWEEP_RANGE = (950, 1250)
WIDE_PX = 60.0


class TimedFrames:
    """A frame source that adds up the time spent decoding."""

    def __init__(self, video: sio.Video) -> None:
        self.reader = open_frames(video)
        self.seconds = 0.0

    def __call__(self, idx: int) -> np.ndarray:
        t = time.perf_counter()
        frame = self.reader(idx)
        self.seconds += time.perf_counter() - t
        return frame

    def close(self) -> None:
        self.reader.close()


def speed(gt: sio.Labels, repeat: int) -> dict:
    det = degrade_labels(gt, seed=0)
    n = len(det.labeled_frames)
    out = {}
    for tracker in (*TRACKERS, "flow-greedy"):
        name, match = (tracker, "hungarian")
        if tracker == "flow-greedy":
            name, match = "flow", "greedy"
        totals, decodes, cpus = [], [], []
        for _ in range(repeat):
            frames = TimedFrames(det.video) if name == "flow" else None
            t = time.perf_counter()
            c = time.process_time()
            tracked = track_labels(det, name, 2, match=match, frames=frames)
            totals.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
            decodes.append(frames.seconds if frames else 0.0)
            if frames:
                frames.close()
        best = int(np.argmin(np.array(totals) - np.array(decodes)))
        m = evaluate_tracking(gt, tracked)
        out[tracker] = {
            "frames": n,
            "total_ms_per_frame": 1000 * totals[best] / n,
            "decode_ms_per_frame": 1000 * decodes[best] / n,
            "tracking_ms_per_frame": 1000 * (totals[best] - decodes[best]) / n,
            # CPU time of all threads (decoder threads too): the work itself,
            # less sensitive than wall time to the other jobs on the machine.
            "cpu_ms_per_frame_min": 1000 * min(cpus) / n,
            "id_switches": m.id_switches,
            "idf1": m.idf1,
            "mota": m.mota,
            "pred_tracks": m.pred_tracks,
        }
        print(tracker, out[tracker], flush=True)
    return out


def sweep(gt: sio.Labels, seeds: list[int], strengths, jitters) -> list[dict]:
    rows = []
    cases = [("strength", s, {"strength": s}) for s in strengths]
    cases += [("jitter_px", j, {"jitter_px": j}) for j in jitters]
    for kind, value, kwargs in cases:
        for seed in seeds:
            det = degrade_labels(gt, seed=seed, frame_range=SWEEP_RANGE, **kwargs)
            for tracker in TRACKERS:
                tracked = track_labels(det, tracker, 2)
                m = evaluate_tracking(gt, tracked, frame_range=SWEEP_RANGE)
                # A wide radius keeps very noisy poses matched, so identity is
                # still judged where the default radius drops them as misses.
                wide = evaluate_tracking(gt, tracked, WIDE_PX, SWEEP_RANGE)
                rows.append(
                    {
                        "vary": kind,
                        "value": value,
                        "seed": seed,
                        "tracker": tracker,
                        "id_switches": m.id_switches,
                        "idf1": round(m.idf1, 4),
                        "mota": round(m.mota, 4),
                        "pred_tracks": m.pred_tracks,
                        "max_distance": round(m.max_distance, 1),
                        "id_switches_wide": wide.id_switches,
                        "idf1_wide": round(wide.idf1, 4),
                    }
                )
        done = [r for r in rows if r["vary"] == kind and r["value"] == value]
        summary = {
            t: (
                sum(r["id_switches"] for r in done if r["tracker"] == t),
                min(r["idf1"] for r in done if r["tracker"] == t),
                sum(r["id_switches_wide"] for r in done if r["tracker"] == t),
                min(r["idf1_wide"] for r in done if r["tracker"] == t),
            )
            for t in TRACKERS
        }
        print(
            kind,
            value,
            "switches, min IDF1; at 60 px: switches, min IDF1 (over seeds):",
            summary,
            flush=True,
        )
    return rows


def identity_sweep(gt: sio.Labels, seeds: list[int], errors, costs) -> list[dict]:
    """Identity tracker against an identity model wrong at a given rate."""
    rows = []
    for err in errors:
        for cost in costs:
            for seed in seeds:
                det = degrade_labels(
                    gt, seed=seed, frame_range=SWEEP_RANGE, identity_errors=err
                )
                tracked = track_labels(det, "identity", 2, identity_switch_cost=cost)
                m = evaluate_tracking(gt, tracked, frame_range=SWEEP_RANGE)
                rows.append(
                    {
                        "identity_errors": err,
                        "switch_cost": cost,
                        "seed": seed,
                        "id_switches": m.id_switches,
                        "idf1": round(m.idf1, 4),
                        "named_right": all(
                            c.pred_track == c.gt_track for c in m.per_track
                        ),
                    }
                )
        done = [r for r in rows if r["identity_errors"] == err]
        print(
            "identity errors",
            err,
            {
                c: (
                    sum(r["id_switches"] for r in done if r["switch_cost"] == c),
                    min(r["idf1"] for r in done if r["switch_cost"] == c),
                )
                for c in costs
            },
            flush=True,
        )
    return rows


def speed_sweep(speeds, seeds: int = 20, animals: int = 5) -> list[dict]:
    """Made-up scenes: animals on straight paths at a given top speed.

    Each scene has ``animals`` bodies (20 px long) in a 400 px square, jitter 3 px,
    30% of frames missing one animal and 10% with a spurious detection; simple
    and kalman only (there is no video to run flow on).
    """
    rows = []
    for top in speeds:
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            paths = [
                (tuple(rng.uniform(0, 400, 2)), tuple(rng.uniform(-top, top, 2)))
                for _ in range(animals)
            ]
            gt, det = scene(paths, frames=80, jitter=3.0, seed=seed)
            for lf in det.labeled_frames[3:]:
                if rng.random() < 0.3:
                    del lf.instances[int(rng.integers(len(lf.instances)))]
                if rng.random() < 0.1:
                    pose = body(*rng.uniform(0, 400, 2), rng.uniform(0, 6))
                    lf.instances.append(
                        sio.PredictedInstance.from_numpy(
                            pose, skeleton=SKELETON, score=float(rng.uniform(0.05, 0.3))
                        )
                    )
            for tracker in ("simple", "kalman"):
                m = evaluate_tracking(gt, track_labels(det, tracker, animals))
                rows.append(
                    {
                        "top_speed_px": top,
                        "seed": seed,
                        "tracker": tracker,
                        "id_switches": m.id_switches,
                        "idf1": round(m.idf1, 4),
                    }
                )
        done = [r for r in rows if r["top_speed_px"] == top]
        print(
            "synthetic top speed",
            top,
            {
                t: sum(r["id_switches"] for r in done if r["tracker"] == t)
                for t in ("simple", "kalman")
            },
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--out", default=str(ROOT / "bench" / "results" / "tracking.json")
    )
    args = parser.parse_args()
    gt = sio.load_slp(str(DATA))
    load_before = os.getloadavg()
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": "cpu2 (2-core dev box, shared/busy)",
        "loadavg_before": load_before,
        "speed": speed(gt, args.repeat),
        "sweep": sweep(
            gt,
            list(range(args.seeds)),
            strengths=[0.5, 1, 2, 3, 4, 6, 8],
            jitters=[5, 10, 20, 30, 40, 60],
        ),
        "identity": identity_sweep(
            gt,
            list(range(args.seeds)),
            errors=[0.0, 0.05, 0.1, 0.2, 0.3, 0.4],
            costs=[0.0, 1.0, 3.0, 5.0],
        ),
        "synthetic_speed": speed_sweep([2, 4, 8, 12, 16]),
        "loadavg_after": os.getloadavg(),
    }
    Path(args.out).write_text(json.dumps(result, indent=1))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
