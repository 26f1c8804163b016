from __future__ import annotations

import numpy as np
import pytest

from napari_sleap.config.augment import AugmentConfig
from napari_sleap.nn.data.augment import AugmentDraw
from napari_sleap.nn.data.crops import (
    apply_points,
    crop_matrices,
    crop_offset,
    derive_crop_size,
    warp_image,
)
from napari_sleap.nn.data.examples import ExampleMaker
from napari_sleap.nn.data.skeleton import propose_symmetries, symmetry_permutation
from napari_sleap.nn.model_info import HeadInfo, ModelInfo
from tests.fixtures.training import bilinear

NODES = [
    "head", "thorax", "abdomen", "wingL", "wingR", "forelegL4", "forelegR4",
    "midlegL4", "midlegR4", "hindlegL4", "hindlegR4", "eyeL", "eyeR",
]  # fmt: skip


def centered_info(crop=192, scale=1.0, sigma=2.5):
    return ModelInfo(
        role="centered_instance",
        node_names=NODES,
        heads={"confmaps": HeadInfo("confmaps", 13, 2, sigma)},
        input_scale=scale,
        max_stride=16,
        crop_size=crop,
        anchor_node="thorax",
    )


def no_intensity(**kw):
    base = dict(
        gaussian_noise=False, contrast=False, brightness=False, uniform_noise=False
    )
    return AugmentConfig(**{**base, **kw})


def test_symmetries_proposed_from_fly_node_names():
    pairs = propose_symmetries(NODES)
    named = {(NODES[a], NODES[b]) for a, b in pairs}
    assert named == {
        ("wingL", "wingR"),
        ("forelegL4", "forelegR4"),
        ("midlegL4", "midlegR4"),
        ("hindlegL4", "hindlegR4"),
        ("eyeL", "eyeR"),
    }
    others = ["nose", "left_ear", "right_ear", "Leg", "L_paw", "R_paw", "tRunk"]
    named = {(others[a], others[b]) for a, b in propose_symmetries(others)}
    assert named == {("left_ear", "right_ear"), ("L_paw", "R_paw")}


def test_crop_at_frame_border_is_zero_padded_and_points_follow(clip_frames):
    frame = next(iter(clip_frames.values()))
    center = np.array([10.5, 1000.5])  # near the left/bottom edges
    m_pts, m_img = crop_matrices(center, 64, 1.0)
    crop = warp_image(frame, m_img, 64, 64)
    x0, y0 = crop_offset(center, 64)
    assert (x0, y0) == (-21, 969)
    assert not crop[:, :21].any()  # left of the frame
    assert not crop[55:].any()  # below the frame
    assert np.array_equal(crop[:55, 21:, 0], frame[969:, :43, 0])
    assert np.allclose(apply_points(m_pts, [[30.0, 1000.0]]), [[51.0, 31.0]])


def test_unaugmented_crop_holds_the_instance_at_its_points(few_samples, clip_frames):
    maker = ExampleMaker(centered_info(), (1024, 1024))
    assert maker.input_shape == (192, 192)
    sample = few_samples[0]
    frame = clip_frames[sample.key]
    image, targets = maker.make(sample, 0, frame)
    assert image.shape == (192, 192, 1) and image.dtype == np.float32
    x0, y0 = crop_offset(sample.points[0, 1], 192)
    # crop pixel (u, v) is the frame sampled at (x0 + u, y0 + v)
    for u, v in [(0, 0), (95, 96), (17, 150), (191, 191), (60, 3)]:
        expected = bilinear(frame, x0 + u, y0 + v)
        assert abs(image[v, u, 0] * 255 - expected) < 1.0
    # the confmap peaks where the points are
    cm = targets["confmaps"]
    assert cm.shape == (96, 96, 13)
    for node, (x, y) in enumerate(sample.points[0]):
        if np.isfinite(x):
            i, j = np.unravel_index(np.argmax(cm[..., node]), cm.shape[:2])
            assert abs(j * 2 - (x - x0)) <= 1 and abs(i * 2 - (y - y0)) <= 1


def test_rotation_keeps_points_on_the_animal(few_samples, clip_frames):
    maker = ExampleMaker(centered_info(), (1024, 1024))
    sample = next(s for s in few_samples if s.frame_index >= 1000)
    frame = clip_frames[sample.key]
    center = sample.points[0, 1]
    errors, wrong = [], []
    for angle in (37.0, 90.0, 170.0, -120.0):
        draw = AugmentDraw(angle=angle, scale=1.1)
        geo = draw.matrix(center)
        m_pts, m_img = crop_matrices(center, 192, 1.0)
        image = warp_image(frame, m_img @ geo, 192, 192)
        pts = apply_points(m_pts @ geo, sample.points[0])
        unrotated = apply_points(m_pts, sample.points[0])
        for p, q, src in zip(pts, unrotated, sample.points[0], strict=True):
            if np.isfinite(p).all():
                truth = bilinear(frame, *src)
                errors.append(abs(bilinear(image, *p) - truth))
                wrong.append(abs(bilinear(image, *q) - truth))
    # the rotated image under the rotated points shows what the frame shows
    # under the original points; unrotated points land elsewhere
    assert np.median(errors) < 12 and np.median(wrong) > 3 * np.median(errors)
    assert maker.input_shape == (192, 192)


