"""Other-instance negatives on the fly clip: picture and CPU cost (issue 15).

``.venv/bin/python bench/bench_negatives_cost.py`` prepares the centered-instance
model of ``bench/fly_neg_split.yaml`` on ``clip_train.slp``, saves crops of the
closest-contact training frames with the loss-weight map drawn over them
(``docs/images/fly_negatives_weights.png``: red = extra weight on the other
fly's nodes, green = the centred fly's targets), and times, in one run,
example making (examples per CPU-s) and training steps (CPU-s per step, batch
of the config, blocks interleaved) with and without the negatives. Writes
``bench/results/fly_negatives_cost.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DATA = ROOT.parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=str(ROOT / "bench/fly_neg_split.yaml"))
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--steps", type=int, default=10, help="steps per block")
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument(
        "--image", default=str(ROOT / "docs/images/fly_negatives_weights.png")
    )
    args = parser.parse_args()

    import cv2

    from napari_sleap.config.training import pipeline_configs, read_overrides
    from napari_sleap.nn.data.examples import ExampleMaker
    from napari_sleap.nn.heads import make_heads
    from napari_sleap.train.prepare import load_training_labels, prepare

    cfg = pipeline_configs("top-down", read_overrides(args.config))["centered_instance"]
    labels = load_training_labels(DATA / "clip_train.slp")
    tset = prepare(cfg, labels, DATA / "clip_train.slp")
    tset.load_frames()
    neg = tset.config.optim.other_instance_negatives
    info = tset.info
    info.heads = {k: h.info() for k, h in make_heads(tset.config.model, info).items()}
    aug = tset.config.augment
    makers = {
        "plain": ExampleMaker(info, tset.frame_shape, aug, tset.flip_permutation),
        "negatives": ExampleMaker(
            info, tset.frame_shape, aug, tset.flip_permutation, neg
        ),
    }
    items = makers["plain"].items(tset.train)

    rates = {}
    for name, m in makers.items():
        rng = np.random.default_rng(0)
        t0 = time.process_time()
        for j in range(args.examples):
            i, k = items[j % len(items)]
            m.make(tset.train[i], k, tset.frame(tset.train[i]), rng)
        rates[name] = args.examples / (time.process_time() - t0)
        print(f"{name}: {rates[name]:.0f} examples per CPU-s")

    # Picture: unaugmented crops of the closest-contact frames, weights in red.
    def gap(s):
        if len(s.points) < 2:
            return np.inf
        d = np.linalg.norm(s.points[0][:, None] - s.points[1][None], axis=-1)
        return float(np.nanmin(d))

    plain_neg = ExampleMaker(info, tset.frame_shape, negatives=neg)
    close = sorted(range(len(tset.train)), key=lambda i: gap(tset.train[i]))[:6]
    tiles = []
    for i in close:
        s = tset.train[i]
        image, tgt = plain_neg.make(s, 0, tset.frame(s))
        gray = (image[..., 0] * 255).astype(np.uint8)
        tile = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR).astype(np.float32)
        cm = tgt["confmaps"]
        size = tile.shape[:2][::-1]
        w = cv2.resize((cm[..., -1] - 1.0) / neg.weight, size)
        conf = cv2.resize(cm[..., :-1].max(axis=-1), size)
        tile[..., 2] = np.maximum(tile[..., 2], 255 * w)
        tile[..., 1] = np.maximum(tile[..., 1], 255 * conf)
        tile = tile.clip(0, 255).astype(np.uint8)
        cv2.putText(tile, f"frame {s.frame_index}", (4, 14), 0, 0.4, (255, 255, 255), 1)
        tiles.append(np.pad(tile, ((2, 2), (2, 2), (0, 0)), constant_values=255))
    grid = np.vstack([np.hstack(tiles[:3]), np.hstack(tiles[3:6])])
    cv2.imwrite(args.image, grid)
    print(f"wrote {args.image}")

    # Training steps: the same model and batch, the two losses, interleaved.
    import keras

    from napari_sleap.nn.model import build_model
    from napari_sleap.train.fit import _compile

    batch = tset.config.optim.batch_size
    data = {}
    for name, m in makers.items():
        rng = np.random.default_rng(1)
        ex = [
            m.make(tset.train[i], k, tset.frame(tset.train[i]), rng)
            for i, k in items[:batch]
        ]
        data[name] = (
            np.stack([e[0] for e in ex]),
            {"confmaps": np.stack([e[1]["confmaps"] for e in ex])},
        )
    models = {}
    for name in makers:
        c = copy.deepcopy(tset.config)
        c.optim.other_instance_negatives.enabled = name == "negatives"
        keras.utils.set_random_seed(0)
        models[name] = build_model(c.model, info)
        _compile(models[name], c, info)
        models[name].train_on_batch(*data[name])  # build the step function
    step_cpu = {name: [] for name in makers}
    for _ in range(args.blocks):
        for name, model in models.items():
            t0 = time.process_time()
            for _ in range(args.steps):
                model.train_on_batch(*data[name])
            step_cpu[name].append((time.process_time() - t0) / args.steps)
    per_step = {k: float(np.median(v)) for k, v in step_cpu.items()}
    print("CPU-s per training step:", per_step)

    out = {
        "machine": platform.node(),
        "config": args.config,
        "negatives": {"weight": neg.weight, "sigma": neg.sigma},
        "examples": args.examples,
        "examples_per_cpu_s": rates,
        "example_cost_ratio": rates["plain"] / rates["negatives"],
        "train_step_cpu_s": per_step,
        "train_step_blocks_cpu_s": step_cpu,
        "train_step_cost_ratio": per_step["negatives"] / per_step["plain"],
        "batch_size": batch,
        "crop": info.crop_size,
    }
    path = ROOT / "bench/results/fly_negatives_cost.json"
    path.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
