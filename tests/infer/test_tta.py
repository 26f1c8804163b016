"""Test-time augmentation: views map back exactly, and a real model runs with it."""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap.infer.tta import (
    IDENTITY,
    MIRROR,
    ROT90,
    ROT180,
    TTA_MODES,
    apply_view,
    is_mirror,
    merge_views,
    stack_views,
    undo_view,
)

ALL_VIEWS = TTA_MODES["flip-rot90"]


def on_grid(x: np.ndarray, stride: int) -> np.ndarray:
    """A perfectly equivariant 'network': input pixel k * stride -> output k."""
    return x[:, ::stride, ::stride]


@pytest.mark.parametrize("stride", [1, 2, 4])
@pytest.mark.parametrize("view", ALL_VIEWS)
def test_views_map_back_onto_the_same_output_grid(view, stride):
    rng = np.random.default_rng(0)
    x = rng.random((2, 32, 32, 3))
    back = undo_view(on_grid(apply_view(x, view, stride), stride), view)
    want = on_grid(x, stride)
    # The shifted mirror drops the last stride - 1 input rows/columns only.
    inner = slice(0, 32 // stride - 1)
    np.testing.assert_array_equal(back[:, inner, inner], want[:, inner, inner])


def test_views_are_the_eight_symmetries_of_the_square():
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    seen = {apply_view(x, v, 1).tobytes() for v in ALL_VIEWS}
    assert len(seen) == 8
    np.testing.assert_array_equal(apply_view(x, ROT180, 1), x[:, ::-1, ::-1])
    np.testing.assert_array_equal(
        apply_view(x, ROT90, 1)[0, ..., 0], np.rot90(x[0, ..., 0], -1)
    )
    assert [is_mirror(v) for v in (IDENTITY, MIRROR, ROT90, ROT180)] == [
        False,
        True,
        False,
        False,
    ]


def test_a_mirror_swaps_left_and_right_channels_back():
    maps = np.zeros((1, 4, 4, 3))
    maps[0, 1, 1, 1] = 1.0  # 'left' peak seen in the mirrored crop
    back = undo_view(maps, MIRROR, lr_pairs=[(1, 2)])
    assert back[0, 1, 2, 2] == 1.0 and back[..., 1].sum() == 0
    back = undo_view(maps, ROT180, lr_pairs=[(1, 2)])  # a turn keeps the sides
    assert back[0, 2, 2, 1] == 1.0


@pytest.mark.parametrize("stride", [1, 2])
def test_keras_ops_views_equal_numpy_views(stride):
    """One view code for both engines: keras.ops (portable) gives numpy's numbers."""
    from keras import ops

    rng = np.random.default_rng(2)
    crops = rng.random((3, 8, 8, 2)).astype(np.float32)
    want = stack_views(crops, ALL_VIEWS, stride)
    got = stack_views(ops.convert_to_tensor(crops), ALL_VIEWS, stride, ops)
    np.testing.assert_array_equal(ops.convert_to_numpy(got), want)

    out = {
        "confmaps": rng.random((8 * 3, 4, 4, 5)).astype(np.float32),
        "class_vectors": rng.random((8 * 3, 2)).astype(np.float32),
    }
    want = merge_views(out, ALL_VIEWS, [(1, 2), (3, 4)])
    tensors = {k: ops.convert_to_tensor(v) for k, v in out.items()}
    got = merge_views(tensors, ALL_VIEWS, [(1, 2), (3, 4)], ops)
    assert set(got) == set(want) == {"confmaps", "class_vectors"}
    for key in want:
        np.testing.assert_allclose(ops.convert_to_numpy(got[key]), want[key], 1e-6)


@pytest.mark.shared_data
def test_real_topdown_model_with_tta(sleap1_models_dir):
    """SLEAP 1.x top-down models: identity-only TTA equals the plain maps; a
    half turn gives nearly the same poses; mirrors need left/right nodes."""
    from napari_sleap.infer.predictor import Predictor, PredictorOptions
    from napari_sleap.infer.tta import TTARunner
    from napari_sleap.io.video import open_video

    dirs = [
        sleap1_models_dir / "minimal_instance.UNet.centroid",
        sleap1_models_dir / "minimal_instance.UNet.centered_instance",
    ]
    video = open_video(sleap1_models_dir / "centered_pair_low_quality.mp4")
    frames = np.stack([np.asarray(video[i]) for i in (0, 1, 2)])
    plain = Predictor.from_model_dirs(
        dirs, PredictorOptions(batch_size=1, max_instances=2)
    )
    turned = Predictor.from_model_dirs(
        dirs, PredictorOptions(batch_size=1, max_instances=2, tta="rot180")
    )
    assert isinstance(turned.layer.instance_runner, TTARunner)

    runner = plain.layer.instance_runner
    crops = np.random.default_rng(1).random((3, 96, 96, 1)).astype(np.float32)
    same = TTARunner(runner, [IDENTITY], [])(crops)
    np.testing.assert_allclose(same["confmaps"], runner(crops)["confmaps"], atol=1e-6)

    for i in range(len(frames)):
        a = plain.predict_frame(frames[i]).points
        b = turned.predict_frame(frames[i]).points
        assert a.shape == b.shape == (2, 2, 2)
        a = a[np.argsort(a[:, 0, 0])]
        b = b[np.argsort(b[:, 0, 0])]
        assert np.nanmedian(np.linalg.norm(a - b, axis=-1)) < 3.0

    with pytest.raises(ValueError, match="left/right node pairs"):
        Predictor.from_model_dirs(dirs, PredictorOptions(tta="flip"))
    with pytest.raises(ValueError, match="tta mode 'spin'"):
        Predictor.from_model_dirs(dirs, PredictorOptions(tta="spin"))


@pytest.mark.shared_data
def test_auto_turns_top_down_crops_and_leaves_the_rest_alone(sleap1_models_dir):
    """``auto`` (predict's default) is rot90 for top-down models at input scale
    1.0 on both engines, and quietly none where views cannot apply."""
    from napari_sleap.infer.portable import load_portable
    from napari_sleap.infer.predictor import Predictor, PredictorOptions
    from napari_sleap.infer.tta import AUTO_TOP_DOWN, TTARunner

    centroid = sleap1_models_dir / "minimal_instance.UNet.centroid"
    plain = sleap1_models_dir / "minimal_instance.UNet.centered_instance"
    scaled = sleap1_models_dir / "minimal_instance.UNet.centered_instance_with_scaling"
    single = sleap1_models_dir / "minimal_robot.UNet.single_instance"
    auto = PredictorOptions(tta="auto")

    top_down = Predictor.from_model_dirs([centroid, plain], auto)
    assert AUTO_TOP_DOWN == "rot90" and top_down.options.tta == "rot90"
    assert isinstance(top_down.layer.instance_runner, TTARunner)
    assert load_portable([centroid, plain], tta="auto").predictor.options.tta == "rot90"
    for dirs in ([centroid, scaled], [single]):
        assert Predictor.from_model_dirs(dirs, auto).options.tta == "none"
        assert load_portable(dirs, tta="auto").predictor.options.tta == "none"
