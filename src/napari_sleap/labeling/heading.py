"""Which end of the animal is the head: a sense for the body axis read from the image.

The long axis of an animal's blob says how it lies, not which way it faces:
a mean pose turned onto it comes out backwards half of the time. Animals are
not symmetric end to end (a fly is narrow at the head and wide where its wings
lie over the abdomen), so the blob's width at either end tells them apart. Which
end is narrower is not assumed: it is learned from the user's own labeled
frames (the mean pose laid onto each labeled animal, the blob measured along
it), so it holds for any animal whose ends differ.

Core code: numpy/scipy only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: Labeled frames read to learn which end is narrower (recent ones first).
LEARN_FRAMES = 8
#: Share of labeled animals that must agree before the sense is trusted.
MIN_AGREEMENT = 0.7


def animal_blob(
    image: np.ndarray, center_xy: tuple[float, float], radius: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """Pixels ``(n, 2)`` x/y and weights of the animal at ``center_xy``.

    The pixels that differ most from the local background (brighter or darker)
    in a window of ``radius`` are the animal; the blob touching the click (or
    nearest it) is returned. None when nothing stands out there.
    """
    from scipy import ndimage

    img = np.asarray(image, dtype=np.float32)
    if img.ndim == 3:
        img = img.mean(axis=-1)
    cx, cy = center_xy
    r = max(int(np.ceil(radius)), 4)
    x0, y0 = max(int(cx) - r, 0), max(int(cy) - r, 0)
    x1, y1 = min(int(cx) + r + 1, img.shape[1]), min(int(cy) + r + 1, img.shape[0])
    crop = img[y0:y1, x0:x1]
    if crop.size < 16:
        return None
    dev = np.abs(crop - np.median(crop))
    spread = float(np.median(np.abs(dev - np.median(dev)))) * 1.4826
    mask = dev > max(np.percentile(dev, 75), 3.0 * spread, 1e-6)
    blobs, n = ndimage.label(mask)
    if n == 0:
        return None
    yy, xx = np.nonzero(blobs)
    near = int(np.argmin(np.hypot(xx + x0 - cx, yy + y0 - cy)))
    ys, xs = np.nonzero(blobs == blobs[yy[near], xx[near]])
    if len(xs) < 5:
        return None
    pts = np.column_stack([xs + x0, ys + y0]).astype(np.float64)
    return pts, dev[ys, xs].astype(np.float64)


def front_narrowness(
    pts: np.ndarray, weight: np.ndarray, direction: np.ndarray
) -> float:
    """How much narrower the blob is ahead (along ``direction``) than behind.

    Widths are the weighted spread across the axis on either side of the blob's
    weighted centre, in pixels; positive: the end ahead is the narrow one.
    """
    u = np.asarray(direction, dtype=np.float64)
    u = u / max(float(np.linalg.norm(u)), 1e-12)
    centre = (pts * weight[:, None]).sum(axis=0) / max(float(weight.sum()), 1e-12)
    along = (pts - centre) @ u
    across = (pts - centre) @ np.array([-u[1], u[0]])

    def width(side: np.ndarray) -> float:
        w = weight[side]
        if w.sum() <= 0:
            return 0.0
        return float(np.sqrt((w * across[side] ** 2).sum() / w.sum()))

    return width(along < 0) - width(along > 0)


def pose_direction(pose: np.ndarray) -> np.ndarray:
    """A unit vector along a pose's long axis, pointing to a fixed end of it.

    The end is the one of the node farthest from the centre along the axis, so
    the same pose turned any way gets the same end (the pose's "front").
    """
    ok = np.isfinite(pose).all(axis=1)
    pts = pose[ok] - pose[ok].mean(axis=0)
    if len(pts) < 2:
        return np.array([1.0, 0.0])
    _, vectors = np.linalg.eigh(pts.T @ pts)
    u = vectors[:, 1]
    t = pts @ u
    return u if t[int(np.argmax(np.abs(t)))] >= 0 else -u


def _turn_onto(src: np.ndarray, dst: np.ndarray) -> float | None:
    ok = np.isfinite(src).all(axis=1) & np.isfinite(dst).all(axis=1)
    if ok.sum() < 2:
        return None
    a = src[ok] - src[ok].mean(axis=0)
    b = dst[ok] - dst[ok].mean(axis=0)
    cross = float(np.sum(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]))
    dot = float(np.sum(a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1]))
    return float(np.arctan2(cross, dot))


def _turned(u: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([c * u[0] - s * u[1], s * u[0] + c * u[1]])


def learn_front_sense(
    pose: np.ndarray,
    examples: Sequence[tuple[np.ndarray, np.ndarray]],
    radius: float,
) -> int | None:
    """Whether the mean pose's front (:func:`pose_direction`) is the narrow end.

    +1: the narrow end, -1: the wide one, None: the labeled animals disagree.

    Args:
        pose: The centred mean pose ``(n_nodes, 2)``.
        examples: ``(image, labeled pose)`` pairs from the user's labels.
        radius: Window half-size for the blobs (pixels).
    """
    front = pose_direction(pose)
    votes = []
    for image, xy in examples:
        angle = _turn_onto(pose, xy)
        if angle is None:
            continue
        ok = np.isfinite(xy).all(axis=1)
        centre = xy[ok].mean(axis=0)
        blob = animal_blob(image, (centre[0], centre[1]), radius)
        if blob is None:
            continue
        votes.append(np.sign(front_narrowness(*blob, _turned(front, angle))))
    votes = [v for v in votes if v != 0]
    if not votes:
        return None
    share = float(np.mean(np.asarray(votes) > 0))
    if share >= MIN_AGREEMENT:
        return 1
    if share <= 1.0 - MIN_AGREEMENT:
        return -1
    return None


def face_the_image(
    pose: np.ndarray,
    image: np.ndarray,
    center_xy: tuple[float, float],
    radius: float,
    sense: int,
) -> tuple[np.ndarray, bool]:
    """``pose`` turned half round if the image says it faces backwards.

    ``pose`` is centred and already along the body axis. Returns it and whether
    it was turned. ``sense`` is :func:`learn_front_sense`'s answer for this pose.
    """
    blob = animal_blob(image, center_xy, radius)
    if blob is None:
        return pose, False
    narrow = front_narrowness(*blob, pose_direction(pose))
    if narrow != 0 and np.sign(narrow) != sense:
        return -pose, True
    return pose, False


def labeled_examples(
    poses: Sequence[tuple[int, np.ndarray]],
    read: Callable[[int], np.ndarray | None],
    limit: int = LEARN_FRAMES,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(image, pose)`` pairs for up to ``limit`` frames of ``(frame, pose)``."""
    out: list[tuple[np.ndarray, np.ndarray]] = []
    images: dict[int, np.ndarray | None] = {}
    for frame, xy in poses:
        if frame not in images:
            if len(images) >= limit:
                continue
            images[frame] = read(frame)
        image = images[frame]
        if image is not None:
            out.append((image, xy))
    return out
