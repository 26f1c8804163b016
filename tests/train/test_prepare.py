from __future__ import annotations

import pytest

from napari_sleap.config.base import ConfigError
from napari_sleap.config.data import SplitConfig
from napari_sleap.train.prepare import prepare
from napari_sleap.train.split import split_samples
from tests.fixtures.training import tiny_config


def test_time_split_validates_on_the_later_segment(clip_samples):
    train, val = split_samples(clip_samples, SplitConfig("time", 0.1), seed=0)
    assert len(val) == 10
    assert min(clip_samples[i].frame_index for i in val) > max(
        clip_samples[i].frame_index for i in train
    )
    _, val = split_samples(clip_samples, SplitConfig("time", val_from_frame=1200), 0)
    assert {clip_samples[i].frame_index for i in val} == set(range(1200, 1250, 5))


def test_train_on_val_trains_on_the_latest_frames_it_validates_on(clip_samples):
    """The held-out later segment is also trained on, and still validates."""
    cfg = SplitConfig("time", 0.1, train_on_val=True)
    train, val = split_samples(clip_samples, cfg, seed=0)
    assert train == list(range(len(clip_samples)))
    assert {clip_samples[i].frame_index for i in val} == set(range(1200, 1250, 5))


def test_fraction_split_is_fixed_by_the_seed(clip_samples):
    a = split_samples(clip_samples, SplitConfig("fraction", 0.2), seed=1)
    b = split_samples(clip_samples, SplitConfig("fraction", 0.2), seed=1)
    c = split_samples(clip_samples, SplitConfig("fraction", 0.2), seed=2)
    assert a == b and a != c and len(a[1]) == 20


def test_split_that_leaves_nothing_to_train_on_is_refused(clip_samples):
    with pytest.raises(ConfigError, match="data.split"):
        split_samples(clip_samples, SplitConfig("time", val_from_frame=0), 0)


def test_prepare_derives_settings_from_the_data(clip_labels):
    cen = prepare(
        tiny_config("centroid", {"data": {"max_input_size": 256}}), clip_labels
    )
    assert cen.config.data.input_scale == 0.25 and cen.info.crop_size is None
    assert cen.config.data.anchor_node == "thorax" and cen.info.input_channels == 1
    unset = {"optim": {"steps_per_epoch": None}}
    ci = prepare(tiny_config("centered_instance_id", unset), clip_labels)
    assert ci.info.class_names == ["female", "male"]
    assert ci.config.data.crop_size == 192 and ci.info.input_scale == 1.0
    assert ("wingL", "wingR") in ci.config.augment.symmetries
    # one pass over the 180 training crops (90 frames x 2 flies) at batch 2
    assert ci.config.optim.steps_per_epoch == 90


def test_bad_anchor_node_names_the_nodes(clip_labels):
    cfg = tiny_config("centroid", {"data": {"anchor_node": "tail"}})
    with pytest.raises(ConfigError, match="data.anchor_node.*thorax"):
        prepare(cfg, clip_labels)


def test_file_split_validates_on_the_other_labels(clip_labels, small_labels_slp):
    cfg = tiny_config(
        "centered_instance",
        {"data": {"split": {"method": "file", "val_labels": str(small_labels_slp)}}},
    )
    tset = prepare(cfg, clip_labels)
    assert len(tset.train) == 100 and len(tset.val) == 12
    assert tset.val_labels is not clip_labels
    # validation frames are read from the other file's video
    cache = {
        (id(clip_labels), 1, *s.key): None for s in tset.train
    }  # pretend training frames are decoded: only validation is read here
    tset.load_frames(cache)
    frame = tset.frame(tset.val[0], val=True)
    assert frame.shape == (1024, 1024, 1) and frame.any()


def test_frames_convert_to_the_model_channels():
    import numpy as np

    from napari_sleap.nn.data.frames import to_channels

    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 1] = 200
    gray = to_channels(rgb, 1)
    assert gray.shape == (4, 4, 1) and gray[0, 0, 0] == round(0.587 * 200)
    assert to_channels(gray, 3).shape == (4, 4, 3)
    assert to_channels(np.ones((4, 4)), 1).shape == (4, 4, 1)


def test_rgb_models_get_three_channel_inputs(clip_labels, clip_frames, few_samples):
    import numpy as np

    from napari_sleap.nn.data.examples import ExampleMaker
    from napari_sleap.nn.heads import head_infos

    cfg = tiny_config("centered_instance", {"data": {"grayscale": False}})
    tset = prepare(cfg, clip_labels)
    assert tset.info.input_channels == 3 and tset.config.data.grayscale is False
    tset.info.heads = head_infos(cfg.model, tset.info)
    sample = few_samples[0]
    rgb = np.repeat(clip_frames[sample.key], 3, axis=2)
    image, _ = ExampleMaker(tset.info, (1024, 1024)).make(sample, 0, rgb)
    assert image.shape == (192, 192, 3)
