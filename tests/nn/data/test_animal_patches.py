"""Full-resolution training patches around the animals (bottom-up, issue 15)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap.config.augment import AugmentConfig
from napari_sleap.nn.data.animal_patches import patch_center
from napari_sleap.nn.data.confmaps import instance_centers
from napari_sleap.nn.data.examples import ExampleMaker
from napari_sleap.nn.model_info import HeadInfo, ModelInfo
from tests.fixtures.training import bilinear

FLY_NODES = [
    "head", "thorax", "abdomen", "wingL", "wingR", "forelegL4", "forelegR4",
    "midlegL4", "midlegR4", "hindlegL4", "hindlegR4", "eyeL", "eyeR",
]  # fmt: skip


def bottom_up_info(labels, scale=1.0):
    skeleton = labels.skeletons[0]
    return ModelInfo(
        role="bottom_up",
        node_names=list(skeleton.node_names),
        edges=[tuple(e) for e in skeleton.edge_inds],
        heads={
            "confmaps": HeadInfo("confmaps", 13, 4, 5.0),
            "pafs": HeadInfo("pafs", 2 * len(skeleton.edges), 8, 6.0),
        },
        input_scale=scale,
        max_stride=16,
        anchor_node=None,
    )


def rotate_only(**kw):
    """Geometric augmentation only, so pixels can be compared with the frame."""
    off = dict(
        gaussian_noise=False, contrast=False, brightness=False, uniform_noise=False
    )
    return AugmentConfig(**{**off, **kw})


def test_rotated_patches_hold_an_animal_and_targets_follow_the_pixels(
    clip_labels, few_samples, clip_frames
):
    """Random rotated/scaled 320-px patches of real fly frames at full resolution.

    The flies are bright (thorax pixels 137-173) on a dark arena (median 14):
    wherever the thorax target peaks the image must show a fly body, so a
    target rotated differently from the image would fail.
    """
    maker = ExampleMaker(
        bottom_up_info(clip_labels),
        (1024, 1024),
        rotate_only(scale_min=0.9, scale_max=1.1),
        None,
        patch_size=320,
    )
    assert maker.input_shape == (320, 320)
    rng = np.random.default_rng(0)
    thorax = FLY_NODES.index("thorax")
    centers = 0
    for sample in few_samples:
        frame = clip_frames[sample.key]
        for _ in range(4):
            state = rng.bit_generator.state
            center = patch_center(sample.points, maker.patch_side, None, rng)
            rng.bit_generator.state = state  # make() draws the same centre
            # Jitter is at most a quarter side: an animal in the middle half.
            boxes = instance_centers(sample.points, None)
            assert (np.abs(boxes - center) <= 80 + 1e-6).all(axis=1).any()
            image, targets = maker.make(sample, -1, frame, rng)
            conf = targets["confmaps"]
            assert image.shape == (320, 320, 1)
            assert conf.shape == (80, 80, 13)
            assert targets["pafs"].shape == (40, 40, 24)
            assert conf[..., thorax].max() > 0.8  # the chosen fly is inside
            rows, cols = np.nonzero(conf[..., thorax] > 0.8)
            body = image[rows * 4, cols * 4, 0]
            assert (body > 80 / 255).all(), body.min() * 255
            centers += len(rows)
            assert np.median(image) < 40 / 255  # mostly arena around it
    assert centers >= len(few_samples) * 4


def test_patch_pixels_are_the_frame_pixels_at_the_mapped_points(
    clip_labels, few_samples, clip_frames
):
    """Unrotated patch: every labeled node's pixel is the frame's pixel there."""
    maker = ExampleMaker(
        bottom_up_info(clip_labels),
        (1024, 1024),
        rotate_only(rotation=False, scale=False),
        None,
        patch_size=256,
    )
    rng = np.random.default_rng(3)
    for sample in few_samples:
        frame = clip_frames[sample.key]
        state = rng.bit_generator.state
        center = patch_center(sample.points, maker.patch_side, None, rng)
        rng.bit_generator.state = state
        image, targets = maker.make(sample, -1, frame, rng)
        x0, y0 = center - (256 - 1) / 2
        seen = 0
        for inst in sample.points:
            for x, y in inst:
                u, v = x - x0, y - y0
                if not (np.isfinite([x, y]).all() and 1 <= u < 254 and 1 <= v < 254):
                    continue
                seen += 1
                # Patch pixel (i, j) samples the frame at (x0 + j, y0 + i).
                i, j = int(round(v)), int(round(u))
                want = bilinear(frame, x0 + j, y0 + i)
                assert abs(image[i, j, 0] * 255.0 - want) <= 1.0
                # The node's confmap is high at its cell (sigma 5 px, cells 4 px).
                node = int(np.flatnonzero((inst == [x, y]).all(axis=1))[0])
                cell = targets["confmaps"][int(round(v / 4)), int(round(u / 4)), node]
                assert cell > 0.6
        assert seen >= 10  # at least most of one fly


def test_whole_frame_unchanged_without_patches(clip_labels, few_samples, clip_frames):
    info = bottom_up_info(clip_labels, scale=0.5)
    maker = ExampleMaker(info, (1024, 1024))
    assert maker.input_shape == (512, 512) and maker.patch_side is None
    image, targets = maker.make(few_samples[0], -1, clip_frames[few_samples[0].key])
    assert image.shape == (512, 512, 1) and targets["confmaps"].shape == (128, 128, 13)


def test_patch_center_without_rng_is_the_first_animal_and_needs_one():
    pts = np.full((2, 3, 2), np.nan)
    pts[1] = [[10, 20], [30, 40], [np.nan, np.nan]]
    assert np.allclose(patch_center(pts, 100, None, None), [20, 30])
    with pytest.raises(ValueError, match="no animal"):
        patch_center(np.full((1, 3, 2), np.nan), 100, None, None)
