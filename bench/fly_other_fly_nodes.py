"""Count predicted nodes that sit on the OTHER fly (issue 15, contact frames).

``.venv/bin/python bench/fly_other_fly_nodes.py NAME=<out>/poses_none_none.npz ...``
reads the poses ``bench/bench_fly_contact.py`` saved (``--out``), matches them
to the proofread instances of its 80 validation frames (1150..1249 minus the
training frames; OKS, Hungarian) and counts each matched instance's nodes that
are more than ``--far`` px from their own label but within ``--near`` px of
any labeled node of the other fly: parts taken from the other animal, the
error the other-instance negatives aim at. Frames 1250..1499 are never read.
Writes ``bench/results/fly_other_fly_nodes<tag>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
DATA = ROOT.parent / "shared" / "data"
FIRST, STOP = 1150, 1250
GROUPS = {
    "legs": (
        "forelegL4",
        "forelegR4",
        "midlegL4",
        "midlegR4",
        "hindlegL4",
        "hindlegR4",
    ),
    "wings": ("wingL", "wingR"),
    "body": ("head", "thorax", "abdomen", "eyeL", "eyeR"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="NAME=poses.npz")
    parser.add_argument("--near", type=float, default=5.0)
    parser.add_argument("--far", type=float, default=10.0)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()

    import sleap_io as sio

    from napari_sleap.evaluate.matching import match_frame

    gt_labels = sio.load_slp(str(DATA / "clip_0-1249.slp"))
    train = {int(lf.frame_idx) for lf in sio.load_slp(str(DATA / "clip_train.slp"))}
    names = list(gt_labels.skeletons[0].node_names)
    gt = {}
    for lf in gt_labels:
        f = int(lf.frame_idx)
        if FIRST <= f < STOP and f not in train and len(lf.user_instances) == 2:
            gt[f] = np.stack(
                [i.numpy(invisible_as_nan=True) for i in lf.user_instances]
            ).astype(np.float64)
    out: dict = {"near_px": args.near, "far_px": args.far, "frames": len(gt)}
    for spec in args.runs:
        name, path = spec.split("=", 1)
        data = np.load(path, allow_pickle=True)
        poses = dict(zip(data["frames"].tolist(), data["points"], strict=True))
        taken = np.zeros(len(names), int)
        labeled = np.zeros(len(names), int)
        bad_frames = set()
        for f, g in gt.items():
            pr = np.asarray(poses.get(f, np.zeros((0, len(names), 2))), np.float64)
            m = match_frame(g, pr, np.ones(len(pr)))
            for gi, pj, _ in m.pairs:
                own, other, p = g[gi], g[1 - gi], pr[pj]
                ok = np.isfinite(own).all(1) & np.isfinite(p).all(1)
                labeled += ok
                d_own = np.linalg.norm(p - own, axis=1)
                d_other = np.nanmin(
                    np.linalg.norm(p[:, None] - other[None], axis=2), axis=1
                )
                hit = ok & (d_own > args.far) & (d_other < args.near)
                taken += hit
                if hit.any():
                    bad_frames.add(f)
        per_node = {n: int(t) for n, t in zip(names, taken, strict=True)}
        groups = {
            k: int(sum(per_node[n] for n in v if n in per_node))
            for k, v in GROUPS.items()
        }
        out[name] = {
            "taken_nodes": int(taken.sum()),
            "labeled_nodes": int(labeled.sum()),
            "frames_with_taken": len(bad_frames),
            "groups": groups,
            "per_node": per_node,
        }
        print(
            f"{name}: {taken.sum()} of {labeled.sum()} nodes on the other fly "
            f"({len(bad_frames)} of {len(gt)} frames); {groups}"
        )
    path = ROOT / "bench" / "results" / f"fly_other_fly_nodes{args.tag}.json"
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
