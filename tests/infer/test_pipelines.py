"""Every pipeline runs end to end on model folders built like training writes them.

The models are tiny and untrained (built with ``nn.model.build_model``, saved as
``best.keras`` + ``model_info.json`` and loaded back in Keras safe mode), so these
tests check the plumbing and the identity/track output, not accuracy; the
grouping and peak logic is checked with known answers in test_ops.py and against
SLEAP 1.x in test_sleap1.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap.infer.predict import predict
from napari_sleap.infer.predictor import Predictor, PredictorOptions
from napari_sleap.nn.model_info import ModelInfo

NODES = ["head", "thorax", "abdomen"]
EDGES = [(0, 1), (1, 2)]
CLASSES = ["male", "female"]


def _make_folder(root, role, **info_kw):
    import keras

    from napari_sleap.config.model import BackboneConfig, ModelConfig, UNetConfig
    from napari_sleap.nn.model import build_model

    keras.utils.set_random_seed(0)
    info = ModelInfo(role=role, node_names=list(NODES), edges=list(EDGES), **info_kw)
    unet = UNetConfig(filters=4, filters_rate=1.5, max_stride=8, output_stride=4)
    cfg = ModelConfig(backbone=BackboneConfig(unet=unet))
    model = build_model(cfg, info)
    folder = root / role
    folder.mkdir()
    model.save(folder / info.keras_file)
    info.save(folder)
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {
        "single_instance": _make_folder(root, "single_instance", input_scale=0.25),
        "centroid": _make_folder(root, "centroid", input_scale=0.25),
        "centered_instance": _make_folder(root, "centered_instance", crop_size=64),
        "centered_instance_id": _make_folder(
            root, "centered_instance_id", crop_size=64, class_names=CLASSES
        ),
        "bottom_up": _make_folder(root, "bottom_up", input_scale=0.25),
        "bottom_up_id": _make_folder(
            root, "bottom_up_id", input_scale=0.25, class_names=CLASSES
        ),
    }


@pytest.fixture(scope="module")
def frames(clip_mp4):
    from napari_sleap.io.video import open_video

    return open_video(clip_mp4).read_frames([1000, 1001])


# Untrained maps are near zero: accept every local maximum as a peak.
OPTS = dict(peak_threshold=-1e9, batch_size=2, max_instances=2)


@pytest.mark.parametrize(
    ("roles", "pipeline"),
    [
        (["single_instance"], "single"),
        (["centroid", "centered_instance"], "top-down"),
        (["centered_instance_id", "centroid"], "top-down-id"),
        (["bottom_up"], "bottom-up"),
        (["bottom_up_id"], "bottom-up-id"),
    ],
)
def test_pipeline_runs_on_real_frames(folders, frames, roles, pipeline):
    pred = Predictor.from_model_dirs(
        [folders[r] for r in roles], PredictorOptions(**OPTS)
    )
    assert pred.pipeline == pipeline
    poses = pred.layer(frames)
    assert len(poses) == 2
    for p in poses:
        assert p.points.shape[1:] == (3, 2)
        assert len(p) <= 2
        assert p.point_scores.shape == p.points.shape[:2]
        assert p.instance_scores.shape == (len(p),)
        ok = np.isfinite(p.points[..., 0])
        assert np.all(p.points[ok][:, 0] >= -64) and np.all(p.points[ok] < 1024 + 64)
        if pipeline.endswith("-id"):
            assert p.class_inds is not None
            assert (
                len(set(p.class_inds[p.class_inds >= 0])) == (p.class_inds >= 0).sum()
            )
    if pipeline != "bottom-up":  # random PAFs may connect nothing
        assert sum(len(p) for p in poses) > 0
    # The single-frame path traces its own shape (UpSampling2D needs static H, W).
    one = pred.predict_frame(frames[1])
    np.testing.assert_allclose(one.points, poses[1].points, atol=1e-3)


def test_identity_pipeline_writes_tracks(folders, clip_mp4, tmp_path):
    import sleap_io as sio

    out = tmp_path / "id.slp"
    predict(
        [folders["centroid"], folders["centered_instance_id"]],
        clip_mp4,
        out,
        frames="1000-1001",
        options=PredictorOptions(**OPTS),
    )
    back = sio.load_slp(str(out))
    assert [t.name for t in back.tracks] == CLASSES
    tracked = [i for lf in back.labeled_frames for i in lf.instances if i.track]
    assert tracked and all(i.track.name in CLASSES for i in tracked)


def test_tracker_option(folders, clip_mp4):
    labels = predict(
        [folders["centroid"], folders["centered_instance"]],
        clip_mp4,
        None,
        frames="1000-1003",
        options=PredictorOptions(**OPTS),
        tracker="simple",
        max_tracks=2,
    )
    assert labels.tracks and len(labels.tracks) <= 2


def test_missing_keras_file_and_lambda_model(folders, tmp_path):
    import keras

    from napari_sleap.infer.model_io import load_model

    broken = tmp_path / "broken"
    broken.mkdir()
    ModelInfo.load(folders["centroid"]).save(broken)
    with pytest.raises(FileNotFoundError, match="best.keras"):
        load_model(broken)
    x = keras.Input((None, None, 1))
    y = keras.layers.Lambda(lambda t: t * 2, name="confmaps")(x)
    keras.Model(x, {"confmaps": y}).save(broken / "best.keras")
    with pytest.raises(ValueError, match="safely"):
        load_model(broken)
