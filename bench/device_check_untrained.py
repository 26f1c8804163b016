"""Untrained fly-size models for the device check, in seconds instead of a training.

``UNTRAINED=1 bash bench/device_check_prep.sh`` uses this when there is no time
to train: the built-in recipes' architectures (profiles) at the fly clip's
sizes (centroid at input scale 0.25, centered instance on 192 px crops,
bottom-up at 0.5 with PAFs), seeded weights, and an ``UNTRAINED`` marker that
makes the check force peaks (two animals per frame, three candidates per node
for the PAF grouping) so the end-to-end path does a trained model's work.

    python bench/device_check_untrained.py .devcheck/models
"""

from __future__ import annotations

import sys
from pathlib import Path

NODES = [
    "head", "thorax", "abdomen", "wingL", "wingR", "forelegL4", "forelegR4",
    "midlegL4", "midlegR4", "hindlegL4", "hindlegR4", "eyeL", "eyeR",
]  # fmt: skip
EDGES = [(1, 0), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8), (1, 9),
         (1, 10), (0, 11), (0, 12)]  # fmt: skip
#: (pipeline folder, role, ModelInfo fields) at the fly clip's sizes.
MODELS = [
    ("top-down", "centroid", {"input_scale": 0.25, "anchor_node": "thorax"}),
    ("top-down", "centered_instance", {"crop_size": 192, "anchor_node": "thorax"}),
    ("bottom-up", "bottom_up", {"input_scale": 0.5}),
]
MARKER = "UNTRAINED"


def build(root: Path) -> list[Path]:
    """Save the three model folders under ``root`` as training would."""
    import keras

    from napari_sleap.config.training import load_profile
    from napari_sleap.nn.model import build_model
    from napari_sleap.nn.model_info import ModelInfo

    folders = []
    for pipeline, role, fields in MODELS:
        keras.utils.set_random_seed(0)
        info = ModelInfo(role=role, node_names=NODES, edges=EDGES, **fields)
        model = build_model(load_profile(role).model, info)
        folder = root / pipeline / role
        folder.mkdir(parents=True, exist_ok=True)
        model.save(folder / info.keras_file)
        info.save(folder)
        folders.append(folder)
    (root / MARKER).write_text("untrained models: the check forces peaks\n")
    return folders


if __name__ == "__main__":
    for f in build(Path(sys.argv[1])):
        print(f)
