"""Exported models (SavedModel, ONNX) give our predictor's poses; bad targets refused.

The round trip trains a small top-down pipeline on the synthetic sample (a few
hundred steps), exports both models, loads them back (SavedModel with
TensorFlow, ONNX with onnxruntime), runs them inside the predictor in place of
the Keras models and compares the poses on held-out frames with the Keras
predictor's. The quick tests use an untrained model built from a config: the
maps of the export must equal the runner's, and writes must be safe.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures.trained_sample import TOP_DOWN_STEPS, held_out, trainer

TOL_PX = 1e-3
THRESHOLD = 0.1
FORMATS = ["savedmodel", "onnx"]


def _target(root: Path, fmt: str, name: str) -> Path:
    return root / (f"{name}.onnx" if fmt == "onnx" else name)


def _build_folder(root: Path, role: str, **info_kw) -> Path:
    """An untrained model folder as training would write one (seeded)."""
    import keras

    from napari_sleap.config.model import BackboneConfig, ModelConfig, UNetConfig
    from napari_sleap.nn.model import build_model
    from napari_sleap.nn.model_info import ModelInfo

    keras.utils.set_random_seed(0)
    info = ModelInfo(
        role=role, node_names=["a", "b", "c"], edges=[(0, 1), (1, 2)], **info_kw
    )
    unet = UNetConfig(filters=8, max_stride=8, output_stride=2)
    model = build_model(ModelConfig(backbone=BackboneConfig(unet=unet)), info)
    folder = root / role
    folder.mkdir(parents=True)
    model.save(folder / info.keras_file)
    info.save(folder)
    return folder


@pytest.fixture(scope="module")
def centroid_dir(tmp_path_factory) -> Path:
    """Untrained centroid model at input scale 0.5 (resize and pad in the graph)."""
    return _build_folder(
        tmp_path_factory.mktemp("untrained"), "centroid", input_scale=0.5
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_gives_the_runner_maps(fmt, centroid_dir, tmp_path):
    from napari_sleap.infer.engine import Runner
    from napari_sleap.infer.model_export import export_model, load_exported
    from napari_sleap.infer.model_io import load_model

    out = _target(tmp_path, fmt, "centroid")
    # 100 x 90 frames: scaled to 50 x 45, padded to 56 x 48 inside the graph
    spec = export_model(centroid_dir, out, fmt, frame_size=(100, 90))
    assert spec.model_input == (56, 48)
    frames = np.random.default_rng(0).integers(0, 255, (3, 100, 90, 1), np.uint8)
    want = Runner(load_model(centroid_dir))(frames)
    exported = load_exported(out)
    assert exported.format == fmt and exported.info.role == "centroid"
    got = exported(frames)
    assert set(got) == set(want) == {"confmaps"}
    np.testing.assert_allclose(got["confmaps"], want["confmaps"], atol=1e-5)
    with pytest.raises(ValueError, match="exported for"):
        exported(frames[:, :64, :64])


def test_export_refuses_unsafe_targets(centroid_dir, tmp_path):
    from napari_sleap.infer.model_export import export_model
    from napari_sleap.io.outputs import OutputError

    keras_file = centroid_dir / "best.keras"
    before = keras_file.read_bytes()
    with pytest.raises(OutputError, match="overlaps"):
        export_model(centroid_dir, centroid_dir / "x", "savedmodel", (64, 64))
    with pytest.raises(OutputError, match="overlaps"):
        export_model(centroid_dir, centroid_dir, "savedmodel", (64, 64))
    assert keras_file.read_bytes() == before
    other = tmp_path / "notes.onnx.txt"
    other.write_text("mine")
    with pytest.raises(ValueError, match=r"ending in \.onnx"):
        export_model(centroid_dir, other, "onnx", (64, 64))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "data.txt").write_text("keep")
    with pytest.raises(OutputError, match="choose another"):
        export_model(centroid_dir, mine, "savedmodel", (64, 64), overwrite=True)
    assert (mine / "data.txt").read_text() == "keep"
    with pytest.raises(ValueError, match="--frame-size"):
        export_model(centroid_dir, tmp_path / "sm", "savedmodel")
    with pytest.raises(ValueError, match="height, width"):
        export_model(centroid_dir, tmp_path / "sm", "savedmodel", (0, 64))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "notes.onnx.txt"]


def test_overwrite_replaces_an_earlier_export_only(centroid_dir, tmp_path):
    from napari_sleap.infer.model_export import EXPORT_KEY, export_model
    from napari_sleap.io.outputs import OutputError

    out = tmp_path / "sm"
    export_model(centroid_dir, out, "savedmodel", (64, 64))
    with pytest.raises(OutputError, match="--overwrite"):
        export_model(centroid_dir, out, "savedmodel", (96, 96))
    export_model(centroid_dir, out, "savedmodel", (96, 96), overwrite=True)
    spec = json.loads((out / f"{EXPORT_KEY}.json").read_text())
    assert spec["input"]["shape"] == [None, 96, 96, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sm"]  # no partials left


def test_tampered_exports_are_refused(centroid_dir, tmp_path):
    import onnx

    from napari_sleap.infer.model_export import EXPORT_KEY, export_model, load_exported

    out = tmp_path / "c.onnx"
    export_model(centroid_dir, out, "onnx", (64, 64))
    proto = onnx.load(str(out))
    entry = next(p for p in proto.metadata_props if p.key == EXPORT_KEY)
    data = json.loads(entry.value)
    data["input"]["shape"] = [None, 32, 32, 1]  # lies about the graph
    entry.value = json.dumps(data)
    onnx.save(proto, str(out))
    with pytest.raises(ValueError, match="does not match"):
        load_exported(out)
    entry.value = "{not json"
    onnx.save(proto, str(out))
    with pytest.raises(ValueError, match=f"{out}.*not valid JSON"):
        load_exported(out)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="not a loadable ONNX"):
        load_exported(junk)


def test_savedmodel_calling_python_is_refused(centroid_dir, tmp_path):
    import tensorflow as tf

    from napari_sleap.infer.model_export import EXPORT_KEY, export_model, load_exported

    good = tmp_path / "good"
    export_model(centroid_dir, good, "savedmodel", (64, 64))

    class Evil(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 64, 64, 1], tf.float32)])
        def serve(self, image):
            out = tf.py_function(lambda x: x, [image], tf.float32)
            return {"confmaps": out}

    bad = tmp_path / "bad"
    evil = Evil()
    tf.saved_model.save(evil, str(bad), signatures={"serving_default": evil.serve})
    name = f"{EXPORT_KEY}.json"
    (bad / name).write_text((good / name).read_text())
    with pytest.raises(ValueError, match="EagerPyFunc|PyFunc"):
        load_exported(bad)
    (good / name).unlink()
    with pytest.raises(ValueError, match="not exported by napari-sleap"):
        load_exported(good)


def test_cli_export_model(centroid_dir, tmp_path, capsys):
    from napari_sleap.cli import main

    out = tmp_path / "c.onnx"
    args = ["export-model", str(centroid_dir), "-o", str(out), "--format", "onnx"]
    assert main(args) == 1
    assert "--frame-size" in capsys.readouterr().err
    assert main([*args, "--frame-size", "64", "80"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "(batch, 64, 80, 1)" in printed
    assert main([*args, "--frame-size", "64", "80"]) == 1
    assert "--overwrite" in capsys.readouterr().err


@pytest.fixture(scope="module")
def trained_topdown(request, tmp_path_factory):
    """The session's short top-down pipeline (shared with other test files)."""
    get = trainer(request, tmp_path_factory, lambda pipeline: TOP_DOWN_STEPS)
    models, sample = get("top-down")
    return models.model_dirs, sample


