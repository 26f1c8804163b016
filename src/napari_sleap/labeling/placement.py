"""Where a new instance's nodes go, as SLEAP places them and a bit better.

:func:`placement_for` picks, in order:

1. an unused prediction on that frame (nearest the click): the user accepts it;
2. the nearest instance of the closest earlier labeled frame, moved to the click
   (the animal looks much as it did a moment ago);
3. the mean pose of the labels, aligned instance to instance before averaging and
   turned to the animal's body axis read from the image around the click;
4. a layout that follows the skeleton's edges (nothing labeled yet).

Core code: numpy/scipy only; the image is any 2D/3D array (or a callable giving
it, so it is read only when the mean pose needs it).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sleap_io as sio

from napari_sleap.labeling.heading import (
    animal_blob,
    face_the_image,
    labeled_examples,
    learn_front_sense,
)

#: A body axis is trusted when the blob is this much longer than wide.
MIN_ELONGATION = 1.3


def default_layout(skeleton: sio.Skeleton, size: float = 60.0) -> np.ndarray:
    """Node offsets ``(n_nodes, 2)`` around the origin when nothing is labeled.

    A built-in template's skeleton (:mod:`napari_sleap.labeling.templates`) gets
    that template's pose.

    Nodes follow the skeleton tree (each child fanned out below its parent), so
    connected nodes sit next to each other; unconnected nodes go on a circle.
    """
    from napari_sleap.labeling.templates import template_pose

    pose = template_pose(skeleton, 1.5 * size)  # a built-in template's pose
    if pose is not None:
        return pose
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
    labels: sio.Labels,
    skeleton: sio.Skeleton | None = None,
    *,
    max_instances: int = 2000,
    aligned: bool = False,
) -> np.ndarray | None:
    """Average user-labeled pose, centred on its mean, ``(n_nodes, 2)``.

    Each instance is centred on the mean of its visible points before averaging,
    so animals anywhere in the frame contribute their shape. Nodes never labeled
    stay NaN. Returns None when there are no user instances of the skeleton.
    The latest ``max_instances`` instances are used (recent labels reflect the
    animal best and this keeps the cost bounded). ``aligned``: turn each pose
    onto the first one (least squares over shared nodes) before averaging, so
    animals facing every way average to their shape, not to a blob.
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
    if aligned:
        poses = _align_all(poses)
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


# ----------------------------------------------------------------- rotation


def _rotate(xy: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return xy @ np.array([[c, s], [-s, c]])


def _best_angle(src: np.ndarray, dst: np.ndarray) -> float | None:
    """Angle turning centred ``src`` onto ``dst`` (least squares; None: < 2 nodes)."""
    ok = np.isfinite(src).all(axis=1) & np.isfinite(dst).all(axis=1)
    if ok.sum() < 2:
        return None
    a, b = src[ok], dst[ok]
    cross = float(np.sum(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]))
    dot = float(np.sum(a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1]))
    return float(np.arctan2(cross, dot))


def _align_all(poses: list[np.ndarray]) -> list[np.ndarray]:
    """Poses turned onto the most complete one, then onto their mean (twice)."""
    ref = max(poses, key=lambda p: int(np.isfinite(p).all(axis=1).sum()))
    for _ in range(2):
        turned = []
        for pose in poses:
            angle = _best_angle(pose, ref)
            turned.append(pose if angle is None else _rotate(pose, angle))
        poses = turned
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(np.stack(poses), axis=0)
        if np.isfinite(mean).all(axis=1).sum() >= 2:
            ref = mean
    return poses


def axis_angle(xy: np.ndarray) -> tuple[float, float]:
    """Angle of the long axis of points ``(n, 2)`` and how elongated they are."""
    pts = xy[np.isfinite(xy).all(axis=1)]
    if len(pts) < 2:
        return 0.0, 1.0
    return _principal(pts - pts.mean(axis=0), np.ones(len(pts)))


