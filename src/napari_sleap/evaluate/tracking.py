"""Tracking accuracy against ground truth: identity switches, MOTA, IDF1, coverage.

Per frame, predicted instances are matched one-to-one to ground-truth instances by
mean node distance (Hungarian), pairs farther than ``max_distance`` not counting,
or, with ``min_oks``, by OKS (SLEAP's convention), pairs below it not counting.
On those matches rest the CLEAR-MOT counts (misses, false positives, identity
switches, fragmentations); IDF1 pairs whole tracks once for the clip, maximizing
the frames where a ground-truth animal and its predicted track coincide.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import sleap_io as sio
from scipy.optimize import linear_sum_assignment

from napari_sleap.evaluate.oks import compute_oks
from napari_sleap.evaluate.videos import pair_videos
from napari_sleap.track.poses import bboxes, pose_array

#: Default matching radius, as a fraction of the median ground-truth box diagonal.
DISTANCE_FRACTION = 0.25


@dataclass
class TrackCoverage:
    """How well one ground-truth animal was followed.

    Attributes:
        gt_track: Ground-truth track name.
        frames: Frames where the animal is labeled.
        detected: Frames where some prediction matched it.
        pred_track: The predicted track IDF1 paired it with (None if none).
        coverage: Fraction of its frames carried by ``pred_track``.
        switches: Identity switches on this animal.
        fragments: Times its tracking was interrupted and resumed.
    """

    gt_track: str
    frames: int
    detected: int
    pred_track: str | None
    coverage: float
    switches: int
    fragments: int


@dataclass
class TrackingMetrics:
    """Clip-level tracking scores (see the module docstring for definitions).

    Attributes:
        frames: Ground-truth frames evaluated.
        gt_instances: Ground-truth instances in them.
        pred_instances: Predicted instances in them.
        matches: Predicted-to-ground-truth pairs within ``max_distance``.
        misses: Ground-truth instances with no match (false negatives).
        false_positives: Predicted instances with no match.
        id_switches: Times an animal's matched predicted track changed.
        fragmentations: Times an animal's tracking was interrupted and resumed.
        mota: ``1 - (misses + false_positives + id_switches) / gt_instances``.
        idf1: ``2 IDTP / (gt_instances + pred_instances)``.
        idp: Identity precision, ``IDTP / pred_instances``.
        idr: Identity recall, ``IDTP / gt_instances``.
        gt_tracks: Ground-truth tracks seen.
        pred_tracks: Predicted tracks used in the evaluated frames.
        max_distance: Matching radius used, pixels (None when matched by OKS).
        min_oks: OKS a match needed (None when matched by distance).
        per_track: Coverage of each ground-truth track.
    """

    frames: int
    gt_instances: int
    pred_instances: int
    matches: int
    misses: int
    false_positives: int
    id_switches: int
    fragmentations: int
    mota: float
    idf1: float
    idp: float
    idr: float
    gt_tracks: int
    pred_tracks: int
    max_distance: float | None
    min_oks: float | None = None
    per_track: list[TrackCoverage] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain types only, for JSON."""
        return asdict(self)

    def summary(self) -> str:
        """A few readable lines."""
        rule = (
            f"OKS >= {self.min_oks:g}"
            if self.min_oks is not None
            else f"within {self.max_distance:.1f} px"
        )
        lines = [
            f"frames {self.frames}, GT instances {self.gt_instances}, "
            f"predicted {self.pred_instances} ({rule})",
            f"ID switches {self.id_switches}  MOTA {self.mota:.4f}  IDF1 "
            f"{self.idf1:.4f} (IDP {self.idp:.4f}, IDR {self.idr:.4f})",
            f"misses {self.misses}  false positives {self.false_positives}  "
            f"fragmentations {self.fragmentations}",
            f"tracks: GT {self.gt_tracks}, predicted {self.pred_tracks}",
        ]
        for c in self.per_track:
            lines.append(
                f"  {c.gt_track}: {c.frames} frames, detected {c.detected}, "
                f"{c.coverage:.1%} as {c.pred_track}, {c.switches} switches, "
                f"{c.fragments} fragmentations"
            )
        return "\n".join(lines)


def _poses(instances) -> np.ndarray:
    """Points as ``pose_array`` gives them, non-finite coordinates as missing."""
    pts = pose_array(instances)
    if pts.size:
        pts[~np.isfinite(pts).all(axis=-1)] = np.nan
    return pts


def _key(inst: sio.Instance) -> object:
    """Track identity of an instance; an untracked one is its own track."""
    return inst.track if inst.track is not None else ("untracked", id(inst))


