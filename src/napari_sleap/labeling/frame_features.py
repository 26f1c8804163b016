"""Image features of video frames, for suggesting visually different frames.

SLEAP offers three kinds: ``raw`` (the downsampled grey image itself), ``hog``
(histograms of oriented gradients: where edges point, so the animals' outlines
and postures count more than overall brightness) and ``brisk`` (a bag of words
of BRISK keypoint descriptors: which local patterns occur, wherever they are).
HOG comes from scikit-image. BRISK is in neither scikit-image nor OpenCV 5's
main package, so the keypoint kind here is ``orb``: scikit-image's ORB, the same
family of binary keypoint descriptors, in the same bag of words.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Feature kinds by name, the first being the default.
FEATURES = ("hog", "raw", "orb")

#: Visual words of the keypoint bag of features.
WORDS = 32

#: Keypoints described per frame.
ORB_KEYPOINTS = 200


def grey_small(frame: np.ndarray, size: int) -> np.ndarray:
    """Grey ``size x size``-ish block means of a frame, as float32 in [0, 255]."""
    img = np.asarray(frame, dtype=np.float32)
    if img.ndim == 3:
        img = img.mean(axis=-1)
    h, w = img.shape
    bh, bw = max(h // size, 1), max(w // size, 1)
    img = img[: bh * (h // bh), : bw * (w // bw)]
    return img.reshape(h // bh, bh, w // bw, bw).mean(axis=(1, 3))


def hog_features(small: np.ndarray) -> np.ndarray:
    """HOG of a downsampled frame (8x8-pixel cells, 9 orientations)."""
    from skimage.feature import hog

    cell = max(min(small.shape) // 16, 4)
    return hog(
        small / 255.0,
        orientations=9,
        pixels_per_cell=(cell, cell),
        cells_per_block=(2, 2),
        feature_vector=True,
    ).astype(np.float32)


def orb_descriptors(small: np.ndarray, keypoints: int = ORB_KEYPOINTS) -> np.ndarray:
    """ORB binary descriptors (rows of 0/1) of a frame's keypoints; may be empty."""
    from skimage.feature import ORB

    orb = ORB(n_keypoints=keypoints, fast_threshold=0.05)
    try:
        orb.detect_and_extract(small / 255.0)
    except (RuntimeError, ValueError, IndexError):  # no keypoint in a flat frame
        return np.zeros((0, 0), np.float32)
    return np.asarray(orb.descriptors, dtype=np.float32)


def bag_of_words(
    descriptors: Sequence[np.ndarray], words: int = WORDS, seed: int | None = 0
) -> np.ndarray:
    """Per frame, the share of its descriptors nearest each of ``words`` centres."""
    from scipy.cluster.vq import kmeans2, vq

    width = max((d.shape[1] for d in descriptors if d.size), default=0)
    out = np.zeros((len(descriptors), words), np.float32)
    if not width:
        return out
    pool = np.concatenate([d for d in descriptors if d.size])
    words = min(words, len(pool))
    centres, _ = kmeans2(pool.astype(np.float64), words, seed=seed, minit="++")
    for i, d in enumerate(descriptors):
        if d.size:
            codes, _ = vq(d.astype(np.float64), centres)
            out[i, :words] = np.bincount(codes, minlength=words) / len(codes)
    return out


def frame_features(
    smalls: Sequence[np.ndarray], feature: str, seed: int | None = 0
) -> np.ndarray:
    """One feature row per downsampled frame (``feature`` from :data:`FEATURES`)."""
    if feature == "raw":
        return np.stack([s.ravel() for s in smalls]).astype(np.float32)
    if feature == "hog":
        return np.stack([hog_features(s) for s in smalls])
    if feature == "orb":
        return bag_of_words([orb_descriptors(s) for s in smalls], seed=seed)
    raise ValueError(f"image feature {feature!r}: expected one of {FEATURES}")
