"""Accuracy of SLEAP 1.x top-down models with input scaling, before/after the crop fix.

Runs SLEAP's minimal centroid + centered-instance models on the first labeled
frame of ``minimal_instance`` (``centered_pair_low_quality.mp4``) and reports
each node's distance to the ground truth, for the crop the config implies (the
fix: ``crop_size / input_scaling`` frame pixels) and for the old reading of
``crop_size`` as frame pixels. Writes ``bench/results/sleap1_scaling.json``.

Usage: ``.venv/bin/python bench/bench_sleap1_scaling.py``
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "data" / "sleap1_models"
GT = "minimal_instance.UNet.centered_instance.labels_gt.train.slp"


def errors(layer, frame, gt) -> list[list[float]]:
    """Per GT instance, per node distance (px) to the closest predicted instance."""
    pts = layer(frame[None])[0].points
    out = []
    for inst in gt:
        dist = np.linalg.norm(pts - inst[None], axis=-1)
        out.append(dist[int(np.argmin(dist.max(axis=1)))].round(2).tolist())
    return out


def main() -> None:
    import sleap_io as sio

    from napari_sleap.infer.layers import TopDownLayer
    from napari_sleap.infer.model_io import load_model

    lf = sio.load_slp(MODELS / GT).labeled_frames[0]
    frame = lf.video[lf.frame_idx]
    gt = np.stack([i.numpy() for i in lf.instances])
    result = {"frame": int(lf.frame_idx)}
    for name in ("centered_instance", "centered_instance_with_scaling"):
        inst = load_model(MODELS / f"minimal_instance.UNet.{name}")
        centroid = load_model(MODELS / "minimal_instance.UNet.centroid")
        fixed = errors(TopDownLayer(centroid, inst), frame, gt)
        result[name] = {"crop_px": inst.info.crop_size, "errors_px": fixed}
        if inst.info.input_scale != 1.0:
            inst.info.crop_size = round(inst.info.crop_size * inst.info.input_scale)
            old = errors(TopDownLayer(centroid, inst), frame, gt)
            result[name]["before_fix"] = {
                "crop_px": inst.info.crop_size,
                "errors_px": old,
            }
    out = ROOT / "bench" / "results" / "sleap1_scaling.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
