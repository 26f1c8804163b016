"""Copy-paste contact augmentation on the fly clip: picture and example cost (issue 15).

``.venv/bin/python bench/bench_copy_paste.py`` prepares the centered-instance
model of ``bench/fly_paste_split.yaml`` on ``clip_train.slp``, draws augmented
training crops with and without the paste, saves a grid of pasted crops with
the targets' peaks (``docs/images/fly_copy_paste_crops.png``: green = the
centered animal's targets, never the pasted one) and times example making
(examples/s, one thread) both ways. Writes ``bench/results/fly_copy_paste.json``.
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
    parser.add_argument("--config", default=str(ROOT / "bench/fly_paste_split.yaml"))
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument(
        "--image", default=str(ROOT / "docs/images/fly_copy_paste_crops.png")
    )
    args = parser.parse_args()

    import cv2

    from napari_sleap.config.training import pipeline_configs, read_overrides
    from napari_sleap.nn.data.examples import ExampleMaker
    from napari_sleap.nn.heads import make_heads
    from napari_sleap.train.copy_paste import contact_paster
    from napari_sleap.train.prepare import load_training_labels, prepare

    cfg = pipeline_configs("top-down", read_overrides(args.config))["centered_instance"]
    labels = load_training_labels(DATA / "clip_train.slp")
    tset = prepare(cfg, labels, DATA / "clip_train.slp")
    tset.load_frames()
    aug = tset.config.augment
    off = copy.deepcopy(aug)
    off.copy_paste_probability = 0.0
    always = copy.deepcopy(aug)
    always.copy_paste_probability = 1.0
    info = tset.info
    info.heads = {k: h.info() for k, h in make_heads(tset.config.model, info).items()}
    items = ExampleMaker(info, tset.frame_shape).items(tset.train)

    def maker(a):
        m = ExampleMaker(info, tset.frame_shape, a, tset.flip_permutation)
        m.paste = contact_paster(tset, a)
        return m

    rates = {}
    for name, a in (("off", off), ("configured", aug), ("always", always)):
        m = maker(a)
        rng = np.random.default_rng(0)
        t0 = time.process_time()
        for j in range(args.examples):
            i, k = items[j % len(items)]
            m.make(tset.train[i], k, tset.frame(tset.train[i]), rng)
        rates[name] = args.examples / (time.process_time() - t0)
        print(f"{name}: {rates[name]:.0f} examples per CPU-s")

    # Picture: the same crops without and with a paste, targets drawn.
    m_off, m_on = maker(off), maker(always)
    tiles = []
    pick = np.random.default_rng(1).choice(len(items), 6, replace=False)
    for j in pick:
        i, k = items[j]
        row = []
        for m in (m_off, m_on):
            image, tgt = m.make(
                tset.train[i], k, tset.frame(tset.train[i]), np.random.default_rng(j)
            )
            tile = cv2.cvtColor(
                (image[..., 0] * 255).astype(np.uint8), cv2.COLOR_GRAY2BGR
            )
            cm = tgt["confmaps"]
            stride = tile.shape[0] // cm.shape[0]
            for n in range(cm.shape[-1]):
                if cm[..., n].max() > 0.5:
                    y, x = np.unravel_index(np.argmax(cm[..., n]), cm.shape[:2])
                    c = (int(x * stride + stride / 2), int(y * stride + stride / 2))
                    cv2.circle(tile, c, 3, (0, 220, 0), -1)
            row.append(tile)
        tiles.append(
            np.hstack([row[0], np.full((row[0].shape[0], 4, 3), 255, np.uint8), row[1]])
        )
    sep = np.full((4, tiles[0].shape[1], 3), 255, np.uint8)
    grid_rows = [np.vstack([t, sep]) for t in tiles]
    left = np.vstack(grid_rows[:3])
    right = np.vstack(grid_rows[3:])
    grid = np.hstack([left, np.full((left.shape[0], 12, 3), 255, np.uint8), right])
    cv2.imwrite(args.image, grid)
    print(f"wrote {args.image}")

    out = {
        "machine": platform.node(),
        "config": args.config,
        "examples": args.examples,
        "examples_per_cpu_s": rates,
        "cost_ratio_configured": rates["off"] / rates["configured"],
        "cost_ratio_always": rates["off"] / rates["always"],
        "crop": info.crop_size,
        "donors": len(contact_paster(tset, always).donors),
    }
    path = ROOT / "bench/results/fly_copy_paste.json"
    path.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
