"""Where a new instance's nodes go: the mean pose of the labels, or a default layout.

A new instance is placed centred where the user clicked, so that most nodes land
near their final place and only need a nudge.
"""

from __future__ import annotations

import warnings

import numpy as np
import sleap_io as sio


def default_layout(skeleton: sio.Skeleton, size: float = 60.0) -> np.ndarray:
    """Node offsets ``(n_nodes, 2)`` around the origin when nothing is labeled.

    Nodes follow the skeleton tree (each child fanned out below its parent), so
    connected nodes sit next to each other; unconnected nodes go on a circle.
    """
    n = len(skeleton.nodes)
    out = np.full((n, 2), np.nan)
    if n == 0:
        return np.zeros((0, 2))
    children: dict[int, list[int]] = {}
    has_parent = set()
    for a, b in skeleton.edge_inds:
        children.setdefault(a, []).append(b)
        has_parent.add(b)
    step = size / max(np.sqrt(n), 1.0)
    roots = [i for i in range(n) if i not in has_parent] or [0]
    for r, root in enumerate(roots):
        if not np.isnan(out[root]).all():
            continue
        angle = 2 * np.pi * r / max(len(roots), 1)
        out[root] = (
            (0.0, 0.0)
            if r == 0
            else size / 2 * np.array([np.cos(angle), np.sin(angle)])
        )
        stack = [(root, -np.pi / 2, np.pi)]
        while stack:
            node, heading, spread = stack.pop()
            kids = [k for k in children.get(node, []) if np.isnan(out[k]).all()]
            for j, kid in enumerate(kids):
                a = heading + spread * ((j + 0.5) / len(kids) - 0.5)
                out[kid] = out[node] + step * np.array([np.cos(a), np.sin(a)])
                stack.append((kid, a, spread / 2))
    left = np.isnan(out).any(axis=1)
    if left.any():
        k = np.nonzero(left)[0]
        a = 2 * np.pi * np.arange(len(k)) / len(k)
        out[k] = size / 2 * np.column_stack([np.cos(a), np.sin(a)])
    return out - np.nanmean(out, axis=0)


def mean_pose(
    labels: sio.Labels, skeleton: sio.Skeleton | None = None, *, max_instances=2000
) -> np.ndarray | None:
    """Average user-labeled pose, centred on its mean, ``(n_nodes, 2)``.

    Each instance is centred on the mean of its visible points before averaging,
    so animals anywhere in the frame contribute their shape. Nodes never labeled
    stay NaN. Returns None when there are no user instances of the skeleton.
    The latest ``max_instances`` instances are used (recent labels reflect the
    animal best and this keeps the cost bounded).
    """
    skeleton = skeleton or labels.skeletons[0]
    poses = []
    for lf in reversed(labels.labeled_frames):
        for inst in lf.user_instances:
            if inst.skeleton is not skeleton:
                continue
            xy = np.array(inst.points["xy"], dtype=np.float64)
            xy[~inst.points["visible"]] = np.nan
            if np.isfinite(xy).all(axis=1).sum() < 2:
                continue
            poses.append(xy - np.nanmean(xy, axis=0))
        if len(poses) >= max_instances:
            break
    if not poses:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN node columns
        return np.nanmean(np.stack(poses), axis=0)


def place_instance(
    labels: sio.Labels,
    center_xy: tuple[float, float],
    skeleton: sio.Skeleton | None = None,
    *,
    size: float = 60.0,
) -> np.ndarray:
    """Node coordinates ``(n_nodes, 2)`` for a new instance centred at ``center_xy``.

    Uses the mean pose of the labels; nodes it lacks come from the default layout.
    """
    skeleton = skeleton or labels.skeletons[0]
    pose = mean_pose(labels, skeleton)
    layout = default_layout(skeleton, size)
    if pose is None:
        pose = layout
    else:
        missing = ~np.isfinite(pose).all(axis=1)
        pose[missing] = layout[missing]
    return pose + np.asarray(center_xy, dtype=np.float64)
