"""Bottom-up grouping by part affinity fields.

Candidate edges are scored by line integrals over the fields, matched per edge
with the Hungarian method and assembled into instances.

Coordinates here are in model-input pixels (after input scaling); the PAF grid
has its own stride. PAF channels ``2k, 2k + 1`` are the ``(x, y)`` field of edge k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass
class PafParams:
    """Knobs of PAF grouping.

    Attributes:
        n_points: samples along each candidate edge (10).
        min_line_score: a sample "agrees" when the field along the edge exceeds
            this (0.05).
        min_agreeing: fraction of samples that must agree for an edge (0.8).
        max_edge_length_ratio: edges longer than this fraction of the larger
            image side are penalised (0.25).
        dist_penalty_weight: weight of that penalty (1.0).
        min_instance_peaks: drop instances with fewer nodes; a fraction of the
            node count when < 1 (0).
        max_instances: keep at most this many instances, best first (None: all).
        max_peaks_per_node: consider only this many strongest peaks of each
            node (bounds the pairwise scoring on noisy maps) (100).
    """

    n_points: int = 10
    min_line_score: float = 0.05
    min_agreeing: float = 0.8
    max_edge_length_ratio: float = 0.25
    dist_penalty_weight: float = 1.0
    min_instance_peaks: float = 0
    max_instances: int | None = None
    max_peaks_per_node: int = 100


def edge_scores(
    src: np.ndarray,
    dst: np.ndarray,
    paf: np.ndarray,
    paf_stride: float,
    max_edge_length: float,
    params: PafParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Line-integral score of every src -> dst pair on one edge's field.

    Args:
        src: ``(n, 2)`` source peaks.
        dst: ``(m, 2)`` destination peaks.
        paf: ``(H, W, 2)`` field of this edge.
        paf_stride: input pixels per PAF grid pixel.
        max_edge_length: length beyond which the distance penalty starts.
        params: grouping knobs.

    Returns:
        ``(scores (n, m), valid (n, m))``.
    """
    n, m = len(src), len(dst)
    if n == 0 or m == 0:
        return np.zeros((n, m)), np.zeros((n, m), bool)
    delta = dst[None, :, :] - src[:, None, :]  # (n, m, 2)
    length = np.linalg.norm(delta, axis=-1)
    unit = delta / np.maximum(length, 1e-6)[..., None]
    t = np.linspace(0.0, 1.0, params.n_points)
    pts = src[:, None, None, :] + t[None, None, :, None] * delta[:, :, None, :]
    grid = np.rint(pts / paf_stride).astype(int)
    h, w = paf.shape[:2]
    cols = np.clip(grid[..., 0], 0, w - 1)
    rows = np.clip(grid[..., 1], 0, h - 1)
    field = paf[rows, cols]  # (n, m, k, 2)
    dots = (field * unit[:, :, None, :]).sum(axis=-1)
    score = dots.mean(axis=-1)
    with np.errstate(divide="ignore"):
        penalty = np.minimum(max_edge_length / np.maximum(length, 1e-6) - 1, 0)
    score = score + params.dist_penalty_weight * penalty
    agree = (dots > params.min_line_score).mean(axis=-1)
    valid = (agree >= params.min_agreeing) & (score > 0)
    return score, valid


def match_edge(scores: np.ndarray, valid: np.ndarray) -> list[tuple[int, int, float]]:
    """Best one-to-one src/dst matching among valid pairs: ``[(i, j, score)]``."""
    if scores.size == 0 or not valid.any():
        return []
    cost = np.where(valid, -scores, 1e6)
    rows, cols = linear_sum_assignment(cost)
    pairs = zip(rows, cols, strict=True)
    return [(i, j, float(scores[i, j])) for i, j in pairs if valid[i, j]]