def _principal(centred: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    cov = (centred * weight[:, None]).T @ centred / max(float(weight.sum()), 1e-9)
    values, vectors = np.linalg.eigh(cov)
    major = vectors[:, 1]
    elong = float(np.sqrt(values[1] / max(values[0], 1e-9)))
    return float(np.arctan2(major[1], major[0])), elong


def body_axis(
    image: np.ndarray, center_xy: tuple[float, float], radius: float
) -> float | None:
    """Angle (radians, image x/y) of the animal's long axis at ``center_xy``.

    The animal's blob (:func:`~napari_sleap.labeling.heading.animal_blob`) gives
    the axis by its second moments. None when nothing elongated is there.
    """
    blob = animal_blob(image, center_xy, radius)
    if blob is None:
        return None
    pts, w = blob
    centre = (pts * w[:, None]).sum(axis=0) / w.sum()
    angle, elong = _principal(pts - centre, w)
    return angle if elong >= MIN_ELONGATION else None


def turn_to_axis(pose: np.ndarray, angle: float) -> tuple[np.ndarray, float]:
    """``pose`` (centred) turned so its long axis lies at ``angle``.

    An axis has no head: of the two turns that do it, the smaller one is used.
    Returns the pose and the turn (radians).
    """
    own, _ = axis_angle(pose)
    turn = (angle - own + np.pi / 2) % np.pi - np.pi / 2
    return _rotate(pose, turn), float(turn)


# ---------------------------------------------------------------- placement


@dataclass
class Placement:
    """Where a new instance goes and why.

    Attributes:
        xy: Node coordinates ``(n_nodes, 2)`` (NaN: not placed).
        method: ``"prediction"``, ``"predicted_now"`` (the frame was just
            predicted for this Add), ``"previous"``, ``"mean_pose"`` or ``"layout"``.
        prediction: The prediction to accept (method ``"prediction"``).
        source_frame: The labeled frame copied from (method ``"previous"``).
        turn: Radians the mean pose was turned to the animal (0: not turned).
        faced: The head/tail sense came from the image (learned from the labels).
    """

    xy: np.ndarray
    method: str
    prediction: sio.PredictedInstance | None = None
    source_frame: int | None = None
    turn: float = 0.0
    faced: bool = False

    @property
    def description(self) -> str:
        """What was done, for the status line."""
        if self.method == "prediction":
            return "accepted the prediction there"
        if self.method == "predicted_now":
            return "predicted this frame with the model"
        if self.method == "previous":
            return f"copied the nearest animal of frame {self.source_frame}"
        if self.method == "mean_pose":
            turned = f", turned {np.degrees(self.turn):.0f} deg" if self.turn else ""
            faced = ", head end from the image" if self.faced else ""
            return f"placed the mean pose{turned}{faced}"
        return "placed a default layout (nothing labeled yet)"


def _centre(xy: np.ndarray) -> np.ndarray:
    ok = np.isfinite(xy).all(axis=1)
    return xy[ok].mean(axis=0) if ok.any() else np.zeros(2)


def _nearest(instances: list[sio.Instance], click: np.ndarray) -> sio.Instance | None:
    best, best_d = None, np.inf
    for inst in instances:
        xy = inst.numpy()
        if not np.isfinite(xy).any():
            continue
        d = float(np.linalg.norm(_centre(xy) - click))
        if d < best_d:
            best, best_d = inst, d
    return best


def _fill_missing(
    labels: sio.Labels, skeleton: sio.Skeleton, xy: np.ndarray
) -> np.ndarray:
    """Nodes the copied animal lacks, from the mean pose laid onto the rest."""
    missing = ~np.isfinite(xy).all(axis=1)
    if not missing.any():
        return xy
    pose = mean_pose(labels, skeleton, aligned=True)
    if pose is None:
        return xy
    both = ~missing & np.isfinite(pose).all(axis=1)
    if both.sum() < 2:
        return xy
    centre = xy[both].mean(axis=0)
    angle = _best_angle(pose - pose[both].mean(axis=0), xy - centre)
    if angle is None:
        return xy
    laid = _rotate(pose - pose[both].mean(axis=0), angle) + centre
    out = xy.copy()
    out[missing] = laid[missing]
    return out


def placement_for(
    labels: sio.Labels,
    video: sio.Video,
    frame_idx: int,
    center_xy: tuple[float, float],
    *,
    skeleton: sio.Skeleton | None = None,
    image: np.ndarray | Callable[[], Any] | None = None,
    read_frame: Callable[[int], np.ndarray | None] | None = None,
    size: float = 60.0,
) -> Placement:
    """Where to put a new instance clicked at ``center_xy`` on ``frame_idx``.

    See the module docstring for the order. ``image``: the frame (or a callable
    returning it), read only for the mean pose's turn. ``read_frame(i)``: any
    frame of the video; labeled frames read through it teach which end of the
    animal is its head (:mod:`~napari_sleap.labeling.heading`).
    """
    skeleton = skeleton or labels.skeletons[0]
    click = np.asarray(center_xy, dtype=np.float64)
    frames = [lf for lf in labels.labeled_frames if lf.video is video]
    here = next((lf for lf in frames if lf.frame_idx == frame_idx), None)
    if here is not None:
        used = {id(i.from_predicted) for i in here.user_instances if i.from_predicted}
        preds = [
            i
            for i in here.predicted_instances
            if id(i) not in used and i.skeleton is skeleton
        ]
        pred = _nearest(preds, click)
        if pred is not None:
            return Placement(pred.numpy(), "prediction", prediction=pred)
    earlier = [
        lf
        for lf in frames
        if lf.frame_idx < frame_idx
        and any(i.skeleton is skeleton for i in lf.user_instances)
    ]
    if earlier:
        source = max(earlier, key=lambda lf: lf.frame_idx)
        users = [i for i in source.user_instances if i.skeleton is skeleton]
        inst = _nearest(users, click)
        if inst is not None:
            xy = inst.numpy().astype(np.float64)
            xy = _fill_missing(labels, skeleton, xy - _centre(xy) + click)
            return Placement(xy, "previous", source_frame=source.frame_idx)
    pose = mean_pose(labels, skeleton, aligned=True)
    layout = default_layout(skeleton, size)
    if pose is None:
        return Placement(layout + click, "layout")
    missing = ~np.isfinite(pose).all(axis=1)
    pose[missing] = layout[missing]
    turn, faced = 0.0, False
    frame = image() if callable(image) else image
    if frame is not None:
        extent = float(np.nanmax(np.linalg.norm(pose, axis=1)))
        radius = 1.3 * max(extent, 5.0)
        angle = body_axis(frame, (click[0], click[1]), radius)
        if angle is not None:
            pose, turn = turn_to_axis(pose, angle)
            sense = None
            if read_frame is not None:
                sense = front_sense(labels, video, skeleton, pose, read_frame, radius)
            if sense is not None:
                pose, flipped = face_the_image(
                    pose, frame, (click[0], click[1]), radius, sense
                )
                faced = True
                if flipped:
                    turn = float((turn + 2 * np.pi) % (2 * np.pi) - np.pi)
    return Placement(pose + click, "mean_pose", turn=turn, faced=faced)


_SENSES: dict[tuple[int, int, int], int | None] = {}


def front_sense(
    labels: sio.Labels,
    video: sio.Video,
    skeleton: sio.Skeleton,
    pose: np.ndarray,
    read_frame: Callable[[int], np.ndarray | None],
    radius: float,
) -> int | None:
    """Which end of the (aligned) mean pose is the narrow one, from labeled frames.

    Remembered per labels, video and count of labeled frames (new labels relearn).
    """
    key = (id(labels), id(video), len(labels.labeled_frames))
    if key not in _SENSES:
        poses = [
            (lf.frame_idx, inst.numpy())
            for lf in reversed(labels.labeled_frames)
            if lf.video is video
            for inst in lf.user_instances
            if inst.skeleton is skeleton
        ]
        examples = labeled_examples(poses, read_frame)
        if len(_SENSES) > 64:
            _SENSES.clear()
        _SENSES[key] = learn_front_sense(pose, examples, radius)
    return _SENSES[key]


def placement_from_poses(
    labels: sio.Labels,
    poses_xy: np.ndarray,
    center_xy: tuple[float, float],
    *,
    skeleton: sio.Skeleton | None = None,
) -> Placement | None:
    """The predicted pose nearest the click, as a placement (None: no pose).

    ``poses_xy`` is ``(instances, nodes, 2)`` in ``skeleton``'s node order (a
    frame just predicted for this Add); nodes the model did not find come from
    the mean pose laid onto the found ones, as for a copied animal.
    """
    skeleton = skeleton or labels.skeletons[0]
    click = np.asarray(center_xy, dtype=np.float64)
    poses = np.asarray(poses_xy, dtype=np.float64).reshape(-1, len(skeleton.nodes), 2)
    best, best_d = None, np.inf
    for xy in poses:
        if np.isfinite(xy).all(axis=1).sum() < 1:
            continue
        d = float(np.linalg.norm(_centre(xy) - click))
        if d < best_d:
            best, best_d = xy, d
    if best is None:
        return None
    return Placement(_fill_missing(labels, skeleton, best.copy()), "predicted_now")
