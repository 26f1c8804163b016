"""How often a mean pose placed on a fly faces the right way, before/after.

For each user instance of ``clip_train.slp`` (frames < 1250 only), a click at
the animal's centre places the mean pose of the other labeled frames turned to
the body axis read from the image, as Add does when no earlier frame is
labeled, from 12 starting turns of the mean pose (its own turn is arbitrary:
that of the first labeled animal). "Before": the smaller of the two turns (no
head/tail sense). "After": the end chosen by the blob's width, learned from 8
other labeled frames
(:mod:`napari_sleap.labeling.heading`). Right: the placed pose is within 90 deg
of the labeled one (least-squares turn between them). Writes
``bench/results/heading.json``. Run: `.venv/bin/python bench/bench_heading.py`.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import sleap_io as sio

from napari_sleap.io.video import open_video
from napari_sleap.labeling.heading import (
    face_the_image,
    labeled_examples,
    learn_front_sense,
)
from napari_sleap.labeling.placement import (
    _best_angle,
    _rotate,
    body_axis,
    mean_pose,
    turn_to_axis,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
HELD_OUT = 1250  # frames 1250.. are never scored
#: The mean pose's own turn is arbitrary (it follows the first labeled animal):
#: each placement is tried from 12 starting turns, degrees.
STARTS = tuple(range(0, 360, 30))


def main() -> None:
    labels = sio.load_slp(str(DATA / "clip_train.slp"), open_videos=False)
    reader = open_video(DATA / "clip.mp4")
    frames = [lf for lf in labels.labeled_frames if lf.frame_idx < HELD_OUT]
    images = {lf.frame_idx: np.asarray(reader[lf.frame_idx]) for lf in frames}
    errors = {"before": [], "after": []}
    senses = []
    t0 = time.perf_counter()
    for k, lf in enumerate(frames):
        others = sio.Labels(
            [o for o in frames if o is not lf],
            videos=labels.videos,
            skeletons=labels.skeletons,
        )
        pose = mean_pose(others, aligned=True)
        extent = float(np.nanmax(np.linalg.norm(pose, axis=1)))
        radius = 1.3 * max(extent, 5.0)
        nearby = sorted(
            (o for o in frames if o is not lf),
            key=lambda o: abs(o.frame_idx - lf.frame_idx),
        )
        examples = labeled_examples(
            [(o.frame_idx, i.numpy()) for o in nearby for i in o.user_instances],
            images.get,
        )
        image = images[lf.frame_idx]
        for inst in lf.user_instances:
            truth = inst.numpy()
            click = np.nanmean(truth, axis=0)
            angle = body_axis(image, (click[0], click[1]), radius)
            if angle is None:
                errors["before"] += [np.nan] * len(STARTS)
                errors["after"] += [np.nan] * len(STARTS)
                continue
            centred = truth - np.nanmean(truth, axis=0)
            for start in STARTS:
                placed, _ = turn_to_axis(_rotate(pose, np.radians(start)), angle)
                sense = learn_front_sense(placed, examples, radius)
                senses.append(sense)
                faced = placed
                if sense is not None:
                    faced, _ = face_the_image(
                        placed, image, (click[0], click[1]), radius, sense
                    )
                for name, p in (("before", placed), ("after", faced)):
                    errors[name].append(abs(np.degrees(_best_angle(p, centred))))
        if k % 20 == 0:
            print(f"frame {lf.frame_idx}: {len(errors['after'])} animals", flush=True)
    result = {"animals": len(frames) * 2, "placements": len(errors["before"])}
    for name, errs in errors.items():
        e = np.asarray(errs, dtype=float)
        ok = np.isfinite(e)
        result[name] = {
            "right": int((e[ok] < 90).sum()),
            "backwards": int((e[ok] >= 90).sum()),
            "no_axis": int((~ok).sum()),
            "median_error_deg": float(np.median(e[ok])),
        }
    result["sense_learned"] = {
        str(s): int(sum(1 for v in senses if v == s)) for s in (1, -1, None)
    }
    result["seconds"] = time.perf_counter() - t0
    result["machine"] = f"{platform.node()} {os.cpu_count()} cores"
    result["load"] = os.getloadavg()[0]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "heading.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
