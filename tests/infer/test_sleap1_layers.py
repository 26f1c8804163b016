"""SLEAP 1.x files with other backbones' layers and a bottom-up head.

The shared data only has UNet models, so this writes a SLEAP 1.x-style model
folder itself: a network using the layers of SLEAP's ResNet/hourglass/LEAP
backbones (zero padding, batch norm, residual adds, bilinear upsampling,
transposed convolutions), saved in the Keras 2 HDF5 layout SLEAP 1.x writes
(Keras 2 layer configs and ``model_weights/<layer>/<layer>/<weight>:0``), with a
``multi_instance`` training config. Loading it must reproduce the network's
outputs exactly and run the bottom-up pipeline.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from napari_sleap.infer.model_io import load_model

NODES = ["a", "b", "c"]


def _reference_model():
    import keras
    from keras import layers as L

    keras.utils.set_random_seed(3)
    x = keras.Input((None, None, 1), name="input")
    y = L.ZeroPadding2D(((1, 1), (1, 1)), name="pad")(x)
    y = L.Conv2D(8, 3, strides=1, padding="valid", name="conv1")(y)
    y = L.BatchNormalization(name="bn1")(y)
    y = L.Activation("relu", name="relu1")(y)
    y = L.MaxPooling2D(2, name="pool1")(y)
    r = L.Conv2D(8, 3, padding="same", name="res_conv")(y)
    r = L.BatchNormalization(name="res_bn")(r)
    y = L.Add(name="res_add")([y, r])
    y = L.ReLU(name="res_relu")(y)
    z = L.MaxPooling2D(2, name="pool2")(y)
    z = L.Conv2D(8, 3, padding="same", activation="relu", name="conv2")(z)
    z = L.UpSampling2D(2, interpolation="bilinear", name="up")(z)
    y = L.Concatenate(name="cat")([y, z])
    t = L.Conv2DTranspose(8, 3, strides=2, padding="same", name="trans")(y)
    cms = L.Conv2D(3, 1, name="MultiInstanceConfmapsHead_0")(t)
    pafs = L.Conv2D(4, 1, name="PartAffinityFieldsHead_0")(y)
    model = keras.Model(x, [cms, pafs])
    for layer in model.layers:  # non-trivial batch-norm statistics
        if isinstance(layer, L.BatchNormalization):
            g, b, m, v = layer.get_weights()
            rng = np.random.default_rng(len(layer.name))
            layer.set_weights([g * 1.5, b + 0.1, m + rng.random(m.shape), v + 0.5])
    return model


def _as_keras2(layer_cfg: dict) -> dict:
    """A Keras 3 layer entry rewritten the way Keras 2.x stored it."""
    cfg = dict(layer_cfg["config"])
    cls = layer_cfg["class_name"]
    if cls == "BatchNormalization":
        cfg["axis"] = [cfg["axis"]]
    if cls == "Conv2DTranspose":
        cfg["groups"] = 1
    if cls == "InputLayer":
        cfg = {"batch_input_shape": [None, 64, 64, 1], "dtype": "float32",
               "sparse": False, "ragged": False, "name": cfg["name"]}  # fmt: skip
    cfg.pop("dtype", None)
    names = []

    def walk(item):
        if isinstance(item, dict) and "keras_history" in item.get("config", {}):
            names.append(item["config"]["keras_history"][0])
        elif isinstance(item, (list, tuple)):
            for sub in item:
                walk(sub)

    for node in layer_cfg.get("inbound_nodes", []):
        walk(node["args"])
    inbound = [[[n, 0, 0, {}] for n in names]] if names else []
    return {"class_name": cls, "name": cfg["name"], "config": cfg,
            "inbound_nodes": inbound}  # fmt: skip


def _write_sleap1_folder(folder, model):
    import sleap_io as sio
    from sleap_io.io.skeleton import encode_skeleton

    folder.mkdir()
    graph = model.get_config()
    layers = [_as_keras2(ly) for ly in graph["layers"]]
    spec = {
        "class_name": "Functional",
        "config": {
            "name": "model",
            "layers": layers,
            "input_layers": [["input", 0, 0]],
            "output_layers": [
                ["MultiInstanceConfmapsHead_0", 0, 0],
                ["PartAffinityFieldsHead_0", 0, 0],
            ],
        },
    }
    with h5py.File(folder / "best_model.h5", "w") as f:
        f.attrs["model_config"] = json.dumps(spec)
        f.attrs["keras_version"] = "2.4.0"
        root = f.create_group("model_weights")
        for layer in model.layers:
            g = root.create_group(layer.name)
            names = [f"{layer.name}/{w.name}:0" for w in layer.weights]
            g.attrs["weight_names"] = [n.encode() for n in names]
            for n, w in zip(names, layer.get_weights(), strict=True):
                g.create_dataset(n, data=w)
    skeleton = sio.Skeleton(list(NODES), edges=[["a", "b"], ["b", "c"]])
    cfg = {
        "data": {
            "labels": {"skeletons": [json.loads(encode_skeleton(skeleton))]},
            "preprocessing": {"input_scaling": 0.5, "pad_to_stride": 4},
            "instance_cropping": {"crop_size": None},
        },
        "model": {
            "backbone": {"resnet": {"max_stride": 4, "output_stride": 2}},
            "heads": {
                "multi_instance": {
                    "confmaps": {"part_names": list(NODES), "sigma": 2.5,
                                 "output_stride": 1},
                    "pafs": {"edges": [["a", "b"], ["b", "c"]], "sigma": 8.0,
                             "output_stride": 2},
                }
            },
        },
    }  # fmt: skip
    (folder / "training_config.json").write_text(json.dumps(cfg))


@pytest.fixture(scope="module")
def folder_and_reference(tmp_path_factory):
    model = _reference_model()
    folder = tmp_path_factory.mktemp("s1") / "bu"
    _write_sleap1_folder(folder, model)
    return folder, model


def test_other_backbone_layers_load_exactly(folder_and_reference):
    folder, ref = folder_and_reference
    loaded = load_model(folder)
    info = loaded.info
    assert info.role == "bottom_up" and info.source == "sleap1"
    assert info.node_names == NODES and info.edges == [(0, 1), (1, 2)]
    assert info.input_scale == 0.5 and info.max_stride == 4
    assert info.heads["pafs"].output_stride == 2
    x = np.random.default_rng(0).random((2, 40, 48, 1)).astype("float32")
    want = ref(x)
    got = loaded.keras_model(x)
    np.testing.assert_allclose(
        np.asarray(got["confmaps"]), np.asarray(want[0]), atol=1e-5
    )
    np.testing.assert_allclose(np.asarray(got["pafs"]), np.asarray(want[1]), atol=1e-5)


def test_bottom_up_pipeline_on_a_sleap1_folder(folder_and_reference, tmp_path):
    from napari_sleap.infer.predictor import Predictor, PredictorOptions
    from napari_sleap.infer.sleap1 import convert_sleap1

    folder, _ = folder_and_reference
    pred = Predictor.from_model_dirs([folder], PredictorOptions(batch_size=2))
    assert pred.pipeline == "bottom-up"
    frames = (np.random.default_rng(1).random((2, 64, 80, 1)) * 255).astype("uint8")
    poses = pred.layer(frames)
    assert len(poses) == 2 and all(p.points.shape[1:] == (3, 2) for p in poses)
    # Converted to a model folder, it loads in Keras safe mode with equal outputs.
    out = convert_sleap1(folder, tmp_path / "converted")
    again = load_model(out)
    x = frames.astype("float32") / 255
    a, b = load_model(folder).keras_model(x), again.keras_model(x)
    for k in a:
        np.testing.assert_allclose(np.asarray(a[k]), np.asarray(b[k]), atol=1e-6)
