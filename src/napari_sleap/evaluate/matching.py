"""Pair ground-truth and predicted frames, then match instances within a frame.

Frames pair by (video, frame index), videos by the one rule of
:func:`napari_sleap.evaluate.videos.pair_videos`. Instances match one-to-one by
OKS, either optimally (Hungarian, the default) or greedily by prediction score as
SLEAP 1.x does, so SLEAP's numbers can be reproduced exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import sleap_io as sio
from scipy.optimize import linear_sum_assignment

from napari_sleap.evaluate.oks import DEFAULT_STDDEV, compute_oks
from napari_sleap.evaluate.videos import pair_videos

MATCHING_METHODS = ("hungarian", "greedy")


@dataclass
class FramePair:
    """Poses of one frame in both files, in the ground truth's node order.

    Attributes:
        video: Index of the video in the ground-truth labels.
        frame_idx: Frame index in that video.
        gt: ``(n_gt, n_nodes, 2)`` ground-truth points, NaN where missing.
        pr: ``(n_pr, n_nodes, 2)`` predicted points, NaN where missing.
        pr_scores: ``(n_pr,)`` instance scores (1.0 for user instances).
        predicted: False when the prediction file has no frame here at all.
    """

    video: int
    frame_idx: int
    gt: np.ndarray
    pr: np.ndarray
    pr_scores: np.ndarray
    predicted: bool = True


@dataclass
class FrameMatch:
    """One-to-one instance matches in a frame.

    Attributes:
        pairs: ``(gt_index, pr_index, oks)`` for each matched pair.
        unmatched_gt: Ground-truth instances left without a prediction.
        unmatched_pr: Predictions left without a ground truth.
    """

    pairs: list[tuple[int, int, float]] = field(default_factory=list)
    unmatched_gt: list[int] = field(default_factory=list)
    unmatched_pr: list[int] = field(default_factory=list)


class _NodeMapper:
    """Reorder any instance's points into the reference skeleton's node order."""

    def __init__(self, reference: sio.Skeleton, what: str) -> None:
        self.names = list(reference.node_names)
        self.what = what
        self._cache: dict[int, np.ndarray] = {}

    def points(self, inst: sio.Instance) -> np.ndarray:
        skel = inst.skeleton
        key = id(skel)
        if key not in self._cache:
            own = list(skel.node_names)
            missing = [n for n in self.names if n not in own]
            if missing:
                raise ValueError(
                    f"{self.what}: skeleton {skel.name or '(unnamed)'} lacks the "
                    f"ground-truth nodes {missing}; evaluate predictions made with "
                    "the same skeleton (node names must match)"
                )
            self._cache[key] = np.array([own.index(n) for n in self.names])
        pts = np.asarray(
            inst.numpy(invisible_as_nan=True)[self._cache[key]], dtype=np.float64
        )
        # An infinite or overflowing coordinate is no position: count it as an
        # unlabeled node instead of letting it zero the instance's OKS.
        pts[~np.isfinite(pts).all(axis=-1)] = np.nan
        return pts


def _stack(points: list[np.ndarray], n_nodes: int) -> np.ndarray:
    if not points:
        return np.zeros((0, n_nodes, 2))
    return np.stack(points).astype(np.float64)


def find_frame_pairs(
    labels_gt: sio.Labels,
    labels_pr: sio.Labels,
    frames: Iterable[int] | None = None,
) -> list[FramePair]:
    """Collect every ground-truth frame with user instances and its predictions.

    Ground truth is the user-labeled instances only (or, in a file with none,
    its predictions: one model scored against another). Predictions are the
    predicted instances of the prediction file; a file with none (ground truth
    evaluated against itself or another labeler) contributes its user instances.
    Ground-truth instances with no visible node are dropped (they have no OKS).

    Args:
        labels_gt: Ground-truth labels.
        labels_pr: Predicted labels.
        frames: Only these frame indices (in every video); ``None`` for all.
    """
    if not labels_gt.skeletons:
        raise ValueError("ground truth has no skeleton; label some poses first")
    skeleton = labels_gt.skeletons[0]
    n_nodes = len(skeleton.nodes)
    gt_nodes = _NodeMapper(skeleton, "ground truth")
    pr_nodes = _NodeMapper(skeleton, "predictions")
    use_user_pr = not any(lf.has_predicted_instances for lf in labels_pr)
    use_pred_gt = not any(lf.has_user_instances for lf in labels_gt)
    video_map = pair_videos(labels_gt, labels_pr)
    wanted = None if frames is None else set(int(f) for f in frames)

    pr_index: dict[tuple[int, int], sio.LabeledFrame] = {}
    pr_video_ids = {id(v): j for j, v in enumerate(labels_pr.videos)}
    for lf in labels_pr:
        key = (pr_video_ids[id(lf.video)], int(lf.frame_idx))
        if key in pr_index:
            raise ValueError(
                f"predictions hold two frames for video {key[0]} frame {key[1]}; "
                "merge them into one labeled frame first"
            )
        pr_index[key] = lf

    gt_video_ids = {id(v): i for i, v in enumerate(labels_gt.videos)}
    pairs: list[FramePair] = []
    for lf in labels_gt:
        vid = gt_video_ids[id(lf.video)]
        ref = lf.predicted_instances if use_pred_gt else lf.user_instances
        if vid not in video_map or not ref:
            continue
        if wanted is not None and int(lf.frame_idx) not in wanted:
            continue
        gt = _stack([gt_nodes.points(i) for i in ref], n_nodes)
        gt = gt[~np.isnan(gt).any(axis=-1).all(axis=-1)] if len(gt) else gt
        if not len(gt):
            continue
        lf_pr = pr_index.get((video_map[vid], int(lf.frame_idx)))
        insts = []
        if lf_pr is not None:
            insts = lf_pr.user_instances if use_user_pr else lf_pr.predicted_instances
        scores = np.array(
            [float(getattr(i, "score", 1.0)) for i in insts], dtype=np.float64
        )
        pairs.append(
            FramePair(
                video=vid,
                frame_idx=int(lf.frame_idx),
                gt=gt,
                pr=_stack([pr_nodes.points(i) for i in insts], n_nodes),
                pr_scores=scores,
                predicted=lf_pr is not None,
            )
        )
    pairs.sort(key=lambda p: (p.video, p.frame_idx))
    return pairs


def match_frame(
    gt: np.ndarray,
    pr: np.ndarray,
    pr_scores: np.ndarray,
    method: str = "hungarian",
    threshold: float = 0.0,
    stddev: float | np.ndarray = DEFAULT_STDDEV,
    scale: float | None = None,
) -> FrameMatch:
    """Match a frame's predictions to its ground truth one-to-one by OKS.

    Args:
        gt: ``(n_gt, n_nodes, 2)`` ground truth.
        pr: ``(n_pr, n_nodes, 2)`` predictions.
        pr_scores: ``(n_pr,)`` instance scores (order for ``"greedy"``).
        method: ``"hungarian"`` maximizes the summed OKS of the frame;
            ``"greedy"`` lets predictions pick their best remaining ground truth
            in descending score order (SLEAP 1.x).
        threshold: A pair needs OKS above this to match (SLEAP: 0).
        stddev: OKS keypoint spread.
        scale: OKS object area; ``None`` for the ground truth's box area.
    """
    if method not in MATCHING_METHODS:
        raise ValueError(f"matching must be one of {MATCHING_METHODS}, not {method!r}")
    n_gt, n_pr = len(gt), len(pr)
    if n_gt == 0 or n_pr == 0:
        return FrameMatch([], list(range(n_gt)), list(range(n_pr)))
    oks = compute_oks(gt, pr, scale=scale, stddev=stddev)
    valid = np.nan_to_num(oks, nan=-1.0) > threshold
    pairs: list[tuple[int, int, float]] = []
    if method == "hungarian":
        cost = np.where(valid, -oks, 1e6)
        rows, cols = linear_sum_assignment(cost)
        pairs = [
            (int(r), int(c), float(oks[r, c])) for r, c in zip(rows, cols, strict=True)
        ]
        pairs = [p for p in pairs if valid[p[0], p[1]]]
    else:
        free = list(range(n_gt))
        for j in np.argsort(-pr_scores, kind="mergesort"):
            if not free:
                break
            cand = np.where(valid[free, j], oks[free, j], -np.inf)
            best = int(np.argmax(cand))
            if np.isfinite(cand[best]):
                pairs.append((free.pop(best), int(j), float(cand[best])))
    matched_gt = {p[0] for p in pairs}
    matched_pr = {p[1] for p in pairs}
    return FrameMatch(
        pairs=sorted(pairs),
        unmatched_gt=[i for i in range(n_gt) if i not in matched_gt],
        unmatched_pr=[j for j in range(n_pr) if j not in matched_pr],
    )
