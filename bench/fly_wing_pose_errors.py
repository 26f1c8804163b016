"""Wing errors split by the labeled wing pose (issue 15, rare-pose sampling).

``.venv/bin/python bench/fly_wing_pose_errors.py NAME=<out>/poses_none_none.npz ...``
reads the poses ``bench/bench_fly_contact.py`` saved (``--out``), matches them
to the proofread instances of its 80 validation frames (1150..1249 minus the
training frames; OKS, Hungarian) and reports each wing's error separately for
flies holding that wing out (> 45 deg from the body axis, as
``bench/fly_wing_extension.py`` counts) and flies with it folded: the pose the
training frames before 1150 hold in 10 of 160 flies. Frames 1250..1499 are
never read. Writes ``bench/results/fly_wing_pose_errors<tag>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
DATA = ROOT.parent / "shared" / "data"
FIRST, STOP = 1150, 1250


def _stats(errors: list[float]) -> dict:
    """Error percentiles and PCK@5 of the predicted nodes; unpredicted counted apart."""
    e = np.asarray(errors, np.float64)
    missing = int(np.isnan(e).sum())
    e = e[np.isfinite(e)]
    if not e.size:
        return {"n": 0, "unpredicted": missing}
    return {
        "n": int(e.size),
        "unpredicted": missing,
        "p50": round(float(np.percentile(e, 50)), 2),
        "p90": round(float(np.percentile(e, 90)), 2),
        "pck5": round(float((e <= 5.0).mean()), 3),
    }


def _angle(p: np.ndarray, names: list[str], wing: str) -> float:
    thorax, abdomen, tip = (names.index(n) for n in ("thorax", "abdomen", wing))
    axis, vec = p[abdomen] - p[thorax], p[tip] - p[thorax]
    cos = axis @ vec / (np.linalg.norm(axis) * np.linalg.norm(vec) + 1e-9)
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="NAME=poses.npz")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()

    import sleap_io as sio
    from fly_wing_extension import OPEN_DEGREES

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
    body = [names.index("thorax"), names.index("abdomen")]
    out: dict = {"open_degrees": OPEN_DEGREES, "frames": len(gt)}
    for spec in args.runs:
        name, path = spec.split("=", 1)
        data = np.load(path, allow_pickle=True)
        poses = dict(zip(data["frames"].tolist(), data["points"], strict=True))
        errors: dict[str, list[float]] = {}
        for f, g in gt.items():
            pr = np.asarray(poses.get(f, np.zeros((0, len(names), 2))), np.float64)
            for gi, pj, _ in match_frame(g, pr, np.ones(len(pr))).pairs:
                own, p = g[gi], pr[pj]
                for wing in ("wingL", "wingR"):
                    k = names.index(wing)
                    if not np.isfinite(own[[k, *body]]).all():
                        continue
                    state = (
                        "open" if _angle(own, names, wing) > OPEN_DEGREES else "folded"
                    )
                    err = float(np.linalg.norm(p[k] - own[k]))  # NaN: unpredicted
                    errors.setdefault(f"{wing}_{state}", []).append(err)
        out[name] = {k: _stats(v) for k, v in sorted(errors.items())}
        print(name, json.dumps(out[name]))
    path = ROOT / "bench" / "results" / f"fly_wing_pose_errors{args.tag}.json"
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
