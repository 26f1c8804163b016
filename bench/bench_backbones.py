"""Size and speed of each backbone at its default settings.

For a centered-instance model (13-node fly skeleton, grayscale): parameters,
build time, time to the first training step (graph tracing), training and
inference throughput on real fly crops from the shared clip (random frames
when the clip is absent), and a .keras round trip.

    .venv/bin/python bench/bench_backbones.py [--size 192] [--batch 4] [--steps 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "data" / "clip.mp4"

BACKBONES = {
    "unet": {"unet": {}},
    "unet_transposed_2stacks": {"unet": {"upsampling": "transposed", "stacks": 2}},
    "leap": {"leap": {}},
    "hourglass": {"hourglass": {}},
    "resnet50": {"encoder": {"name": "resnet50"}},
    "mobilenet_v2": {"encoder": {"name": "mobilenet_v2"}},
    "efficientnet_b0": {"encoder": {"name": "efficientnet_b0"}},
    "convnext_tiny": {"encoder": {"name": "convnext_tiny"}},
}


def crops(n: int, size: int) -> tuple[np.ndarray, str]:
    """``n`` real grayscale crops from the clip (or random pixels without it)."""
    if not CLIP.exists():
        rng = np.random.default_rng(0)
        return rng.random((n, size, size, 1), dtype=np.float32), "random"
    import imageio.v3 as iio

    out = []
    for i, frame in enumerate(iio.imiter(CLIP, plugin="pyav")):
        if i % 50:
            continue
        gray = frame[..., 0] if frame.ndim == 3 else frame
        y0 = x0 = 256 + (i // 50) * 8
        out.append(gray[y0 : y0 + size, x0 : x0 + size, None] / 255.0)
        if len(out) == n:
            break
    return np.stack(out).astype(np.float32), "clip.mp4"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()

    import keras

    from napari_sleap.config.base import from_dict, to_dict
    from napari_sleap.config.model import ModelConfig
    from napari_sleap.nn.model import build_model, load_model, loss_spec
    from napari_sleap.nn.model_info import ModelInfo

    x, source = crops(args.batch, args.size)
    nodes = [f"n{i}" for i in range(13)]
    rows = []
    for name, backbone in BACKBONES.items():
        if args.only and name not in args.only:
            continue
        cfg = from_dict(ModelConfig, {"backbone": backbone})
        info = ModelInfo(role="centered_instance", node_names=list(nodes))
        keras.utils.set_random_seed(0)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # offline weights
            model = build_model(cfg, info, intermediate_outputs=True)
        build_s = time.perf_counter() - t
        y = {k: np.zeros(v.shape, np.float32) for k, v in model(x[:1]).items()}
        y = {k: np.repeat(v, args.batch, axis=0) for k, v in y.items()}
        losses, weights = loss_spec(model, cfg, info)
        model.compile(
            optimizer=keras.optimizers.Adam(1e-4),
            loss=losses,
            loss_weights=weights,
            jit_compile=False,
        )
        t = time.perf_counter()
        model.train_on_batch(x, y)
        first_step_s = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(args.steps):
            model.train_on_batch(x, y)
        train_ips = args.steps * args.batch / (time.perf_counter() - t)
        predict = keras.Model(model.input, {"confmaps": model.output["confmaps"]})
        fn = predict.make_predict_function()  # noqa: F841 - warm the graph
        predict.predict_on_batch(x)
        t = time.perf_counter()
        for _ in range(args.steps):
            predict.predict_on_batch(x)
        infer_ips = args.steps * args.batch / (time.perf_counter() - t)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "best.keras"
            t = time.perf_counter()
            predict.save(path)
            load_model(path)
            roundtrip_s = time.perf_counter() - t
            file_mb = path.stat().st_size / 1e6
        row = {
            "backbone": name,
            "config": to_dict(cfg.backbone),
            "params": int(model.count_params()),
            "max_stride": info.max_stride,
            "output_stride": info.heads["confmaps"].output_stride,
            "build_s": round(build_s, 2),
            "first_train_step_s": round(first_step_s, 2),
            "train_img_per_s": round(train_ips, 2),
            "infer_img_per_s": round(infer_ips, 2),
            "keras_file_mb": round(file_mb, 1),
            "save_load_s": round(roundtrip_s, 2),
            "loadavg": os.getloadavg(),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
        keras.backend.clear_session()

    result = {
        "what": "backbone size and speed, centered_instance head, 13 nodes",
        "input": [args.batch, args.size, args.size, 1],
        "images": source,
        "steps": args.steps,
        "machine": "cpu2 (2-core dev box, shared/busy)",
        "platform": platform.platform(),
        "loadavg_end": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "rows": rows,
    }
    suffix = "_" + "_".join(args.only) if args.only else ""
    out = ROOT / "bench" / "results" / f"backbones_{args.size}{suffix}.json"
    out.write_text(json.dumps(result, indent=2))
    print(out)


if __name__ == "__main__":
    main()
