"""How right the self-training pseudo-labels are, where labels exist to check them.

``.venv/bin/python bench/fly_pseudo_labels.py out/st15/self [TAG]`` reads
``centered_instance/self_train/pseudo_labels.slp`` (phase 1's confident
predictions, bench/fly_selftrain_split.yaml) and compares the pseudo-labeled
frames that are validation frames of ``bench_fly_contact.py`` (1150..1249, not
in ``clip_train.slp``) with the proofread ``clip_0-1249.slp``: node error per
node and how many nodes a pseudo-label left out. Frames 1250..1499 are counted,
never compared (no labels of them are read). Writes
``bench/results/fly_pseudo_labels<TAG>.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
DATA = ROOT.parent / "shared" / "data"


def main() -> int:
    import sleap_io as sio
    from bench_fly_contact import FIRST, STOP, user_points

    from napari_sleap.evaluate.matching import match_frame

    models = Path(sys.argv[1])
    pseudo = sio.load_slp(
        str(models / "centered_instance" / "self_train" / "pseudo_labels.slp"),
        open_videos=False,
    )
    train = {int(lf.frame_idx) for lf in sio.load_slp(str(DATA / "clip_train.slp"))}
    frames = sorted(int(lf.frame_idx) for lf in pseudo)
    val = [f for f in frames if FIRST <= f < STOP and f not in train]
    gt = user_points(sio.load_slp(str(DATA / "clip_0-1249.slp")), set(val))
    names = list(pseudo.skeletons[0].node_names)
    by_frame = {int(lf.frame_idx): lf for lf in pseudo}
    errors, left_out = [], 0
    for f in val:
        pr = np.stack([i.numpy() for i in by_frame[f]]).astype(np.float64)
        left_out += int(np.isnan(pr[..., 0]).sum())
        m = match_frame(gt[f], pr, np.ones(len(pr)))
        for i, j, _ in m.pairs:
            e = np.linalg.norm(pr[j] - gt[f][i], axis=-1)
            errors.append(e)
    err = np.array(errors).reshape(-1, len(names))
    if not len(err):
        err = np.full((1, len(names)), np.nan)
    per_node = {
        n: round(float(np.nanpercentile(err[:, k], 90)), 1) for k, n in enumerate(names)
    }
    result = {
        "pseudo_frames": len(frames),
        "by_range": {
            "0-1149": sum(f < FIRST for f in frames),
            "1150-1249": sum(FIRST <= f < STOP for f in frames),
            "1250-1499 (not compared)": sum(f >= STOP for f in frames),
        },
        "compared_validation_frames": len(val),
        "nodes_left_out": left_out,
        "node_error_p50": round(float(np.nanpercentile(err, 50)), 2),
        "node_error_p90": round(float(np.nanpercentile(err, 90)), 2),
        "node_p90_by_node": per_node,
    }
    print(json.dumps(result, indent=1))
    tag = sys.argv[2] if len(sys.argv) > 2 else ""
    out = ROOT / "bench" / "results" / f"fly_pseudo_labels{tag}.json"
    out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
