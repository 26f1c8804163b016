"""Where a model fails: accuracy split by contact, by time and per node.

Multi-animal models fail where animals touch, and a single mAP over all frames
hides it. This module matches each frame's predictions to its ground truth
(OKS, as :func:`napari_sleap.evaluate.pose.evaluate_poses` does) and reduces the
matches per group of frames: animals in contact (the closest nodes of two
ground-truth animals nearer than ``contact_px``) or apart, and bins of
consecutive frames. Each group reports OKS mAP, node error p50/p90, PCK at a few
pixels and left/right swaps, overall and per node. Numbers in, numbers out:
every function works on arrays, so each is tested on hand-made answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_sleap.evaluate.matching import FramePair, match_frame
from napari_sleap.evaluate.metrics import voc_metrics
from napari_sleap.nn.data.skeleton import propose_symmetries

#: Closest nodes of two animals nearer than this (px) count as contact (issue 15).
CONTACT_PX = 20.0
#: Frames per time bin.
BIN_FRAMES = 25
#: PCK distance (px).
PCK_PX = 5.0


def closest_distance(instances: np.ndarray) -> float:
    """Smallest distance between nodes of two different instances of a frame.

    Args:
        instances: ``(n_instances, n_nodes, 2)``, NaN where a node is missing.

    Returns:
        The distance in pixels; ``inf`` with fewer than two instances.
    """
    pts = np.asarray(instances, dtype=np.float64)
    best = np.inf
    for a in range(len(pts)):
        pa = pts[a][~np.isnan(pts[a]).any(axis=-1)]
        for b in range(a + 1, len(pts)):
            pb = pts[b][~np.isnan(pts[b]).any(axis=-1)]
            if len(pa) and len(pb):
                d = np.linalg.norm(pa[:, None] - pb[None], axis=-1).min()
                best = min(best, float(d))
    return best


def swapped_sides(
    gt: np.ndarray, pr: np.ndarray, pairs: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Which left/right pairs a prediction has the wrong way round.

    A pair is swapped when putting the predicted left node on the true right
    one (and vice versa) lowers the summed error of the two.

    Args:
        gt: ``(n, n_nodes, 2)`` ground truth of matched instances.
        pr: ``(n, n_nodes, 2)`` their predictions.
        pairs: ``(left, right)`` node indices.

    Returns:
        ``swapped`` and ``counted`` (both sides present in both), ``(n, n_pairs)``.
    """
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, gt.shape[-2], 2)
    pr = np.asarray(pr, dtype=np.float64).reshape(gt.shape)
    if not pairs:
        empty = np.zeros((len(gt), 0), dtype=bool)
        return empty, empty
    left = np.array([p[0] for p in pairs])
    right = np.array([p[1] for p in pairs])

    def dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.linalg.norm(a - b, axis=-1)

    straight = dist(pr[:, left], gt[:, left]) + dist(pr[:, right], gt[:, right])
    crossed = dist(pr[:, left], gt[:, right]) + dist(pr[:, right], gt[:, left])
    counted = np.isfinite(straight) & np.isfinite(crossed)
    swapped = counted & (crossed < straight)
    return swapped, counted


@dataclass
class Matches:
    """Matched instances of many frames, flattened, with each frame's context.

    Attributes:
        frame_idx: ``(n,)`` frame of each matched pair.
        gt: ``(n, n_nodes, 2)`` ground truth.
        pr: ``(n, n_nodes, 2)`` prediction.
        oks: ``(n,)`` OKS of the pair.
        score: ``(n,)`` prediction score (ranks detections for mAP).
        frames: ``(n_frames,)`` every scored frame.
        frame_gt: ``(n_frames,)`` ground-truth instances in each frame.
        frame_closest: ``(n_frames,)`` closest-node distance of the frame's
            ground-truth animals (``inf`` with one animal).
    """

    frame_idx: np.ndarray
    gt: np.ndarray
    pr: np.ndarray
    oks: np.ndarray
    score: np.ndarray
    frames: np.ndarray
    frame_gt: np.ndarray
    frame_closest: np.ndarray