def _poses(predictor, images) -> list:
    return [
        p for i in range(0, len(images), 4) for p in predictor.layer(images[i : i + 4])
    ]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_exported_topdown_gives_the_predictor_poses(fmt, trained_topdown, tmp_path):
    from napari_sleap.infer import load_predictor
    from napari_sleap.infer.model_export import (
        export_model,
        load_exported,
        use_exported,
    )
    from napari_sleap.io.video import open_video

    dirs, sample = trained_topdown
    images = open_video(sample.video).read_frames(held_out()[:12])
    height, width = images.shape[1:3]
    exported = []
    for d in dirs:
        out = _target(tmp_path, fmt, Path(d).name)
        centroid = "centroid" in Path(d).name
        export_model(d, out, fmt, frame_size=(height, width) if centroid else None)
        exported.append(load_exported(out))
    want = _poses(load_predictor(dirs, batch_size=4, peak_threshold=THRESHOLD), images)
    pred = load_predictor(dirs, batch_size=4, peak_threshold=THRESHOLD)
    use_exported(pred.layer, exported)
    got = _poses(pred, images)
    n = 0
    for a, b in zip(want, got, strict=True):
        assert len(a) == len(b)
        assert np.array_equal(np.isnan(a.points), np.isnan(b.points))
        if a.points.size:
            assert np.nanmax(np.abs(a.points - b.points), initial=0) < TOL_PX
        np.testing.assert_allclose(a.point_scores, b.point_scores, atol=1e-4)
        n += len(a)
    assert n >= len(images), f"too few instances to compare ({n})"


@pytest.mark.shared_data
def test_sleap1_scaled_model_exports_with_its_scale(sleap1_models_dir, tmp_path):
    """A SLEAP 1.x centered-instance model at input scale 0.5, real frame crops."""
    from napari_sleap.infer.engine import Runner
    from napari_sleap.infer.model_export import export_model, load_exported
    from napari_sleap.infer.model_io import load_model
    from napari_sleap.io.video import open_video

    folder = sleap1_models_dir / "minimal_instance.UNet.centered_instance_with_scaling"
    out = tmp_path / "ci.onnx"
    spec = export_model(folder, out, "onnx")
    loaded = load_model(folder)
    size = int(loaded.info.crop_size)
    assert spec.frame_size == (size, size)
    video = open_video(sleap1_models_dir / "centered_pair_low_quality.mp4")
    frame = video.read_frames([0])
    h, w = frame.shape[1:3]
    crops = np.stack(
        [
            frame[0, y : y + size, x : x + size]
            for y, x in [(0, 0), (h - size, w - size)]
        ]
    )
    want = Runner(loaded)(crops)
    got = load_exported(out)(crops)
    np.testing.assert_allclose(got["confmaps"], want["confmaps"], atol=1e-5)
