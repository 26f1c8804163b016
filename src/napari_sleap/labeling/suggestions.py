"""Frames worth labeling: uniform, random, or diverse by image-feature clustering.

Image-feature suggestions (as SLEAP makes them) describe a sample of frames by
image features (HOG by default), project them on their principal components and
cluster them with k-means; frames nearest each cluster centre are suggested, so
the picks cover the different looks of the video rather than the long stretches
where nothing happens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from napari_sleap.labeling.frame_features import FEATURES, frame_features, grey_small
from napari_sleap.progress import ProgressFn, StopFlag, check_stop, no_progress

#: Suggestion methods by name.
METHODS = ("uniform", "random", "image_features")

#: Side of the downsampled frame each image feature is taken from: HOG cells of
#: 4 pixels, raw pixels as they were, ORB needs room for its keypoints.
DEFAULT_SIZE = {"hog": 128, "raw": 32, "orb": 256}


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


def image_features(
    frames: FrameSource | Sequence[np.ndarray],
    k: int,
    *,
    feature: str = "hog",
    sample: int = 300,
    size: int | None = None,
    n_components: int = 8,
    per_cluster: int = 1,
    seed: int | None = 0,
    exclude: Sequence[int] = (),
    progress: ProgressFn = no_progress,
    stop: StopFlag | None = None,
) -> list[int]:
    """``k`` visually diverse frames: image features, PCA, k-means, picks per cluster.

    SLEAP's image-feature suggestions: a sample of frames is described by
    ``feature`` (:mod:`~napari_sleap.labeling.frame_features`: HOG, raw pixels or
    ORB keypoint words), projected on its principal components and clustered; the
    frames nearest each cluster's centre are suggested.

    Args:
        frames: Frame source (``len`` and integer indexing).
        k: Number of frames to suggest.
        feature: ``"hog"``, ``"raw"`` or ``"orb"``.
        sample: Frames read, evenly spaced (reading every frame of a long video
            would take minutes and adds little).
        size: Side of the downsampled grey image the features are taken from
            (default: 128 for HOG, 32 for raw, 256 for ORB).
        n_components: Principal components kept.
        per_cluster: Frames suggested per cluster (``k / per_cluster`` clusters).
        seed: Seed of k-means' initialisation.
        exclude: Frames not to suggest (e.g. already labeled).
        progress: ``progress(done, total)`` over the frames read.
        stop: Stop flag; raises :class:`~napari_sleap.progress.Cancelled`.

    Returns:
        Sorted frame indices (fewer than ``k`` if the sample is smaller).
    """
    from scipy.cluster.vq import kmeans2

    if feature not in FEATURES:
        raise ValueError(f"image feature {feature!r}: expected one of {FEATURES}")
    if per_cluster <= 0:
        raise ValueError(
            f"suggestions: per_cluster must be positive, got {per_cluster}"
        )
    n = len(frames)
    _check(n, k)
    size = size or DEFAULT_SIZE[feature]
    skip = set(int(f) for f in exclude)
    candidates = [f for f in uniform(n, min(sample, n)) if f not in skip]
    if not candidates:
        return []
    smalls = []
    for i, f in enumerate(candidates):
        check_stop(stop)
        smalls.append(grey_small(np.asarray(frames[f]), size))
        progress(i + 1, len(candidates))
    check_stop(stop)
    feats = frame_features(smalls, feature, seed=seed)
    k = min(k, len(candidates))
    centred = feats - feats.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    proj = centred @ vt[: min(n_components, len(vt))].T
    scale = proj.std(axis=0)
    proj = proj / np.where(scale > 0, scale, 1.0)
    clusters = min(-(-k // per_cluster), len(candidates))
    centres, assign = kmeans2(proj.astype(np.float64), clusters, seed=seed, minit="++")
    ranked: list[tuple[int, int]] = []  # (rank in its cluster, frame)
    for c in range(clusters):
        members = np.nonzero(assign == c)[0]
        d = np.linalg.norm(proj[members] - centres[c], axis=1)
        order = members[np.argsort(d)[:per_cluster]]
        ranked.extend((r, candidates[m]) for r, m in enumerate(order))
    # every cluster's best first, so trimming to k keeps one per cluster
    return sorted(f for _, f in sorted(ranked)[:k])


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
