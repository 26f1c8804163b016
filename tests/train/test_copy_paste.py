"""Copy-paste contact augmentation: another animal appears, the targets do not move."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from napari_sleap.config.augment import AugmentConfig
from napari_sleap.config.base import ConfigError
from napari_sleap.config.training import pipeline_configs
from napari_sleap.nn.data.examples import ExampleMaker, FrameSample
from napari_sleap.nn.heads import make_heads
from napari_sleap.train.copy_paste import ContactPaster, contact_paster
from napari_sleap.train.fit import config_hash
from napari_sleap.train.prepare import load_training_labels, prepare

EDGES = [(0, 1), (1, 2), (1, 3), (1, 4)]  # head-thorax-abdomen, two legs


def star(cx: float, cy: float) -> np.ndarray:
    """A 5-node animal about (cx, cy): head, thorax, abdomen, two legs."""
    return np.array(
        [[cx, cy - 20], [cx, cy], [cx, cy + 25], [cx - 18, cy + 5], [cx + 18, cy + 5]]
    )


def synthetic_paster(gap_min=2.0, gap_max=20.0, width=10.0):
    """Donors on a uniform grey-200 frame (so pasted pixels are easy to find)."""
    frame = np.full((300, 300, 1), 200, np.uint8)
    donors = [FrameSample(0, f, star(150, 150)[None], np.array([-1])) for f in range(3)]
    paster = ContactPaster(
        donors,
        lambda s: frame,
        EDGES,
        probability=1.0,
        gap_min=gap_min,
        gap_max=gap_max,
        width=width,
    )
    return paster, donors


def test_pasted_animal_appears_beside_the_centered_one_which_stays_on_top():
    paster, donors = synthetic_paster()
    own = star(80, 80)[None]
    sample = FrameSample(0, 99, own, np.array([-1]))
    pasted = 0
    for seed in range(20):
        image = np.zeros((160, 160, 1), np.uint8)
        out = paster(image, own, 0, sample, np.eye(3), np.random.default_rng(seed))
        assert out.shape == image.shape and out.dtype == np.uint8
        if not out.any():
            continue  # no placement found in this draw
        pasted += 1
        # The donor's pixels (grey 200) are in the crop, nearly opaque (the
        # feathered mask keeps ~5% of the crop at the middle of a stroke) ...
        assert (out >= 180).sum() > 100  # (some draws put part of it outside)
        # ... but never over the centered animal's own nodes.
        for x, y in own[0].round().astype(int):
            assert out[y, x, 0] <= 3
    assert pasted >= 15


def test_placements_put_the_nearest_nodes_within_the_gap():
    paster, donors = synthetic_paster(gap_min=4.0, gap_max=12.0)
    target = star(80, 80)
    found = 0
    for seed in range(200):
        placed = paster._place(
            donors[0].points[0], target, 1.0, 160, 160, np.random.default_rng(seed)
        )
        if placed is None:
            continue
        found += 1
        _, pts = placed
        nearest = np.linalg.norm(pts[:, None] - target[None], axis=2).min()
        assert 4.0 <= nearest <= 12.0
    assert found > 20


def test_probability_zero_and_no_donor_leave_the_crop_alone():
    paster, _ = synthetic_paster()
    paster.probability = 0.0
    own = star(80, 80)[None]
    sample = FrameSample(0, 99, own, np.array([-1]))
    image = np.zeros((160, 160, 1), np.uint8)
    assert paster(image, own, 0, sample, np.eye(3), np.random.default_rng(0)) is image
    # The only labeled animal cannot be pasted onto itself.
    alone = ContactPaster(
        [sample],
        lambda s: np.full((300, 300, 1), 200, np.uint8),
        EDGES,
        probability=1.0,
        gap_min=2,
        gap_max=20,
        width=10,
    )
    out = alone(image, own, 0, sample, np.eye(3), np.random.default_rng(0))
    assert not out.any()


def test_config_checks_name_the_field():
    with pytest.raises(ConfigError, match="copy_paste_probability"):
        AugmentConfig(copy_paste_probability=1.5)
    with pytest.raises(ConfigError, match="copy_paste_gap_min"):
        AugmentConfig(copy_paste_gap_min=30, copy_paste_gap_max=20)
    with pytest.raises(ConfigError, match="copy_paste_width"):
        AugmentConfig(copy_paste_width=0)


def test_off_it_leaves_the_config_hash_alone_so_old_folders_resume():
    cfg = pipeline_configs("top-down")["centered_instance"]
    before = config_hash(cfg)
    other = copy.deepcopy(cfg)
    other.augment.copy_paste_gap_max = 30.0  # ignored while off
    assert config_hash(other) == before
    other.augment.copy_paste_probability = 0.5
    assert config_hash(other) != before


@pytest.fixture(scope="module")
def fly_set(clip_train_slp):
    """A centered-instance training set of 6 fly frames, copy-paste on."""
    cfg = pipeline_configs(
        "top-down",
        {
            "centered_instance": {"augment": {"copy_paste_probability": 1.0}},
            "data": {"split": {"method": "time", "val_from_frame": 1150}},
        },
    )["centered_instance"]
    labels = load_training_labels(clip_train_slp)
    tset = prepare(cfg, labels, clip_train_slp)
    tset.train, tset.val = tset.train[::15][:6], []
    tset.load_frames()
    tset.info.heads = {
        k: h.info() for k, h in make_heads(tset.config.model, tset.info).items()
    }
    return tset


def test_fly_crops_get_a_second_fly_with_unchanged_targets(fly_set):
    tset = fly_set
    aug = tset.config.augment
    quiet = copy.deepcopy(aug)  # no intensity changes: images compare exactly
    quiet.gaussian_noise = quiet.contrast = quiet.brightness = False
    plain = ExampleMaker(tset.info, tset.frame_shape, quiet, tset.flip_permutation)
    pasting = ExampleMaker(tset.info, tset.frame_shape, quiet, tset.flip_permutation)
    pasting.paste = contact_paster(tset, quiet)
    assert pasting.paste is not None and len(pasting.paste.donors) >= 10
    changed = 0
    for i, k in plain.items(tset.train):
        s, frame = tset.train[i], tset.frame(tset.train[i])
        img0, tgt0 = plain.make(s, k, frame, np.random.default_rng([i, k]))
        img1, tgt1 = pasting.make(s, k, frame, np.random.default_rng([i, k]))
        assert tgt0.keys() == tgt1.keys()
        for kind in tgt0:  # the pasted fly's nodes are never targets
            np.testing.assert_array_equal(tgt0[kind], tgt1[kind])
        diff = np.abs(img1 - img0)
        changed += int((diff > 0.1).sum() > 200)  # a fly's worth of new pixels
    assert changed >= len(plain.items(tset.train)) - 2


def test_validation_examples_are_never_pasted(fly_set):
    tset = fly_set
    plain = ExampleMaker(tset.info, tset.frame_shape)
    pasting = ExampleMaker(tset.info, tset.frame_shape, tset.config.augment)
    pasting.paste = contact_paster(tset, tset.config.augment)
    for i, k in plain.items(tset.train)[:4]:
        s, frame = tset.train[i], tset.frame(tset.train[i])
        img0, tgt0 = plain.make(s, k, frame)
        img1, tgt1 = pasting.make(s, k, frame)  # no rng: the validation path
        np.testing.assert_array_equal(img0, img1)
    # And only centered-instance models paste.
    cfg = pipeline_configs("top-down", {"augment": {"copy_paste_probability": 1.0}})[
        "centroid"
    ]
    centroid_set = copy.copy(tset)
    centroid_set.info = copy.copy(tset.info)
    centroid_set.info.role = cfg.role
    assert contact_paster(centroid_set, cfg.augment) is None
