"""Training throughput (samples/s) of each model role with its built-in profile.

Trains each role's default model for a few steps on real frames of
``../shared/data/clip_train.slp`` and times the steps after a warm-up (graph
tracing excluded); separately times the numpy/tf.data example pipeline alone,
to show whether data or model bound the rate. Writes
``bench/results/training_<date>.json`` and prints one line per role.

    .venv/bin/python bench/bench_training.py [--steps 10] [--roles centroid ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
ROLES = (
    "centroid",
    "centered_instance",
    "centered_instance_id",
    "bottom_up",
    "bottom_up_id",
)


def bench_role(role: str, labels, steps: int, cache: dict) -> dict:
    import keras

    from napari_sleap.config.training import load_profile
    from napari_sleap.nn.data.examples import ExampleMaker
    from napari_sleap.nn.data.pipeline import make_dataset
    from napari_sleap.nn.model import build_model, output_names
    from napari_sleap.train.fit import _compile
    from napari_sleap.train.prepare import prepare

    tset = prepare(load_profile(role), labels)
    tset.load_frames(cache)
    cfg, info = tset.config, tset.info
    keras.utils.set_random_seed(0)
    model = build_model(cfg.model, info)
    _compile(model, cfg, info)
    maker = ExampleMaker(info, tset.frame_shape, cfg.augment, tset.flip_permutation)
    batch = cfg.optim.batch_size
    ds = make_dataset(
        maker, tset.train, tset.frame, batch, output_names=output_names(model)
    )

    # the example pipeline alone (augmentation + targets + batching)
    it = iter(ds)
    next(it)
    t = time.perf_counter()
    for _ in range(steps):
        next(it)
    data_rate = steps * batch / (time.perf_counter() - t)

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, b, logs=None):
            stamps.append(time.perf_counter())

    stamps: list[float] = []
    model.fit(ds, epochs=1, steps_per_epoch=steps + 2, callbacks=[Clock()], verbose=0)
    # from the end of step 2 (tracing done) to the last step
    rate = steps * batch / (stamps[-1] - stamps[1])
    return {
        "role": role,
        "input_shape": list(maker.input_shape),
        "input_scale": info.input_scale,
        "crop_size": info.crop_size,
        "batch_size": batch,
        "params": int(model.count_params()),
        "steps_timed": steps,
        "train_samples_per_s": round(rate, 2),
        "data_pipeline_samples_per_s": round(data_rate, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--roles", nargs="*", default=list(ROLES))
    args = parser.parse_args()

    import sleap_io as sio
    import tensorflow as tf

    labels = sio.load_slp(str(DATA / "clip_train.slp"))
    cache: dict = {}
    results = []
    load_before = os.getloadavg()
    for role in args.roles:
        r = bench_role(role, labels, args.steps, cache)
        r["loadavg_after"] = os.getloadavg()
        results.append(r)
        print(
            f"{role:22s} input {r['input_shape']} batch {r['batch_size']}: "
            f"train {r['train_samples_per_s']} samples/s, "
            f"data pipeline alone {r['data_pipeline_samples_per_s']} samples/s",
            flush=True,
        )
    out = {
        "benchmark": "training throughput per role (built-in profiles)",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": "cpu2 (2-core dev box, shared/busy)",
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "tensorflow": tf.__version__,
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "loadavg_before": load_before,
        "labels": "clip_train.slp (100 frames, 1024x1024, 2 flies)",
        "results": results,
    }
    res_dir = ROOT / "bench" / "results"
    res_dir.mkdir(parents=True, exist_ok=True)
    path = res_dir / f"training_{dt.date.today().isoformat()}.json"
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