def collect_matches(pairs: Sequence[FramePair]) -> Matches:
    """Match every frame's predictions to its ground truth (Hungarian on OKS).

    A frame without predictions keeps its ground truth in the recall count.
    """
    fidx, gts, prs, oks, scores = [], [], [], [], []
    frames, frame_gt, closest = [], [], []
    n_nodes = pairs[0].gt.shape[1] if pairs else 0
    for fp in pairs:
        frames.append(fp.frame_idx)
        frame_gt.append(len(fp.gt))
        closest.append(closest_distance(fp.gt))
        m = match_frame(fp.gt, fp.pr, fp.pr_scores)
        for i, j, o in m.pairs:
            fidx.append(fp.frame_idx)
            gts.append(fp.gt[i])
            prs.append(fp.pr[j])
            oks.append(o)
            scores.append(fp.pr_scores[j])
    shape = (-1, n_nodes, 2)
    return Matches(
        frame_idx=np.asarray(fidx, dtype=int),
        gt=np.asarray(gts, dtype=np.float64).reshape(shape),
        pr=np.asarray(prs, dtype=np.float64).reshape(shape),
        oks=np.asarray(oks, dtype=np.float64),
        score=np.asarray(scores, dtype=np.float64),
        frames=np.asarray(frames, dtype=int),
        frame_gt=np.asarray(frame_gt, dtype=int),
        frame_closest=np.asarray(closest, dtype=np.float64),
    )


def _pct(d: np.ndarray, q: float) -> float | None:
    d = d[np.isfinite(d)]
    return float(np.percentile(d, q)) if d.size else None


def summarize(
    m: Matches,
    frame_mask: np.ndarray,
    node_names: Sequence[str],
    lr_pairs: Sequence[tuple[int, int]] = (),
    pck_px: float = PCK_PX,
) -> dict[str, Any]:
    """The numbers of one group of frames (``frame_mask`` over ``m.frames``).

    Node errors count nodes visible in the ground truth; a node the prediction
    lacks fails PCK but is left out of the percentiles (as ``evaluate_poses``
    does, so the two reports agree); ``missing_nodes`` counts them.
    """
    chosen = set(m.frames[frame_mask].tolist())
    sel = np.array([f in chosen for f in m.frame_idx], dtype=bool)
    n_gt = int(m.frame_gt[frame_mask].sum())
    gt, pr = m.gt[sel], m.pr[sel]
    visible = ~np.isnan(gt).any(axis=-1)
    err = np.linalg.norm(pr - gt, axis=-1)
    err = np.where(visible & np.isnan(err), np.inf, err)
    err = np.where(visible, err, np.nan)
    voc = voc_metrics(m.score[sel], m.oks[sel], n_gt)
    swapped, counted = swapped_sides(gt, pr, lr_pairs)
    flat = err[visible]

    def node_stats(col: np.ndarray) -> dict[str, Any]:
        col = col[~np.isnan(col)]
        return {
            "n": int(col.size),
            "p50": _pct(col, 50),
            "p90": _pct(col, 90),
            "pck": float((col < pck_px).mean()) if col.size else None,
        }

    return {
        "frames": int(frame_mask.sum()),
        "gt_instances": n_gt,
        "matched": int(sel.sum()),
        "oks_map": voc["mAP"] if n_gt else None,
        "moks": float(m.oks[sel].mean()) if sel.any() else None,
        "error_p50": _pct(flat, 50),
        "error_p90": _pct(flat, 90),
        "error_p95": _pct(flat, 95),
        "pck": float((flat < pck_px).mean()) if flat.size else None,
        "pck_px": pck_px,
        "missing_nodes": [int((visible & np.isinf(err)).sum()), int(visible.sum())],
        "lr_swaps": [int(swapped.sum()), int(counted.sum())],
        "per_node": {n: node_stats(err[:, i]) for i, n in enumerate(node_names)},
    }


