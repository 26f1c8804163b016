"""Frame -> model-input geometry: input scaling, stride padding and instance crops.

All geometry is a 3x3 affine matrix from original-frame pixels to model-input
pixels, so scaling, cropping and augmentation compose into one
``cv2.warpAffine`` per example. Two matrices are kept per transform:

* points map by the contract ``x_in = input_scale * (x - crop_x0)``;
* images map like ``tf.image.resize`` (half-pixel centres), which is what
  inference applies to frames, so training images match inference images.

A crop of ``crop_size`` pixels centred on ``c`` has its pixel ``k`` at frame
coordinate ``c - (crop_size - 1) / 2 + k`` (bilinear between pixels, zero
outside the frame), so the crop's middle is exactly the anchor. This is the
convention of SLEAP 1.x and of ``napari_sleap.infer.ops.crops``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def pad_to_stride(size: int, stride: int) -> int:
    """Smallest multiple of ``stride`` that is >= ``size``."""
    return int(math.ceil(size / stride) * stride)


def scaled_size(size: int, input_scale: float) -> int:
    """Side length after resizing by ``input_scale`` (rounded, at least 1)."""
    return max(1, int(round(size * input_scale)))


def model_input_shape(
    height: int, width: int, input_scale: float, max_stride: int
) -> tuple[int, int]:
    """Model input (height, width) for a full frame: scaled, padded to the stride."""
    return (
        pad_to_stride(scaled_size(height, input_scale), max_stride),
        pad_to_stride(scaled_size(width, input_scale), max_stride),
    )


def crop_offset(center: np.ndarray, crop_size: int) -> np.ndarray:
    """Frame (x0, y0) of the first pixel of the crop centred on ``center``."""
    return np.asarray(center, np.float64) - (crop_size - 1) / 2


def translation(dx: float, dy: float) -> np.ndarray:
    """3x3 translation matrix."""
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], dtype=np.float64)


def scaling(s: float) -> np.ndarray:
    """3x3 isotropic scaling matrix about the origin."""
    return np.array([[s, 0, 0], [0, s, 0], [0, 0, 1]], dtype=np.float64)


def resize_matrices(input_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(points, image) matrices of a resize by ``input_scale``.

    The image matrix follows ``tf.image.resize``'s half-pixel centres:
    ``dst = s * src + (s - 1) / 2``.
    """
    pts = scaling(input_scale)
    half = (input_scale - 1.0) / 2.0
    img = translation(half, half) @ scaling(input_scale)
    return pts, img


def frame_matrices(input_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(points, image) matrices for a full frame model."""
    return resize_matrices(input_scale)


def crop_matrices(
    center: np.ndarray, crop_size: int, input_scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """(points, image) matrices for the crop centred on ``center``."""
    x0, y0 = crop_offset(center, crop_size)
    pts, img = resize_matrices(input_scale)
    shift = translation(-x0, -y0)
    return pts @ shift, img @ shift


def apply_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 3x3 affine to ``(..., 2)`` points; NaN stays NaN."""
    pts = np.asarray(points, dtype=np.float64)
    out = pts @ matrix[:2, :2].T + matrix[:2, 2]
    return out.astype(np.float32)


def warp_image(
    image: np.ndarray, matrix: np.ndarray, height: int, width: int
) -> np.ndarray:
    """Resample ``image`` (H, W, C) through ``matrix`` into a (height, width, C) array.

    Bilinear, zeros outside the frame (the same padding inference uses).
    """
    out = cv2.warpAffine(
        image,
        matrix[:2].astype(np.float64),
        (int(width), int(height)),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    if out.ndim == 2:
        out = out[:, :, None]
    return out


def derive_crop_size(
    points: np.ndarray,
    centers: np.ndarray,
    max_stride: int,
    input_scale: float = 1.0,
    margin: int = 16,
) -> int:
    """Crop side that holds every instance at any rotation about its anchor.

    Twice the largest anchor-to-node distance (rotation-invariant, unlike a
    bounding box) plus ``margin`` on both sides, rounded up so that the scaled
    crop is a multiple of ``max_stride``.

    Args:
        points: ``(n_instances, n_nodes, 2)`` training instances.
        centers: ``(n_instances, 2)`` their anchors.
        max_stride: the model's max stride.
        input_scale: scale applied to the crop.
        margin: extra pixels on each side (original-frame pixels).
    """
    dist = np.linalg.norm(np.asarray(points) - np.asarray(centers)[:, None], axis=2)
    reach = float(np.nanmax(dist)) if np.isfinite(dist).any() else 32.0
    side = 2 * (reach + margin)
    unit = max_stride / input_scale
    return int(math.ceil(side / unit) * unit)
