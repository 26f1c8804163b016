"""Picture of the hardest validation frames: predictions vs proofread labels.

``.venv/bin/python bench/render_fly_contact.py out/fly_contact/poses_none_none.npz
[more.npz ...] -o docs/images/fly_contact_errors.png`` ranks the validation
frames of ``bench_fly_contact.py`` (1150..1249, not in ``clip_train.slp``) by
the lowest OKS of their two flies under the first poses file and draws the
hardest: one row per poses file, one tile per frame, zoomed on the two flies.
Proofread labels are white, each predicted fly has its own color, and a red
line joins every predicted node more than 5 px from its label, and a red ring
marks a labeled node the prediction lacks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
TILE = 360
ERROR_PX = 5.0
COLORS = [(255, 80, 200), (255, 170, 0)]


def load_poses(path: Path) -> dict[int, np.ndarray]:
    """``frame -> (n, nodes, 2)`` from a bench_fly_contact npz."""
    z = np.load(path, allow_pickle=True)
    return {
        int(f): np.asarray(p, dtype=np.float64)
        for f, p in zip(z["frames"], z["points"], strict=True)
    }


def frame_scores(gt: np.ndarray, pr: np.ndarray) -> tuple[float, float, list]:
    """Lowest OKS of the frame's flies, node error p90 and the matches."""
    from napari_sleap.evaluate.matching import match_frame

    m = match_frame(gt, pr, np.ones(len(pr)))
    oks = [o for _, _, o in m.pairs] + [0.0] * len(m.unmatched_gt)
    errs = [np.linalg.norm(pr[j] - gt[i], axis=-1) for i, j, _ in m.pairs]
    e = np.concatenate(errs) if errs else np.array([np.nan])
    e = e[np.isfinite(e)]
    return min(oks), float(np.percentile(e, 90)) if e.size else np.nan, m.pairs


def tile(image, gt, pr, pairs, edges, region, title) -> np.ndarray:
    """One zoomed frame with labels, predictions and error lines."""
    from napari_sleap.demo.render import SHIFT, _px, _text, draw_poses

    x0, y0, side = region
    crop = image[y0 : y0 + side, x0 : x0 + side]
    if crop.ndim == 2 or crop.shape[-1] == 1:
        crop = np.repeat(crop.reshape(crop.shape[0], crop.shape[1], 1), 3, axis=-1)
    scale = TILE / side
    out = cv2.resize(np.ascontiguousarray(crop), (TILE, TILE), cv2.INTER_LINEAR)
    shift = np.array([x0, y0], dtype=np.float64)
    draw_poses(
        out,
        gt - shift,
        edges,
        [(255, 255, 255)] * len(gt),
        scale=scale,
        node_radius=3,
        edge_width=1,
    )
    colors = [COLORS[k % len(COLORS)] for k in range(len(pr))]
    draw_poses(out, pr - shift, edges, colors, scale=scale, node_radius=3, edge_width=2)
    for i, j, _ in pairs:
        for g, p in zip(gt[i] - shift, pr[j] - shift, strict=True):
            if np.isfinite(g).all() and not np.isfinite(p).all():
                ring = int(ERROR_PX * scale + 4) << SHIFT
                cv2.circle(out, _px(g, scale), ring, (255, 0, 0), 2, cv2.LINE_AA, SHIFT)
                continue
            ok = np.isfinite(g).all() and np.isfinite(p).all()
            if ok and np.linalg.norm(g - p) > ERROR_PX:
                cv2.line(
                    out,
                    _px(p, scale),
                    _px(g, scale),
                    (255, 0, 0),
                    2,
                    cv2.LINE_AA,
                    SHIFT,
                )
    _text(out, title, (6, 20), (255, 255, 255), size=0.5)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("poses", type=Path, nargs="+", help="npz files (rows)")
    parser.add_argument("--names", help="row names, comma-separated")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("-n", type=int, default=6, help="frames (columns)")
    args = parser.parse_args()

    import sleap_io as sio
    from bench_fly_contact import DATA, FIRST, STOP, user_points

    from napari_sleap.demo.render import _text, save_png
    from napari_sleap.io.video import open_video

    gt_labels = sio.load_slp(str(DATA / "clip_0-1249.slp"))
    skeleton = gt_labels.skeletons[0]
    edges = [
        (skeleton.node_names.index(a.name), skeleton.node_names.index(b.name))
        for a, b in ((e.source, e.destination) for e in skeleton.edges)
    ]
    train = {int(lf.frame_idx) for lf in sio.load_slp(str(DATA / "clip_train.slp"))}
    gt = user_points(gt_labels, set(range(FIRST, STOP)))
    val = [f for f in sorted(gt) if f not in train]
    runs = [load_poses(p) for p in args.poses]
    names = args.names.split(",") if args.names else [p.stem for p in args.poses]
    ranked = sorted(val, key=lambda f: frame_scores(gt[f], runs[0][f])[0])
    hardest = sorted(ranked[: args.n])
    video = open_video(DATA / "clip.mp4")
    h, w = np.asarray(video[hardest[0]]).shape[:2]
    rows = []
    for name, run in zip(names, runs, strict=True):
        tiles = []
        for f in hardest:
            image = np.asarray(video[f])
            pts = np.concatenate([gt[f].reshape(-1, 2), run[f].reshape(-1, 2)])
            pts = pts[np.isfinite(pts).all(axis=1)]
            lo, hi = pts.min(axis=0) - 25, pts.max(axis=0) + 25
            side = int(min(max(hi - lo), h, w))
            cx, cy = (lo + hi) / 2
            x0 = int(np.clip(cx - side / 2, 0, w - side))
            y0 = int(np.clip(cy - side / 2, 0, h - side))
            low, p90, pairs = frame_scores(gt[f], run[f])
            title = f"{name} f{f} OKS {low:.2f} p90 {p90:.0f}px"
            tiles.append(
                tile(image, gt[f], run[f], pairs, edges, (x0, y0, side), title)
            )
        rows.append(np.concatenate(tiles, axis=1))
    grid = np.concatenate(rows, axis=0)
    head = np.zeros((28, grid.shape[1], 3), dtype=np.uint8)
    _text(
        head,
        "white: proofread labels; pink/orange: predicted flies; "
        "red line: error > 5 px; "
        "red ring: node not predicted",
        (6, 20),
        (255, 255, 255),
        size=0.55,
    )
    save_png(np.concatenate([head, grid], axis=0), args.output)
    print(f"wrote {args.output}: frames {hardest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