def test_flip_mirrors_the_image_and_swaps_left_right_nodes(few_samples, clip_frames):
    perm = symmetry_permutation(13, propose_symmetries(NODES))
    always_flip = no_intensity(rotation=False, scale=False, flip_probability=1.0)
    maker = ExampleMaker(centered_info(), (1024, 1024), always_flip, perm)
    sample = few_samples[1]
    frame = clip_frames[sample.key]
    plain, t0 = ExampleMaker(centered_info(), (1024, 1024)).make(sample, 0, frame)
    flipped, t1 = maker.make(sample, 0, frame, np.random.default_rng(0))
    # the image is an exact mirror of the crop about its middle (the anchor)
    assert np.allclose(flipped[:, :, 0], plain[:, ::-1, 0], atol=1e-6)
    cx = 95.5
    # wingL in the flipped example is the mirror image of wingR in the original
    wl, wr = NODES.index("wingL"), NODES.index("wingR")
    for a, b in ((wl, wr), (wr, wl)):
        pa = np.unravel_index(np.argmax(t1["confmaps"][..., a]), (96, 96))
        pb = np.unravel_index(np.argmax(t0["confmaps"][..., b]), (96, 96))
        assert pa[0] == pb[0]
        assert abs(pa[1] * 2 - (2 * cx - pb[1] * 2)) <= 2


def test_full_frame_centroid_example_is_scaled_and_padded(few_samples, clip_frames):
    info = ModelInfo(
        role="centroid",
        node_names=NODES,
        heads={"confmaps": HeadInfo("confmaps", 1, 2, 2.5)},
        input_scale=0.3,
        max_stride=32,
        anchor_node="thorax",
    )
    maker = ExampleMaker(info, (1024, 1024))
    assert maker.input_shape == (320, 320)  # round(307.2)=307 -> padded to 320
    sample = few_samples[0]
    image, targets = maker.make(sample, -1, clip_frames[sample.key])
    assert image.shape == (320, 320, 1)
    assert not image[308:].any() and not image[:, 308:].any()
    cm = targets["confmaps"]
    for x, y in sample.points[:, 1]:
        i, j = int(round(y * 0.3 / 2)), int(round(x * 0.3 / 2))
        assert cm[i, j, 0] > 0.8


def test_derived_crop_size_fits_every_instance_at_any_rotation(clip_samples):
    pts = np.concatenate([s.points for s in clip_samples])
    centers = pts[:, 1]
    size = derive_crop_size(pts, centers, max_stride=16, margin=16)
    reach = np.nanmax(np.linalg.norm(pts - centers[:, None], axis=2))
    assert size % 16 == 0 and size >= 2 * (reach + 16) > size - 16
    half = derive_crop_size(pts, centers, max_stride=16, input_scale=0.5)
    assert (half * 0.5) % 16 == 0


@pytest.mark.parametrize("role", ["bottom_up", "bottom_up_id"])
def test_bottom_up_targets_cover_both_flies(role, few_samples, clip_frames):
    edges = [(0, 11), (0, 12), (1, 0), (1, 2), (1, 3), (1, 4)]
    heads = {"confmaps": HeadInfo("confmaps", 13, 4, 3.0)}
    if role == "bottom_up":
        heads["pafs"] = HeadInfo("pafs", 2 * len(edges), 8, 6.0)
    else:
        heads["class_maps"] = HeadInfo("class_maps", 2, 4, 5.0)
    info = ModelInfo(
        role=role,
        node_names=NODES,
        edges=edges,
        heads=heads,
        input_scale=0.5,
        class_names=["female", "male"],
    )
    maker = ExampleMaker(info, (1024, 1024))
    sample = few_samples[2]
    image, targets = maker.make(sample, -1, clip_frames[sample.key])
    shapes = maker.output_shapes()
    assert {k: v.shape for k, v in targets.items()} == shapes
    head = sample.points[:, 0] * 0.5
    for x, y in head:
        assert targets["confmaps"][int(round(y / 4)), int(round(x / 4)), 0] > 0.6
    if role == "bottom_up_id":
        for k, (x, y) in enumerate(head):
            cls = sample.class_ids[k]
            assert (
                targets["class_maps"][int(round(y / 4)), int(round(x / 4)), cls] > 0.6
            )


def test_intensity_augmentation_stays_in_range_and_follows_the_gamma():
    from napari_sleap.nn.data.augment import augment_intensity

    image = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)
    cfg = no_intensity(contrast=True, contrast_min_gamma=2.0, contrast_max_gamma=2.0)
    out = augment_intensity(image, cfg, np.random.default_rng(0))
    assert out.dtype == np.float32
    assert np.allclose(out, (image / 255.0) ** 2, atol=1e-6)
    noisy = augment_intensity(image, AugmentConfig(), np.random.default_rng(0))
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert 0 < np.abs(noisy - image / 255.0).mean() < 0.1
