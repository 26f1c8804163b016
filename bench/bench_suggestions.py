"""Frame suggestions on the real clip: do image features pick more distinct poses?

Suggests k frames of clip.mp4 frames 0..1249 (1250..1499 never read) with each
method and scores the picks with the proofread poses (tests/labeling/pose_spread:
pose clusters covered, mean distance of every frame to its nearest pick). Frames
are decoded once and shared, so the times are the features' own.

    .venv/bin/python bench/bench_suggestions.py [--k 20] [--sample 300]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import sleap_io as sio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.*

from tests.fixtures.shared_data import SHARED_DATA  # noqa: E402
from tests.labeling.pose_spread import (  # noqa: E402
    LAST_FRAME,
    pose_descriptors,
    pose_spread,
)

from napari_sleap.io.video import open_video  # noqa: E402
from napari_sleap.labeling import suggestions as sg  # noqa: E402

RESULTS = Path(__file__).parent / "results"


class Frames:
    """Frames 0..LAST_FRAME of the clip, each decoded once."""

    def __init__(self, reader) -> None:
        self.reader = reader
        self.cache: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return LAST_FRAME + 1

    def __getitem__(self, i: int) -> np.ndarray:
        if i not in self.cache:
            self.cache[i] = self.reader.read(int(i))
        return self.cache[i]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--sample", type=int, default=300)
    args = parser.parse_args()
    labels = sio.load_slp(str(SHARED_DATA / "clip_0-1249.slp"), open_videos=False)
    desc = pose_descriptors(labels)
    rows = {}
    n = LAST_FRAME + 1
    rows["uniform"] = pose_spread(desc, sg.uniform(n, args.k))
    randoms = [pose_spread(desc, sg.random(n, args.k, seed=s)) for s in range(10)]
    rows["random (10 seeds, mean)"] = {
        key: float(np.mean([r[key] for r in randoms])) for key in randoms[0]
    }
    with open_video(SHARED_DATA / "clip.mp4") as reader:
        frames = Frames(reader)
        start = time.perf_counter()
        for f in sg.uniform(n, args.sample):
            frames[f]
        read_s = time.perf_counter() - start
        for feature in ("hog", "raw", "orb"):
            start = time.perf_counter()
            picks = sg.image_features(
                frames, args.k, feature=feature, sample=args.sample
            )
            seconds = time.perf_counter() - start
            rows[f"image_features {feature}"] = {
                **pose_spread(desc, picks),
                "seconds": round(seconds, 2),
                "picks": picks,
            }
    out = {
        "date": str(date.today()),
        "machine": platform.node(),
        "load": os.getloadavg()[0],
        "k": args.k,
        "sample": args.sample,
        "decode_s": round(read_s, 2),
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"suggestions_{out['date']}.json"
    path.write_text(json.dumps(out, indent=1))
    for name, r in rows.items():
        extra = f", {r['seconds']} s" if "seconds" in r else ""
        print(
            f"{name}: {r['pose_clusters']}/20 pose clusters, "
            f"coverage {r['coverage']:.3f}{extra}"
        )
    print(f"decode of {args.sample} frames: {read_s:.1f} s; {path}")


if __name__ == "__main__":
    main()
