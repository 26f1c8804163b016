"""How well a set of frames covers the poses of the clip (frames 0..1249 only).

Each frame is described by both flies' postures (nodes relative to the thorax,
turned so the fly faces up) and how the two stand to each other (distance,
relative heading). Two measures of a pick of frames, from the proofread labels:

- ``pose_clusters``: of 20 k-means clusters of all frames' descriptors, how many
  hold a pick (distinct poses covered);
- ``coverage``: mean distance (in standardised units) from every frame to its
  nearest pick (lower: no kind of pose left far from a labeled example).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sleap_io as sio

#: Frames whose labels may be read (1250..1499 are never scored nor looked at).
LAST_FRAME = 1249
POSE_CLUSTERS = 20


def _fly(xy: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray, float]:
    """A fly's egocentric nodes, its thorax and its heading angle."""
    thorax = xy[names.index("thorax")]
    head = xy[names.index("head")]
    angle = float(np.arctan2(*(head - thorax)[::-1]))
    c, s = np.cos(-angle), np.sin(-angle)
    rel = (xy - thorax) @ np.array([[c, s], [-s, c]])
    return rel, thorax, angle


def pose_descriptors(labels: sio.Labels) -> np.ndarray:
    """One standardised descriptor row per frame 0..LAST_FRAME (both flies)."""
    names = labels.skeletons[0].node_names
    tracks = sorted(t.name for t in labels.tracks)
    rows = np.full((LAST_FRAME + 1, 2 * 2 * len(names) + 4), np.nan)
    for lf in labels.labeled_frames:
        f = int(lf.frame_idx)
        if f > LAST_FRAME:
            continue
        flies = {i.track.name: i.numpy() for i in lf.instances if i.track is not None}
        if set(flies) != set(tracks):
            continue
        parts, thoraxes, angles = [], [], []
        for t in tracks:
            rel, thorax, angle = _fly(flies[t], names)
            parts.append(rel.ravel())
            thoraxes.append(thorax)
            angles.append(angle)
        gap = thoraxes[1] - thoraxes[0]
        turn = angles[1] - angles[0]
        rows[f] = np.concatenate(
            [*parts, [np.hypot(*gap), np.cos(turn), np.sin(turn), 0.0]]
        )
    mean = np.nanmean(rows, axis=0)
    std = np.nanstd(rows, axis=0)
    rows = (rows - mean) / np.where(std > 0, std, 1.0)
    return np.nan_to_num(rows)  # a node never placed sits at the mean


def pose_spread(descriptors: np.ndarray, picks: Sequence[int]) -> dict[str, float]:
    """``pose_clusters`` covered and mean ``coverage`` distance of ``picks``."""
    from scipy.cluster.vq import kmeans2

    _, assign = kmeans2(descriptors, POSE_CLUSTERS, seed=0, minit="++")
    picks = [p for p in picks if 0 <= p <= LAST_FRAME]
    chosen = descriptors[picks]
    d = np.linalg.norm(descriptors[:, None, :] - chosen[None, :, :], axis=-1)
    return {
        "pose_clusters": len({int(assign[p]) for p in picks}),
        "coverage": float(d.min(axis=1).mean()),
    }
