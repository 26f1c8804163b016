"""Saving a live run: poses as a ``.slp`` SLEAP opens, or poses and times as JSON.

Both are written atomically. The JSON keeps every timestamp (seconds from the
source's start) so a run's latencies can be studied afterwards; the ``.slp``
keeps the poses on the frames that were processed (a video file source only:
a camera leaves no video to point at).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from napari_sleap.live.loop import LiveResult, LiveSummary

#: Output endings :func:`save_run` writes.
OUTPUT_KINDS = (".slp", ".json")


def check_output(path: str | Path, video: Path | None) -> Path:
    """Refuse an output the run could not write, before the run starts.

    Raises:
        ValueError: naming the file and the fix.
    """
    path = Path(path)
    if path.suffix.lower() not in OUTPUT_KINDS:
        raise ValueError(
            f"--out {path}: live writes poses to a .slp file or poses and "
            f"timestamps to a .json file. Fix: end the name in .slp or .json"
        )
    if path.suffix.lower() == ".slp" and video is None:
        raise ValueError(
            f"--out {path}: a camera run has no video file for a .slp to point "
            "at. Fix: write .json (poses and timestamps)"
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"--out {path}: folder {path.parent} does not exist; create it first"
        )
    return path


def _clean(values: np.ndarray) -> list:
    """Nested lists with NaN as None (JSON has no NaN)."""
    arr = np.asarray(values, np.float64)
    flat = [None if math.isnan(v) else round(float(v), 3) for v in arr.ravel()]
    return np.array(flat, dtype=object).reshape(arr.shape).tolist()


def run_to_dict(
    results: Sequence[LiveResult],
    summary: LiveSummary,
    node_names: Sequence[str],
    t0: float,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A run as plain data: summary, nodes and one entry per processed frame."""
    frames = []
    for r in results:
        frames.append(
            {
                "index": r.index,
                "t_due": round(r.t_due - t0, 6),
                "t_grab": round(r.t_grab - t0, 6),
                "t_start": round(r.t_start - t0, 6),
                "t_poses": round(r.t_poses - t0, 6),
                "t_decision": round(r.t_decision - t0, 6),
                "decision": r.decision
                if isinstance(r.decision, (bool, int, float, str, type(None)))
                else repr(r.decision),
                "points": _clean(r.poses.points),
                "point_scores": _clean(r.poses.point_scores),
                "instance_scores": _clean(r.poses.instance_scores),
            }
        )
    return {
        "summary": summary.to_dict(),
        "node_names": list(node_names),
        "times": "seconds from the source's start",
        **(extra or {}),
        "frames": frames,
    }


def save_run(
    path: str | Path,
    results: Sequence[LiveResult],
    summary: LiveSummary,
    skeleton: Any,
    t0: float,
    video: Path | None = None,
) -> Path:
    """Write the run to ``path`` (.slp or .json, checked by :func:`check_output`)."""
    path = check_output(path, video)
    if path.suffix.lower() == ".json":
        from napari_sleap.io.atomic import write_text

        names = [n.name for n in skeleton.nodes]
        data = run_to_dict(results, summary, names, t0)
        return write_text(path, json.dumps(data, indent=1, allow_nan=False))
    import sleap_io as sio

    from napari_sleap.infer.results import to_labeled_frame
    from napari_sleap.io.labels import save_labels

    sio_video = sio.Video.from_filename(str(video))
    frames = []
    for r in results:
        lf = to_labeled_frame(r.poses, sio_video, r.index, skeleton)
        if lf is not None:
            frames.append(lf)
    labels = sio.Labels(labeled_frames=frames, videos=[sio_video], skeletons=[skeleton])
    labels.provenance["napari_sleap.live"] = summary.to_dict()
    return save_labels(labels, path)
