"""Foreign labels files written by hand from SLEAP labels, for import tests.

DeepLabCut keeps each labeled frame as a PNG under ``labeled-data/<video>/``
next to a ``CollectedData_<scorer>.csv``; these helpers write exactly that.
"""

from __future__ import annotations

import csv
import json

import cv2
import numpy as np


def by_track(lf) -> dict[str, np.ndarray]:
    return {inst.track.name: inst.numpy() for inst in lf.user_instances}


def write_images(folder, frames) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for image, lf in frames:
        name = f"img{lf.frame_idx:05d}.png"
        cv2.imwrite(str(folder / name), np.asarray(image)[..., 0])
        names.append(name)
    return names


def dlc_csv(path, labels, frames, names, animals) -> None:
    """A DeepLabCut CollectedData CSV (multi-animal layout if several animals)."""
    nodes = labels.skeletons[0].node_names
    multi = len(animals) > 1
    cols = [(a, n, c) for a in animals for n in nodes for c in ("x", "y")]
    rows = [["scorer", "", ""] + ["tester"] * len(cols)]
    if multi:
        rows.append(["individuals", "", ""] + [a for a, _, _ in cols])
    rows.append(["bodyparts", "", ""] + [n for _, n, _ in cols])
    rows.append(["coords", "", ""] + [c for _, _, c in cols])
    for (_, lf), name in zip(frames, names, strict=True):
        pts = by_track(lf)
        row = ["labeled-data", "clip", name]
        for a, n, c in cols:
            v = pts[a][nodes.index(n), 0 if c == "x" else 1]
            row.append("" if np.isnan(v) else repr(float(v)))
        rows.append(row)
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)


def dlc_project(root, labels, frames, animals) -> None:
    names = write_images(root / "labeled-data" / "clip", frames)
    dlc_csv(
        root / "labeled-data" / "clip" / "CollectedData_tester.csv",
        labels,
        frames,
        names,
        animals,
    )
    nodes = labels.skeletons[0].node_names
    edges = [[nodes[a], nodes[b]] for a, b in labels.skeletons[0].edge_inds]
    config = [
        "Task: flies",
        "scorer: tester",
        "date: Dec5",
        f"multianimalproject: {str(len(animals) > 1).lower()}",
        f"individuals: {json.dumps(animals)}",
        f"bodyparts: {json.dumps(nodes)}",
        f"multianimalbodyparts: {json.dumps(nodes)}",
        f"skeleton: {json.dumps(edges)}",
        "video_sets: {}",
    ]
    (root / "config.yaml").write_text("\n".join(config) + "\n")