def _mean_distances(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    d = np.sqrt(((gt[:, None] - pred[None]) ** 2).sum(-1))
    valid = ~np.isnan(d)
    n = valid.sum(-1)
    with np.errstate(invalid="ignore"):
        mean = np.where(valid, d, 0.0).sum(-1) / n
    return np.where(n > 0, mean, np.inf)


def _pair_videos(gt: sio.Labels, pred: sio.Labels) -> dict[int, sio.Video]:
    """Map id(gt video) -> pred video by the evaluation's one pairing rule."""
    pairs = pair_videos(gt, pred)
    return {id(gt.videos[i]): pred.videos[j] for i, j in pairs.items()}


def evaluate_tracking(
    gt: sio.Labels,
    pred: sio.Labels,
    max_distance: float | None = None,
    frame_range: tuple[int, int] | None = None,
    min_oks: float | None = None,
) -> TrackingMetrics:
    """Score predicted tracks against ground-truth tracks.

    Args:
        gt: Ground truth with tracks (frames without labels are not evaluated).
        pred: Tracked predictions for the same videos.
        max_distance: A prediction farther than this mean node distance (px) from
            a ground-truth instance does not match it; None: a quarter of the
            median ground-truth box diagonal.
        frame_range: Evaluate only frames ``start <= idx < stop``.
        min_oks: Match by OKS instead (SLEAP's constants), pairs scoring at
            least this; ``max_distance`` is then ignored.
    """
    if min_oks is not None and not 0.0 < min_oks <= 1.0:
        raise ValueError(f"min_oks={min_oks}: must be in (0, 1]")
    if not any(i.track is not None for lf in gt.labeled_frames for i in lf.instances):
        raise ValueError(
            "ground truth has no tracked instances: tracking is scored against "
            "labels whose instances carry identities (tracks)"
        )
    videos = _pair_videos(gt, pred)
    pred_frames = {(id(lf.video), lf.frame_idx): lf for lf in pred.labeled_frames}
    pairs = []
    for lf in sorted(gt.labeled_frames, key=lambda f: f.frame_idx):
        if not lf.instances or id(lf.video) not in videos:
            continue
        if frame_range and not frame_range[0] <= lf.frame_idx < frame_range[1]:
            continue
        plf = pred_frames.get((id(videos[id(lf.video)]), lf.frame_idx))
        # A ground-truth instance with no finite point is no label at all.
        labeled = [i for i in lf.instances if np.isfinite(i.numpy()).all(-1).any()]
        pairs.append((labeled, plf.instances if plf is not None else []))
    if min_oks is not None:
        max_distance = None
    elif max_distance is None:
        box = bboxes(_poses([i for g, _ in pairs for i in g]))
        diag = np.hypot(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1])
        diag = diag[np.isfinite(diag)]
        max_distance = float(DISTANCE_FRACTION * np.median(diag)) if diag.size else 0.0

    n_gt = n_pred = n_match = 0
    co: dict[tuple[object, object], int] = {}
    gt_frames: dict[object, int] = {}
    detected: dict[object, int] = {}
    last_pred: dict[object, object] = {}
    was_matched: dict[object, bool] = {}
    switches: dict[object, int] = {}
    frags: dict[object, int] = {}
    pred_keys: set[object] = set()
    for gts, preds in pairs:
        n_gt += len(gts)
        n_pred += len(preds)
        pred_keys.update(_key(p) for p in preds)
        matched: dict[object, object] = {}
        if gts and preds:
            gp, pp = _poses(gts), _poses(preds)
            if min_oks is None:
                dist = _mean_distances(gp, pp)
                close = dist <= max_distance
            else:
                dist = -np.nan_to_num(compute_oks(gp, pp), nan=0.0)
                close = -dist >= min_oks
            for i, j in zip(*np.nonzero(close), strict=True):
                k = (_key(gts[i]), _key(preds[j]))
                co[k] = co.get(k, 0) + 1
            cost = np.where(close, dist, 1e9)
            for i, j in zip(*linear_sum_assignment(cost), strict=True):
                if close[i, j]:
                    matched[_key(gts[i])] = _key(preds[j])
        n_match += len(matched)
        for g in gts:
            key = _key(g)
            gt_frames[key] = gt_frames.get(key, 0) + 1
            switches.setdefault(key, 0)
            frags.setdefault(key, 0)
            if key in matched:
                detected[key] = detected.get(key, 0) + 1
                if key in last_pred and last_pred[key] != matched[key]:
                    switches[key] += 1
                if was_matched.get(key) is False:
                    frags[key] += 1
                last_pred[key] = matched[key]
                was_matched[key] = True
            elif key in was_matched:
                was_matched[key] = False

    gt_keys = list(gt_frames)
    pk = sorted(pred_keys, key=str)
    idtp = 0
    paired: dict[object, object] = {}
    if gt_keys and pk:
        m = np.array([[co.get((g, p), 0) for p in pk] for g in gt_keys], dtype=float)
        for i, j in zip(*linear_sum_assignment(m, maximize=True), strict=True):
            if m[i, j] > 0:
                idtp += int(m[i, j])
                paired[gt_keys[i]] = pk[j]
    misses, fps = n_gt - n_match, n_pred - n_match
    idsw = sum(switches.values())
    per_track = [
        TrackCoverage(
            gt_track=_name(g),
            frames=gt_frames[g],
            detected=detected.get(g, 0),
            pred_track=_name(paired[g]) if g in paired else None,
            coverage=co.get((g, paired.get(g)), 0) / gt_frames[g],
            switches=switches[g],
            fragments=frags[g],
        )
        for g in gt_keys
    ]
    return TrackingMetrics(
        frames=len(pairs),
        gt_instances=n_gt,
        pred_instances=n_pred,
        matches=n_match,
        misses=misses,
        false_positives=fps,
        id_switches=idsw,
        fragmentations=sum(frags.values()),
        mota=1.0 - (misses + fps + idsw) / n_gt if n_gt else 0.0,
        idf1=2 * idtp / (n_gt + n_pred) if n_gt + n_pred else 0.0,
        idp=idtp / n_pred if n_pred else 0.0,
        idr=idtp / n_gt if n_gt else 0.0,
        gt_tracks=len(gt_keys),
        pred_tracks=sum(1 for p in pred_keys if isinstance(p, sio.Track)),
        max_distance=max_distance,
        min_oks=min_oks,
        per_track=per_track,
    )


def _name(key: object) -> str:
    return key.name if isinstance(key, sio.Track) else "untracked"