def group_instances(
    peaks: list[np.ndarray],
    peak_vals: list[np.ndarray],
    pafs: np.ndarray,
    paf_stride: float,
    edges: list[tuple[int, int]],
    image_size: tuple[int, int],
    params: PafParams | None = None,
    scored: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Assemble one frame's peaks into instances.

    Args:
        peaks: per node, ``(n_k, 2)`` peak coordinates (model-input pixels).
        peak_vals: per node, ``(n_k,)`` peak confidences.
        pafs: ``(H, W, 2 * edges)`` part affinity fields of the frame.
        paf_stride: input pixels per PAF grid pixel.
        edges: skeleton edges (node index pairs) in PAF channel order.
        image_size: ``(height, width)`` of the model input.
        params: grouping knobs (defaults: :class:`PafParams`).
        scored: per edge, ``(scores, valid)`` of every peak pair, already
            computed (the portable path scores on the device); the peaks are
            then taken as given (no ``max_peaks_per_node`` cut).

    Returns:
        ``(points (I, nodes, 2), point_scores (I, nodes), instance_scores (I,))``
        with NaN/0 for nodes an instance lacks; instance score is the sum of its
        edge scores.
    """
    params = params or PafParams()
    n_nodes = len(peaks)
    peaks, peak_vals = list(peaks), list(peak_vals)
    for k in range(n_nodes if scored is None else 0):
        if len(peaks[k]) > params.max_peaks_per_node:
            top = np.argsort(-peak_vals[k])[: params.max_peaks_per_node]
            peaks[k], peak_vals[k] = peaks[k][top], peak_vals[k][top]
    max_len = params.max_edge_length_ratio * max(image_size)
    # Each instance: node -> peak index (-1 = none), plus its score.
    assign: list[np.ndarray] = []
    scores: list[float] = []
    owner = [np.full(len(p), -1) for p in peaks]  # peak -> instance

    if not edges:
        for k in range(n_nodes):
            for i in range(len(peaks[k])):
                a = np.full(n_nodes, -1)
                a[k] = i
                assign.append(a)
                scores.append(float(peak_vals[k][i]))
    for e, (a, b) in enumerate(edges):
        if scored is None:
            paf = pafs[..., 2 * e : 2 * e + 2]
            s, v = edge_scores(peaks[a], peaks[b], paf, paf_stride, max_len, params)
        else:
            s, v = scored[e]
        for i, j, sc in match_edge(s, v):
            ia, ib = owner[a][i], owner[b][j]
            if ia < 0 and ib < 0:
                inst = np.full(n_nodes, -1)
                inst[a], inst[b] = i, j
                assign.append(inst)
                scores.append(sc)
                owner[a][i] = owner[b][j] = len(assign) - 1
            elif ia >= 0 and ib < 0:
                if assign[ia][b] < 0:
                    assign[ia][b] = j
                    owner[b][j] = ia
                    scores[ia] += sc
            elif ib >= 0 and ia < 0:
                if assign[ib][a] < 0:
                    assign[ib][a] = i
                    owner[a][i] = ib
                    scores[ib] += sc
            elif ia != ib:
                x, y = assign[ia], assign[ib]
                if not np.any((x >= 0) & (y >= 0)):  # disjoint: merge y into x
                    for k in np.nonzero(y >= 0)[0]:
                        x[k] = y[k]
                        owner[k][y[k]] = ia
                    y[:] = -1
                    scores[ia] += scores[ib] + sc
                    scores[ib] = -np.inf

    pts, pvals, iscores = [], [], []
    min_peaks = params.min_instance_peaks
    if 0 < min_peaks < 1:
        min_peaks = min_peaks * n_nodes
    for inst, sc in zip(assign, scores, strict=True):
        count = int((inst >= 0).sum())
        if count == 0 or count < min_peaks or not np.isfinite(sc):
            continue
        p = np.full((n_nodes, 2), np.nan)
        pv = np.zeros(n_nodes)
        for k in np.nonzero(inst >= 0)[0]:
            p[k] = peaks[k][inst[k]]
            pv[k] = peak_vals[k][inst[k]]
        pts.append(p)
        pvals.append(pv)
        iscores.append(sc)
    if not pts:
        return np.zeros((0, n_nodes, 2)), np.zeros((0, n_nodes)), np.zeros(0)
    order = np.argsort(iscores)[::-1]
    if params.max_instances is not None:
        order = order[: params.max_instances]
    return (
        np.stack(pts)[order],
        np.stack(pvals)[order],
        np.asarray(iscores)[order],
    )
