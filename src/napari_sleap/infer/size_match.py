"""Fit frames to a fixed size, as SLEAP 1.x ``resize_and_pad_to_target`` does.

Frames are resized with their aspect ratio kept until one side meets the target
(bilinear), then zero-padded at the bottom/right; points found in the fitted
frame map back by dividing by the ratio.
"""

from __future__ import annotations

import numpy as np


def fit_ratio(
    height: int, width: int, target: tuple[int, int]
) -> tuple[float, int, int]:
    """``(ratio, new_height, new_width)`` for a ``height`` x ``width`` frame."""
    th, tw = target
    hr, wr = th / height, tw / width
    if hr > wr:  # width is the bottleneck: fit it, pad the height
        return wr, int(height * wr), tw
    return hr, th, int(width * hr)


def fit_frames(frames: np.ndarray, target: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Frames ``(batch, H, W, C)`` fitted to ``target``, and the resize ratio."""
    import cv2

    n, h, w, c = frames.shape
    if (h, w) == tuple(target):
        return frames, 1.0
    ratio, nh, nw = fit_ratio(h, w, target)
    out = np.zeros((n, *target, c), dtype=frames.dtype)
    for i in range(n):
        img = cv2.resize(frames[i], (nw, nh), interpolation=cv2.INTER_LINEAR)
        out[i, :nh, :nw] = img.reshape(nh, nw, c)
    return out, ratio
