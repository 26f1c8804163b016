"""Frames worth labeling: uniform, random, or diverse by image-feature clustering.

Image-feature suggestions downsample a sample of frames, project them on their
principal components and cluster them with k-means; frames nearest each cluster
centre are suggested, so the picks cover the different looks of the video rather
than the long stretches where nothing happens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from napari_sleap.progress import ProgressFn, StopFlag, check_stop, no_progress

#: Suggestion methods by name.
METHODS = ("uniform", "random", "image_features")


class FrameSource(Protocol):
    """Anything that reads frames by index: a VideoReader, a numpy or dask array."""

    def __len__(self) -> int:
        """Number of frames."""
        ...

    def __getitem__(self, index: int) -> Any:
        """One frame as ``(H, W)`` or ``(H, W, C)``."""
        ...


def _check(n_frames: int, k: int) -> None:
    if n_frames <= 0:
        raise ValueError(f"suggestions: the video has no frames (n_frames={n_frames})")
    if k <= 0:
        raise ValueError(f"suggestions: number of frames must be positive, got {k}")


def uniform(n_frames: int, k: int) -> list[int]:
    """``k`` frames evenly spread over the video (each in the middle of its stretch)."""
    _check(n_frames, k)
    k = min(k, n_frames)
    return sorted({int((i + 0.5) * n_frames / k) for i in range(k)})


def random(n_frames: int, k: int, *, seed: int | None = 0) -> list[int]:
    """``k`` distinct frames drawn at random (reproducible with ``seed``)."""
    _check(n_frames, k)
    rng = np.random.default_rng(seed)
    return sorted(int(f) for f in rng.choice(n_frames, min(k, n_frames), replace=False))


def _downsample(frame: np.ndarray, size: int) -> np.ndarray:
    """Grey ``size x size`` block means of a frame, as float32."""
    img = np.asarray(frame, dtype=np.float32)
    if img.ndim == 3:
        img = img.mean(axis=-1)
    h, w = img.shape
    bh, bw = max(h // size, 1), max(w // size, 1)
    img = img[: bh * (h // bh), : bw * (w // bw)]
    return img.reshape(h // bh, bh, w // bw, bw).mean(axis=(1, 3))


def image_features(
    frames: FrameSource | Sequence[np.ndarray],
    k: int,
    *,
    sample: int = 300,
    size: int = 32,
    n_components: int = 8,
    seed: int | None = 0,
    exclude: Sequence[int] = (),
    progress: ProgressFn = no_progress,
    stop: StopFlag | None = None,
) -> list[int]:
    """``k`` visually diverse frames by PCA + k-means on downsampled frames.

    Args:
        frames: Frame source (``len`` and integer indexing).
        k: Number of frames to suggest (one per cluster).
        sample: Frames read, evenly spaced (reading every frame of a long video
            would take minutes and adds little).
        size: Side of the downsampled grey image.
        n_components: Principal components kept.
        seed: Seed of k-means' initialisation.
        exclude: Frames not to suggest (e.g. already labeled).
        progress: ``progress(done, total)`` over the frames read.
        stop: Stop flag; raises :class:`~napari_sleap.progress.Cancelled`.

    Returns:
        Sorted frame indices (fewer than ``k`` if the sample is smaller).
    """
    from scipy.cluster.vq import kmeans2

    n = len(frames)
    _check(n, k)
    skip = set(int(f) for f in exclude)
    candidates = [f for f in uniform(n, min(sample, n)) if f not in skip]
    if not candidates:
        return []
    feats = np.empty((len(candidates), size * size), dtype=np.float32)
    width = None
    for i, f in enumerate(candidates):
        check_stop(stop)
        small = _downsample(np.asarray(frames[f]), size).ravel()
        width = width or len(small)
        feats[i, : len(small)] = small[: feats.shape[1]]
        progress(i + 1, len(candidates))
    feats = feats[:, :width]
    k = min(k, len(candidates))
    centred = feats - feats.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    proj = centred @ vt[: min(n_components, len(vt))].T
    scale = proj.std(axis=0)
    proj = proj / np.where(scale > 0, scale, 1.0)
    centres, assign = kmeans2(proj.astype(np.float64), k, seed=seed, minit="++")
    picks = []
    for c in range(k):
        members = np.nonzero(assign == c)[0]
        if not len(members):
            continue
        d = np.linalg.norm(proj[members] - centres[c], axis=1)
        picks.append(candidates[members[np.argmin(d)]])
    return sorted(set(picks))


def suggest(
    method: str,
    n_frames: int,
    k: int,
    *,
    frames: FrameSource | None = None,
    seed: int | None = 0,
    **kwargs: Any,
) -> list[int]:
    """Dispatch to :func:`uniform`, :func:`random` or :func:`image_features`."""
    if method == "uniform":
        return uniform(n_frames, k)
    if method == "random":
        return random(n_frames, k, seed=seed)
    if method == "image_features":
        if frames is None:
            raise ValueError("suggestions: image_features needs the video's frames")
        return image_features(frames, k, seed=seed, **kwargs)
    raise ValueError(f"suggestion method {method!r}: expected one of {METHODS}")
