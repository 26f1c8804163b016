"""Accuracy of every pipeline trained on the synthetic sample, held-out frames.

``.venv/bin/python bench/bench_pipelines_sample.py [--steps N] [--only P,...]``
trains single (one-animal sample), bottom-up, top-down-id and bottom-up-id
(``--only`` also takes ``top-down``, on the same recipe) with the recipes of
tests/fixtures/trained_sample.py on 256 px frames, predicts the held-out last
quarter and writes, per pipeline, OKS mAP, detection recall, node error
p50/p90, grouping purity, identity accuracy, train time and predict frames/s to
``bench/results/pipelines_sample.json``. The tests train the same recipes for
2000 steps; this trains longer (4000 by default).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MACHINE = "cpu2 (2-core dev box, shared/busy)"
PIPELINES = ("single", "bottom-up", "top-down-id", "bottom-up-id", "top-down")
DEFAULT = ("single", "bottom-up", "top-down-id", "bottom-up-id")
sys.path.insert(0, str(ROOT))

from tests.fixtures.trained_sample import (  # noqa: E402
    N_FRAMES,
    SIZE,
    held_out,
    make_one_animal_sample,
    recipe,
    score,
    train,
)


def run_one(pipeline: str, samples: dict, work: Path, steps: int) -> dict:
    """Train, predict and score one pipeline."""
    import sleap_io as sio

    from napari_sleap.infer.predict import predict
    from napari_sleap.infer.predictor import PredictorOptions

    sample = samples["one" if pipeline == "single" else "two"]
    load_before = os.getloadavg()
    models = train(pipeline, sample, work / pipeline, steps)
    frames = held_out()
    start = time.monotonic()
    pred = predict(
        models.model_dirs,
        sample.video,
        None,
        frames=frames,
        options=PredictorOptions(max_instances=2),
    )
    seconds = time.monotonic() - start
    gt = sio.load_slp(str(sample.gt))
    figures = score(gt, pred, frames)
    return {
        "pipeline": pipeline,
        "steps_per_model": steps,
        "overrides": recipe(pipeline, steps),
        "train_seconds": round(models.train_seconds, 1),
        "train_cpu_seconds": round(models.train_cpu_seconds, 1),
        "predict_frames": len(frames),
        "predict_seconds_with_loading": round(seconds, 2),
        "predict_frames_per_s": round(len(frames) / seconds, 1),
        **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items()},
        "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
    }


def main() -> int:
    """Train and score the pipelines, print a line each, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000, help="steps per model")
    parser.add_argument("--only", default=",".join(DEFAULT), help="pipelines")
    parser.add_argument(
        "--results",
        type=Path,
        default=ROOT / "bench" / "results" / "pipelines_sample.json",
    )
    parser.add_argument("--work", type=Path, default=None, help="keep models here")
    args = parser.parse_args()
    only = [p for p in args.only.split(",") if p]
    bad = [p for p in only if p not in PIPELINES]
    if bad:
        parser.error(f"--only: unknown pipeline(s) {bad}; choose from {PIPELINES}")

    from napari_sleap.sample import ensure_sample

    tmp = None
    if args.work is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_pipelines_")
        args.work = Path(tmp.name)
    samples = {"two": ensure_sample(args.work / "two", n_frames=N_FRAMES, size=SIZE)}
    if "single" in only:
        samples["one"] = make_one_animal_sample(args.work / "one")
    results = []
    for pipeline in only:
        r = run_one(pipeline, samples, args.work / "models", args.steps)
        results.append(r)
        print(
            f"{pipeline}: OKS mAP {r['oks_map']:.3f}, recall "
            f"{r['detection_recall']:.3f}, error p50 {r['error_p50']:.2f} p90 "
            f"{r['error_p90']:.2f} px, pure "
            f"{r['pure']:.3f}, id accuracy {r['id_accuracy']:.3f} "
            f"({r['id_named']} named); train {r['train_seconds']:.0f} s "
            f"({r['train_cpu_seconds']:.0f} s CPU), predict "
            f"{r['predict_frames_per_s']} frames/s",
            flush=True,
        )
    out = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": MACHINE,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "sample": {"size": SIZE, "frames": N_FRAMES, "held_out": held_out()[:1]},
        "results": results,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    partial = args.results.with_name(f".{args.results.name}.partial")
    partial.write_text(json.dumps(out, indent=1))
    os.replace(partial, args.results)
    print(f"wrote {args.results}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
