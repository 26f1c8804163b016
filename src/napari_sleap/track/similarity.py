"""How alike two sets of poses are: scores in [0, 1], higher is more alike.

Every function takes reference poses ``(m, nodes, 2)`` (track candidates) and query
poses ``(n, nodes, 2)`` (this frame's detections) and returns an ``(m, n)`` matrix.
Missing nodes (NaN) are ignored; pairs with no node in common score 0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from napari_sleap.track.poses import bboxes, centroids

SimilarityFn = Callable[[np.ndarray, np.ndarray, float], np.ndarray]

#: Default OKS falloff per node, as a fraction of the instance size.
OKS_KAPPA = 0.1


def node_distances(ref: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Euclidean distance per node for every pair, ``(m, n, nodes)`` (NaN = missing)."""
    diff = ref[:, None, :, :] - query[None, :, :, :]
    return np.sqrt((diff**2).sum(axis=-1))


def _mean_ignoring_nan(values: np.ndarray) -> np.ndarray:
    valid = ~np.isnan(values)
    counts = valid.sum(axis=-1)
    sums = np.where(valid, values, 0.0).sum(axis=-1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)


def instance_similarity(ref: np.ndarray, query: np.ndarray, scale: float) -> np.ndarray:
    """Mean over shared nodes of ``1 / (1 + (d / scale)^2)``.

    The heavy-tailed kernel keeps far-apart pairs ordered by distance instead of all
    scoring zero, so matching still prefers the nearer of two distant candidates.
    """
    d = node_distances(ref, query)
    return _mean_ignoring_nan(1.0 / (1.0 + (d / scale) ** 2))


def centroid_similarity(ref: np.ndarray, query: np.ndarray, scale: float) -> np.ndarray:
    """``1 / (1 + (d / scale)^2)`` of the distance between centroids."""
    d = np.linalg.norm(centroids(ref)[:, None] - centroids(query)[None], axis=-1)
    return np.nan_to_num(1.0 / (1.0 + (d / scale) ** 2), nan=0.0)


def iou_similarity(
    ref: np.ndarray, query: np.ndarray, scale: float = 0.0
) -> np.ndarray:
    """Intersection over union of the poses' bounding boxes (``scale`` unused).

    Boxes thinner than 1 px (collinear nodes) are widened to 1 px so that they
    still have an area to overlap.
    """
    a, b = _min_size(bboxes(ref)), _min_size(bboxes(query))
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / union
    return np.nan_to_num(iou, nan=0.0, posinf=0.0, neginf=0.0)


def _min_size(box: np.ndarray, size: float = 1.0) -> np.ndarray:
    out = box.copy()
    for lo, hi in ((0, 2), (1, 3)):
        grow = np.clip(size - (box[:, hi] - box[:, lo]), 0, None) / 2
        out[:, lo] -= grow
        out[:, hi] += grow
    return out


def oks_similarity(
    ref: np.ndarray, query: np.ndarray, scale: float = 0.0
) -> np.ndarray:
    """Object keypoint similarity with the reference's box area as the object size.

    ``scale`` unused; the falloff is :data:`OKS_KAPPA` of the instance size, the same
    for every node because SLEAP skeletons carry no per-node sigmas.
    """
    box = bboxes(ref)
    area = np.nan_to_num((box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1]), nan=1.0)
    area = np.maximum(area, 1.0)
    d2 = node_distances(ref, query) ** 2
    denom = 2.0 * area[:, None, None] * OKS_KAPPA**2
    return _mean_ignoring_nan(np.exp(-d2 / denom))


SIMILARITIES: dict[str, SimilarityFn] = {
    "instance": instance_similarity,
    "centroid": centroid_similarity,
    "iou": iou_similarity,
    "oks": oks_similarity,
}


def get_similarity(name: str) -> SimilarityFn:
    """Look a similarity up by name; the error lists the valid names."""
    try:
        return SIMILARITIES[name]
    except KeyError:
        raise ValueError(
            f"similarity={name!r} is not known: use one of {sorted(SIMILARITIES)}"
        ) from None


def default_scale(poses: np.ndarray) -> float:
    """A distance scale for the kernels: a quarter of the median instance box diagonal.

    With ``min_similarity`` 0.1 a track then accepts moves up to about 3/4 of a
    body length per frame, far more than jitter, less than a jump to a neighbor.
    """
    box = bboxes(poses)
    diag = np.hypot(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1])
    diag = diag[np.isfinite(diag) & (diag > 0)]
    return float(np.median(diag) / 4.0) if diag.size else 10.0
