"""Tracking our own models' predictions on the real fly clip.

``.venv/bin/python bench/bench_track_predicted.py MODEL_DIR [MODEL_DIR ...]``
predicts frames 0..1249 of ``../shared/data/clip.mp4`` with a trained pipeline
(e.g. the top-down models of ``bench/bench_fly_accuracy.py dev``), tracks them
with every temporal tracker at ``--max-tracks 2`` and scores identities against
the proofread ``clip_0-1249.slp``: identity switches, IDF1, MOTA and the number
of tracks. Predictions are cached beside ``--out`` so trackers can be rerun.

Writes ``bench/results/track_predicted.json``; add the row to
docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("/tmp/track_predicted"))
    parser.add_argument("--frames", default="0-1249")
    parser.add_argument("--trackers", default="flow,simple,kalman")
    args = parser.parse_args()

    import sleap_io as sio

    from napari_sleap.evaluate.tracking import evaluate_tracking
    from napari_sleap.infer.predict import predict
    from napari_sleap.infer.predictor import PredictorOptions
    from napari_sleap.io.frames import parse_frame_range
    from napari_sleap.progress import TerminalProgress
    from napari_sleap.track import track_labels

    lo, hi = parse_frame_range(args.frames)
    args.out.mkdir(parents=True, exist_ok=True)
    pred_path = args.out / f"predictions_{lo}-{hi - 1}.slp"
    t0 = time.monotonic()
    predict(
        [str(m) for m in args.models],
        str(DATA / "clip.mp4"),
        pred_path,
        frames=list(range(lo, hi)),
        options=PredictorOptions(max_instances=2),
        progress=TerminalProgress("predict"),
        return_labels=False,
    )
    predict_s = time.monotonic() - t0
    gt = sio.load_slp(str(DATA / "clip_0-1249.slp"))
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "load": os.getloadavg(),
        "models": [str(m) for m in args.models],
        "frames": [lo, hi - 1],
        "predict_s": round(predict_s, 1),
        "trackers": {},
    }
    for name in args.trackers.split(","):
        pred = sio.load_slp(str(pred_path))
        t1 = time.monotonic()
        tracked = track_labels(pred, tracker=name, max_tracks=2)
        seconds = time.monotonic() - t1
        m = evaluate_tracking(gt, tracked, frame_range=(lo, hi))
        row = m.to_dict()
        row["ms_per_frame"] = round(1000 * seconds / max(len(tracked), 1), 2)
        result["trackers"][name] = row
        print(f"{name}: {m.summary()} ({row['ms_per_frame']} ms/frame)", flush=True)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "track_predicted.json"
    path.write_text(json.dumps(result, indent=1, default=str))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
