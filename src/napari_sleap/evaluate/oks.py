"""Object keypoint similarity (OKS) with SLEAP 1.x's conventions.

SLEAP scores a predicted pose against a ground-truth pose as the mean, over the
nodes visible in the ground truth, of ``exp(-d^2 / (2 * area * (2 * stddev)^2))``
where ``area`` is the ground truth's bounding-box area (Ronchi & Perona, ICCV
2017). A node the prediction lacks scores 0; nodes missing from the ground truth
do not count. Keeping the same constants makes our mAP comparable with SLEAP's.
"""

from __future__ import annotations

import numpy as np

#: SLEAP 1.x's default keypoint spread (one value for every node).
DEFAULT_STDDEV = 0.025


def instance_area(points: np.ndarray) -> np.ndarray:
    """Bounding-box area of each instance's visible points.

    Args:
        points: ``(n_nodes, 2)`` or ``(n_instances, n_nodes, 2)``, NaN where
            a node is missing.

    Returns:
        ``(n_instances,)`` areas in square pixels; NaN for an instance with no
        visible node.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim == 2:
        pts = pts[None]
    visible = ~np.isnan(pts).any(axis=-1)
    areas = np.full(len(pts), np.nan)
    for i, (inst, vis) in enumerate(zip(pts, visible, strict=True)):
        if vis.any():
            extent = inst[vis].max(axis=0) - inst[vis].min(axis=0)
            areas[i] = float(np.prod(extent))
    return areas


def compute_oks(
    points_gt: np.ndarray,
    points_pr: np.ndarray,
    scale: float | np.ndarray | None = None,
    stddev: float | np.ndarray = DEFAULT_STDDEV,
) -> np.ndarray:
    """OKS between every ground-truth and every predicted instance.

    Args:
        points_gt: ``(n_gt, n_nodes, 2)`` ground truth, NaN for missing nodes.
        points_pr: ``(n_pr, n_nodes, 2)`` predictions, NaN for missing nodes.
        scale: Object area per ground-truth instance (scalar or ``(n_gt,)``);
            ``None`` uses each ground truth's bounding-box area, as SLEAP does.
        stddev: Keypoint spread, scalar or ``(n_nodes,)``.

    Returns:
        ``(n_gt, n_pr)`` similarities in [0, 1]; NaN rows for ground-truth
        instances with no visible node.
    """
    gt = np.asarray(points_gt, dtype=np.float64)
    pr = np.asarray(points_pr, dtype=np.float64)
    if gt.ndim != 3 or pr.ndim != 3 or gt.shape[1:] != pr.shape[1:]:
        raise ValueError(
            "compute_oks: points must be (n_instances, n_nodes, 2) with the same "
            f"nodes; got ground truth {gt.shape} and predictions {pr.shape}"
        )
    n_gt, n_nodes, _ = gt.shape
    area = instance_area(gt) if scale is None else np.asarray(scale, dtype=float)
    area = np.broadcast_to(area, (n_gt,))
    spread = np.broadcast_to(np.asarray(stddev, dtype=float), (n_nodes,))

    # Squared distances (n_gt, n_pr, n_nodes); a missing prediction is infinitely
    # far away (similarity 0), a missing ground-truth node is left out below.
    sq = np.sum((gt[:, None] - pr[None]) ** 2, axis=-1)
    missing_pr = np.isnan(pr).any(axis=-1)
    sq = np.where(missing_pr[None], np.inf, sq)
    norm = (2.0 * spread[None, None, :]) ** 2 * (
        2.0 * (area[:, None, None] + np.spacing(1))
    )
    with np.errstate(invalid="ignore"):
        ks = np.exp(-sq / norm)
    visible_gt = ~np.isnan(gt).any(axis=-1)
    ks = np.where(visible_gt[:, None, :], ks, 0.0)
    n_visible = visible_gt.sum(axis=-1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        oks = ks.sum(axis=-1) / n_visible[:, None]
    oks[n_visible == 0] = np.nan
    return oks
