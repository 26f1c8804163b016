"""Random augmentation applied identically to an image and its points.

Geometric parts (rotation, scale, translation, left/right flip) are one affine
matrix in original-frame pixels about the instance anchor or frame centre;
they compose with the crop/resize matrix so each example is warped once.
A flip swaps the symmetric nodes so a mirrored left wing is labelled right.
Intensity parts (noise, contrast, brightness) act on the [0, 1] float image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from napari_sleap.nn.data.crops import translation


@dataclass
class AugmentDraw:
    """One random draw of the geometric augmentation.

    Attributes:
        angle: rotation in degrees (counter-clockwise on screen).
        scale: zoom factor.
        shift: (dx, dy) translation in original-frame pixels.
        flip: mirror left/right (about the vertical axis through the centre).
    """

    angle: float = 0.0
    scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)
    flip: bool = False

    def matrix(self, center: np.ndarray) -> np.ndarray:
        """3x3 affine in frame pixels: flip, zoom, rotate about ``center``, shift."""
        cx, cy = (float(v) for v in center)
        rad = math.radians(self.angle)
        c, s = math.cos(rad), math.sin(rad)
        # y points down in images, so this turns counter-clockwise on screen.
        rot = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]], dtype=np.float64)
        zoom = np.diag([self.scale, self.scale, 1.0])
        mirror = np.diag([-1.0 if self.flip else 1.0, 1.0, 1.0])
        return (
            translation(cx + self.shift[0], cy + self.shift[1])
            @ rot
            @ zoom
            @ mirror
            @ translation(-cx, -cy)
        )


def draw_geometry(cfg, rng: np.random.Generator, can_flip: bool) -> AugmentDraw:
    """Draw rotation/scale/shift/flip from an ``AugmentConfig``."""
    angle = 0.0
    if cfg.rotation and cfg.rotation_max_angle > 0:
        angle = float(rng.uniform(-cfg.rotation_max_angle, cfg.rotation_max_angle))
    scale = 1.0
    if cfg.scale and cfg.scale_max > cfg.scale_min:
        scale = float(rng.uniform(cfg.scale_min, cfg.scale_max))
    shift = (0.0, 0.0)
    if cfg.translate_max > 0:
        shift = tuple(float(v) for v in rng.uniform(-1, 1, 2) * cfg.translate_max)
    flip = bool(
        can_flip and cfg.flip_probability > 0 and rng.random() < cfg.flip_probability
    )
    return AugmentDraw(angle=angle, scale=scale, shift=shift, flip=flip)


def flip_points(points: np.ndarray, permutation: np.ndarray) -> np.ndarray:
    """Relabel mirrored points: node ``i`` takes the point of its symmetric partner."""
    return np.asarray(points)[..., permutation, :]


def augment_intensity(image: np.ndarray, cfg, rng: np.random.Generator) -> np.ndarray:
    """Contrast (gamma), brightness and noise: uint8 image in, float [0, 1] out.

    Gamma and brightness go through one 256-entry lookup table, so their cost
    does not grow with the image. Amounts in ``cfg`` are in grey levels
    (0-255) like SLEAP's, so configs carry over.
    """
    lut = np.arange(256, dtype=np.float32) / 255.0
    if cfg.contrast:
        lut = lut ** np.float32(
            rng.uniform(cfg.contrast_min_gamma, cfg.contrast_max_gamma)
        )
    if cfg.brightness:
        lut = lut + np.float32(
            rng.uniform(cfg.brightness_min_val, cfg.brightness_max_val) / 255.0
        )
    out = np.clip(lut, 0.0, 1.0)[image]
    if cfg.uniform_noise:
        out += rng.uniform(
            cfg.uniform_noise_min_val / 255.0,
            cfg.uniform_noise_max_val / 255.0,
            size=out.shape,
        ).astype(np.float32)
    if cfg.gaussian_noise:
        noise = rng.standard_normal(size=out.shape, dtype=np.float32)
        out += (cfg.gaussian_noise_mean + cfg.gaussian_noise_stddev * noise) / 255.0
    if cfg.uniform_noise or cfg.gaussian_noise:
        np.clip(out, 0.0, 1.0, out=out)
    return out