def breakdown(
    pairs: Sequence[FramePair],
    node_names: Sequence[str],
    *,
    contact_px: float = CONTACT_PX,
    bin_frames: int = BIN_FRAMES,
    lr_pairs: Sequence[tuple[int, int]] | None = None,
    pck_px: float = PCK_PX,
) -> dict[str, Any]:
    """All frames, contact vs apart, and time bins of ``bin_frames`` frames.

    Args:
        pairs: Frames from :func:`napari_sleap.evaluate.matching.find_frame_pairs`.
        node_names: Node order of the points.
        contact_px: Closest-node distance below which animals touch.
        bin_frames: Frames per time bin (bins start at multiples of it).
        lr_pairs: Left/right node pairs; ``None`` guesses them from the names
            (``wingL``/``wingR``), as training's flips do.
        pck_px: PCK distance.

    Returns:
        ``{"all", "contact", "apart": summary, "time": {"lo-hi": summary}}``
        plus the settings and the contact share of frames.
    """
    lr = propose_symmetries(list(node_names)) if lr_pairs is None else list(lr_pairs)
    m = collect_matches(pairs)
    contact = m.frame_closest < contact_px
    groups = {
        "all": np.ones(len(m.frames), dtype=bool),
        "contact": contact,
        "apart": ~contact,
    }
    out: dict[str, Any] = {
        "settings": {
            "contact_px": contact_px,
            "bin_frames": bin_frames,
            "pck_px": pck_px,
            "lr_pairs": [[node_names[a], node_names[b]] for a, b in lr],
        },
        "contact_share": float(contact.mean()) if len(contact) else None,
    }
    for name, mask in groups.items():
        out[name] = summarize(m, mask, node_names, lr, pck_px)
    time: dict[str, Any] = {}
    bins = m.frames // bin_frames
    for b in np.unique(bins):
        mask = bins == b
        lo = int(b) * bin_frames
        s = summarize(m, mask, node_names, lr, pck_px)
        s["contact_share"] = float(contact[mask].mean())
        time[f"{lo}-{lo + bin_frames - 1}"] = s
    out["time"] = time
    return out


def _fmt(v: Any, spec: str = ".2f") -> str:
    return "-" if v is None else format(v, spec)


def format_breakdown(report: dict[str, Any], title: str = "") -> str:
    """The report as a plain-text table (groups, then per node)."""
    head = f"{'group':<14}{'frames':>7}{'mAP':>7}{'p50':>7}{'p90':>7}"
    head += f"{'PCK@' + format(report['settings']['pck_px'], 'g'):>7}{'swaps':>9}"
    lines = [title] if title else []
    lines.append(head)
    rows = [(k, report[k]) for k in ("all", "contact", "apart")]
    rows += [(f"t {k}", v) for k, v in report["time"].items()]
    for name, s in rows:
        sw = f"{s['lr_swaps'][0]}/{s['lr_swaps'][1]}"
        lines.append(
            f"{name:<14}{s['frames']:>7}{_fmt(s['oks_map'], '.3f'):>7}"
            f"{_fmt(s['error_p50'], '.1f'):>7}{_fmt(s['error_p90'], '.1f'):>7}"
            f"{_fmt(s['pck'], '.2f'):>7}{sw:>9}"
        )
    lines.append("")
    lines.append(f"{'node p90 px':<14}{'all':>8}{'contact':>9}{'apart':>8}")
    for node in report["all"]["per_node"]:
        vals = [report[g]["per_node"][node]["p90"] for g in ("all", "contact", "apart")]
        lines.append(
            f"{node:<14}{_fmt(vals[0], '.1f'):>8}{_fmt(vals[1], '.1f'):>9}"
            f"{_fmt(vals[2], '.1f'):>8}"
        )
    return "\n".join(lines)
