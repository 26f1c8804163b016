"""Copy-paste augmentation that makes animals touch in centered-instance crops.

A centered-instance model must keep to its own animal when another one touches
it, and labeled frames hold few such moments (issue 15). During training this
pastes another labeled animal (from any training frame, the same one included)
next to the centered one: the donor's region is cut with a mask drawn from its
skeleton (nodes and edges, thick, feathered), turned and mirrored at random,
and placed so that its nearest node is ``gap_min``..``gap_max`` pixels from the
centered animal's nodes. The centered animal stays on top, and the targets are
untouched: the pasted animal's nodes are never targets. All numpy/OpenCV.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

#: Placements tried per example before giving up (the example stays unpasted).
TRIES = 12
#: Least visible donor nodes that must land inside the crop.
MIN_NODES_INSIDE = 3


class ContactPaster:
    """Paste a donor animal beside the centered one in a warped training crop.

    Args:
        samples: the training ``FrameSample`` list (donors come from it).
        frame_of: decoded frame ``(H, W, C)`` uint8 of a sample.
        edges: skeleton edges as node index pairs (the mask is drawn along them).
        probability: chance per example of a paste.
        gap_min: least distance (frame px) between the nearest nodes of the
            two animals.
        gap_max: largest such distance.
        width: width (frame px) of the mask drawn along nodes and edges.
    """

    def __init__(
        self,
        samples: list,
        frame_of: Callable[[object], np.ndarray],
        edges: list[tuple[int, int]],
        *,
        probability: float,
        gap_min: float,
        gap_max: float,
        width: float,
    ) -> None:
        self.samples = samples
        self.frame_of = frame_of
        self.edges = [(int(a), int(b)) for a, b in edges]
        self.probability = float(probability)
        self.gap_min = float(gap_min)
        self.gap_max = float(gap_max)
        self.width = float(width)
        self.donors = [
            (i, k)
            for i, s in enumerate(samples)
            for k in range(len(s.points))
            if np.isfinite(s.points[k]).all(axis=1).sum() >= MIN_NODES_INSIDE
        ]

    def __call__(
        self,
        image: np.ndarray,
        points: np.ndarray,
        instance: int,
        sample,
        image_matrix: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """The crop with a donor pasted, or ``image`` itself when none is drawn.

        Args:
            image: warped crop ``(h, w, C)`` uint8 (before intensity changes).
            points: every instance of the frame in crop pixels ``(n, nodes, 2)``.
            instance: index of the centered animal in ``points``.
            sample: the ``FrameSample`` the crop comes from (not pasted onto
                itself).
            image_matrix: the 3x3 frame -> crop image matrix (gives the scale).
            rng: the example's random generator.
        """
        if not self.donors or rng.random() >= self.probability:
            return image
        own = points[instance]
        target = own[np.isfinite(own).all(axis=1)]
        if len(target) == 0:
            return image
        h, w = image.shape[:2]
        scale = math.sqrt(abs(np.linalg.det(image_matrix[:2, :2])))
        for _ in range(TRIES):
            i, k = self.donors[int(rng.integers(len(self.donors)))]
            donor = self.samples[i]
            if donor.key == sample.key and k == instance:
                continue
            placed = self._place(donor.points[k], target, scale, h, w, rng)
            if placed is None:
                continue
            matrix, crop_pts = placed
            return self._blend(image, self.frame_of(donor), matrix, crop_pts, own)
        return image

    def _place(
        self,
        donor_pts: np.ndarray,
        target: np.ndarray,
        scale: float,
        h: int,
        w: int,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """A random turn, mirror and shift putting the donor in contact, or None."""
        vis = donor_pts[np.isfinite(donor_pts).all(axis=1)]
        center = vis.mean(axis=0)
        angle = rng.uniform(0, 2 * math.pi)
        c, s = math.cos(angle), math.sin(angle)
        linear = scale * np.array([[c, -s], [s, c]])
        if rng.random() < 0.5:
            linear = linear @ np.diag([-1.0, 1.0])
        rel = (vis - center) @ linear.T
        # One donor node lands gap px from one target node; the nearest pair
        # of all nodes must still be within the gap range.
        t = target[int(rng.integers(len(target)))]
        d = rel[int(rng.integers(len(rel)))]
        turn = rng.uniform(0, 2 * math.pi)
        gap = rng.uniform(self.gap_min, self.gap_max) * scale
        offset = t + gap * np.array([math.cos(turn), math.sin(turn)]) - d
        crop_pts = rel + offset
        nearest = np.min(np.linalg.norm(crop_pts[:, None] - target[None], axis=2))
        if not self.gap_min * scale <= nearest <= self.gap_max * scale:
            return None
        inside = (
            (crop_pts[:, 0] >= 0)
            & (crop_pts[:, 0] < w)
            & (crop_pts[:, 1] >= 0)
            & (crop_pts[:, 1] < h)
        )
        if inside.sum() < MIN_NODES_INSIDE:
            return None
        matrix = np.hstack([linear, (offset - linear @ center)[:, None]])
        # Edges need the donor's full node order: map every node (NaN stays NaN).
        all_pts = (donor_pts - center) @ linear.T + offset
        return matrix, all_pts

    def _mask(
        self, pts: np.ndarray, h: int, w: int, width: float, feather: float
    ) -> np.ndarray:
        """Float mask in [0, 1] along the visible nodes and edges, edge blurred."""
        mask = np.zeros((h, w), np.uint8)
        thick = max(1, int(round(width)))
        ok = np.isfinite(pts).all(axis=1)
        ipts = np.zeros(pts.shape, np.int32)
        ipts[ok] = np.round(pts[ok]).astype(np.int32)
        for a, b in self.edges:
            if ok[a] and ok[b]:
                cv2.line(mask, tuple(ipts[a]), tuple(ipts[b]), 255, thick, cv2.LINE_8)
        for p in ipts[ok]:
            cv2.circle(mask, tuple(p), max(1, thick // 2 + 1), 255, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), feather)
        return mask.astype(np.float32) / 255.0

    def _blend(
        self,
        image: np.ndarray,
        frame: np.ndarray,
        matrix: np.ndarray,
        donor_pts: np.ndarray,
        own: np.ndarray,
    ) -> np.ndarray:
        """Donor pixels over the crop under its mask, the centered animal on top."""
        h, w = image.shape[:2]
        scale = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
        donor = cv2.warpAffine(
            frame,
            matrix,
            (w, h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )
        if donor.ndim == 2:
            donor = donor[:, :, None]
        width = self.width * scale
        alpha = self._mask(donor_pts, h, w, width, max(1.0, width / 4))
        # Keep the centered animal's own parts visible: its labels stay true.
        keep = self._mask(own, h, w, width / 2, max(0.5, width / 16))
        alpha *= 1.0 - keep
        a = alpha[:, :, None]
        out = image.astype(np.float32) * (1.0 - a) + donor.astype(np.float32) * a
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def contact_paster(tset, augment) -> ContactPaster | None:
    """The paster of a prepared centered-instance training set, None when off."""
    from napari_sleap.config.roles import CENTERED_ROLES

    if augment.copy_paste_probability <= 0 or tset.info.role not in CENTERED_ROLES:
        return None
    return ContactPaster(
        tset.train,
        tset.frame,
        tset.info.edges,
        probability=augment.copy_paste_probability,
        gap_min=augment.copy_paste_gap_min,
        gap_max=augment.copy_paste_gap_max,
        width=augment.copy_paste_width,
    )
