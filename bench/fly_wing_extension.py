"""How often each fly's wings stand out from the body, per labeled segment (issue 15).

``.venv/bin/python bench/fly_wing_extension.py`` measures, for every labeled
fly, the angle between each wing (thorax -> wing tip) and the body axis
(thorax -> abdomen) and counts wings opened past 45 degrees (courtship song
spreads one wing). Segments: the training frames before and after the bench
split at 1150 and the proofread frames of 0..1249 in bins. It explains why the
validation frames 1150..1249 punish the left wing: the behaviour is rare in the
training frames before the split. Frames 1250..1499 are never read. Writes
``bench/results/fly_wing_extension.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
OPEN_DEGREES = 45.0
SEGMENTS = ((0, 400), (400, 800), (800, 1150), (1150, 1250))


def wing_angles(frames, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Left and right wing angles (degrees) to the body axis of every complete fly."""
    ids = [names.index(n) for n in ("thorax", "abdomen", "wingL", "wingR")]
    thorax, abdomen, left, right = ids
    out_l, out_r = [], []
    for lf in frames:
        for inst in lf.instances:
            p = inst.numpy()
            if np.isnan(p[ids]).any():
                continue
            axis = p[abdomen] - p[thorax]
            for wing, out in ((left, out_l), (right, out_r)):
                v = p[wing] - p[thorax]
                cos = axis @ v / (np.linalg.norm(axis) * np.linalg.norm(v) + 1e-9)
                out.append(float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))))
    return np.asarray(out_l), np.asarray(out_r)


def p90(values: np.ndarray) -> float | None:
    """The 90th percentile rounded to 0.1, None when empty."""
    return round(float(np.percentile(values, 90)), 1) if values.size else None


def summary(frames, names: list[str]) -> dict:
    """Flies counted and wings opened past OPEN_DEGREES, each side."""
    left, right = wing_angles(frames, names)
    return {
        "flies": int(left.size),
        "wingL_open": int((left > OPEN_DEGREES).sum()),
        "wingR_open": int((right > OPEN_DEGREES).sum()),
        "wingL_p90_deg": p90(left),
        "wingR_p90_deg": p90(right),
    }


def main() -> int:
    import sleap_io as sio

    train = sio.load_slp(str(DATA / "clip_train.slp"))
    full = sio.load_slp(str(DATA / "clip_0-1249.slp"))
    names = train.skeleton.node_names
    result = {
        "open_degrees": OPEN_DEGREES,
        "train_before_1150": summary(
            [lf for lf in train.labeled_frames if lf.frame_idx < 1150], names
        ),
        "train_from_1150": summary(
            [lf for lf in train.labeled_frames if lf.frame_idx >= 1150], names
        ),
        "proofread": {
            f"{a}-{b - 1}": summary(
                [lf for lf in full.labeled_frames if a <= lf.frame_idx < b], names
            )
            for a, b in SEGMENTS
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "fly_wing_extension.json"
    path.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
