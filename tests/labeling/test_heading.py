"""Head/tail sense of the body axis, on drawn teardrop animals (narrow head)."""

from __future__ import annotations

import numpy as np

from napari_sleap.labeling.heading import (
    animal_blob,
    face_the_image,
    front_narrowness,
    learn_front_sense,
    pose_direction,
)


def _teardrop(angle: float, centre=(60.0, 60.0), size: int = 120) -> np.ndarray:
    """A bright animal on dark ground, wide behind, narrow at its head (``angle``)."""
    yy, xx = np.mgrid[:size, :size].astype(float)
    u = np.array([np.cos(angle), np.sin(angle)])
    d = np.stack([xx - centre[0], yy - centre[1]], axis=-1)
    along = d @ u
    across = d @ np.array([-u[1], u[0]])
    half_width = np.clip(12.0 - 0.35 * (along + 25.0), 1.0, None)
    body = (np.abs(along) < 25.0) & (np.abs(across) < half_width)
    return np.where(body, 200, 20).astype(np.uint8)


def _pose(angle: float, centre=(60.0, 60.0)) -> np.ndarray:
    """Head, thorax, tail nodes along ``angle`` (head first)."""
    u = np.array([np.cos(angle), np.sin(angle)])
    return np.asarray(centre) + np.outer([22.0, 0.0, -22.0], u)


def test_the_narrow_end_is_found_and_learned():
    blob = animal_blob(_teardrop(0.3), (60.0, 60.0), 40.0)
    assert blob is not None
    ahead = np.array([np.cos(0.3), np.sin(0.3)])
    assert front_narrowness(*blob, ahead) > 1.0
    assert front_narrowness(*blob, -ahead) < -1.0
    mean = _pose(0.0, (0.0, 0.0))
    examples = [(_teardrop(a), _pose(a)) for a in (0.5, 2.0, -2.5, 3.0)]
    sense = learn_front_sense(mean, examples, 40.0)
    front = pose_direction(mean)
    assert sense == (1 if front @ (mean[0] - mean[2]) > 0 else -1)


def test_a_backwards_pose_is_turned_round():
    mean = _pose(0.0, (0.0, 0.0))
    sense = learn_front_sense(mean, [(_teardrop(1.0), _pose(1.0))], 40.0)
    image = _teardrop(np.pi)  # the animal faces left; the pose faces right
    faced, turned = face_the_image(mean, image, (60.0, 60.0), 40.0, sense)
    assert turned and faced[0, 0] < faced[2, 0]  # head now on the left
    again, turned = face_the_image(faced, image, (60.0, 60.0), 40.0, sense)
    assert not turned and np.allclose(again, faced)
