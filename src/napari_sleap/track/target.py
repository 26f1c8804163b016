"""Keeping the number of tracks at the number of animals.

Before matching, :func:`cull_detections` drops extra detections (low score, boxes
overlapping a better one, more than the animals there are); after the pass,
:func:`connect_single_breaks` mends tracks that a one-frame fragment interrupted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sleap_io as sio

from napari_sleap.track.similarity import iou_similarity


def cull_detections(
    poses: np.ndarray,
    scores: np.ndarray,
    target: int | None,
    iou_threshold: float = 0.8,
    min_score: float | None = None,
) -> np.ndarray:
    """Indices of the detections to keep, best score first.

    Args:
        poses: Detections ``(n, nodes, 2)``.
        scores: Their scores ``(n,)``.
        target: Keep at most this many (None: no cap).
        iou_threshold: A detection whose box overlaps a better one's by more than
            this intersection over union is a duplicate and is dropped.
        min_score: Detections scoring below this are dropped (None: keep all).
    """
    order = np.argsort(-scores, kind="stable")
    if min_score is not None:
        order = order[scores[order] >= min_score]
    empty = np.isnan(poses[order, :, 0]).all(axis=1)
    order = order[~empty]
    if len(order) > 1 and iou_threshold < 1.0:
        iou = iou_similarity(poses[order], poses[order])
        keep: list[int] = []
        for i in range(len(order)):
            if all(iou[j, i] <= iou_threshold for j in keep):
                keep.append(i)
        order = order[keep]
    if target is not None:
        order = order[:target]
    return order


def connect_single_breaks(frames: Sequence[sio.LabeledFrame]) -> int:
    """Give one-frame track fragments back to the track they interrupted.

    Where frame t lacks exactly one track present in frames t-1 and t+1 and holds
    exactly one track that has no other instance anywhere, the latter is the
    former broken for a frame.

    Args:
        frames: Labeled frames of one video, sorted by frame index.

    Returns:
        Number of instances reassigned.
    """
    counts: dict[int, int] = {}
    for lf in frames:
        for inst in lf.instances:
            if inst.track is not None:
                counts[id(inst.track)] = counts.get(id(inst.track), 0) + 1
    fixed = 0
    for prev, cur, nxt in zip(frames, frames[1:], frames[2:], strict=False):
        if not (prev.frame_idx + 1 == cur.frame_idx == nxt.frame_idx - 1):
            continue
        before = {i.track for i in prev.instances if i.track is not None}
        after = {i.track for i in nxt.instances if i.track is not None}
        here = {i.track for i in cur.instances if i.track is not None}
        lost = (before & after) - here
        fresh = {t for t in here - before - after if counts[id(t)] == 1}
        if len(lost) == 1 and len(fresh) == 1:
            old, new = lost.pop(), fresh.pop()
            for inst in cur.instances:
                if inst.track is new:
                    inst.track = old
                    fixed += 1
                    counts[id(old)] += 1
    return fixed
