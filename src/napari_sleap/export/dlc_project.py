"""A DeepLabCut project from labels: ``config.yaml`` + ``labeled-data/``.

DeepLabCut (and napari-deeplabcut) keep each labeled frame as a PNG in
``labeled-data/<video>/`` beside ``CollectedData_<scorer>.csv``; this writes
exactly that from the labeled frames (one pose per track and frame, user
instances first), so a SLEAP project moves to DeepLabCut in one step and
:func:`napari_sleap.io.labels.load_labels` reads it straight back. DeepLabCut
builds its ``.h5`` from the CSV (``deeplabcut.convertcsv2h5``).

The project appears atomically: it is written beside the target and renamed.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import sleap_io as sio

from napari_sleap.export._common import check_exportable, representatives


def _stem(video: sio.Video, index: int, taken: set[str]) -> str:
    name = video.filename
    stem = Path(name[0] if isinstance(name, list) else str(name)).stem or "video"
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)
    out = stem
    while out in taken:
        out = f"{stem}_{index}"
        index += 1
    taken.add(out)
    return out


def _animals(labels: sio.Labels) -> list[str]:
    if labels.tracks:
        return [t.name for t in labels.tracks]
    most = max(len(representatives(lf, [])[0]) for lf in labels)
    return [f"animal{i + 1}" for i in range(max(most, 1))]


def _rows(labels, video, stem, animals, nodes) -> tuple[list[list[str]], dict]:
    """CSV data rows of one video and the frames (index -> PNG name) they need."""
    rows, images = [], {}
    frames = sorted(
        (lf for lf in labels if lf.video is video), key=lambda f: f.frame_idx
    )
    digits = max(4, len(str(max((int(lf.frame_idx) for lf in frames), default=0))))
    for lf in frames:
        chosen, _ = representatives(lf, list(labels.tracks))
        if not chosen:
            continue
        name = f"img{int(lf.frame_idx):0{digits}d}.png"
        images[int(lf.frame_idx)] = name
        row = ["labeled-data", stem, name]
        for slot in range(len(animals)):
            inst = chosen.get(slot)
            pts = (
                inst.numpy(invisible_as_nan=True)
                if inst is not None
                else np.full((len(nodes), 2), np.nan)
            )
            row += ["" if np.isnan(v) else repr(float(v)) for v in pts.ravel()]
        rows.append(row)
    return rows, images


def _header(scorer: str, animals: list[str], nodes: list[str]) -> list[list[str]]:
    cols = [(a, n, c) for a in animals for n in nodes for c in ("x", "y")]
    head = [["scorer", "", ""] + [scorer] * len(cols)]
    if len(animals) > 1:
        head.append(["individuals", "", ""] + [a for a, _, _ in cols])
    head.append(["bodyparts", "", ""] + [n for _, n, _ in cols])
    head.append(["coords", "", ""] + [c for _, _, c in cols])
    return head


def _config(labels, scorer, animals, nodes, video_sets) -> str:
    """A DeepLabCut config.yaml (JSON flow style is valid YAML)."""
    skeleton = labels.skeletons[0]
    multi = len(animals) > 1
    fields = {
        "Task": "napari-sleap",
        "scorer": scorer,
        "date": datetime.date.today().strftime("%b%d"),
        "multianimalproject": multi,
        "identity": bool(labels.tracks) and multi,
        "project_path": "",
        "video_sets": video_sets,
        "individuals": animals if multi else None,
        "uniquebodyparts": [] if multi else None,
        "multianimalbodyparts": nodes if multi else None,
        "bodyparts": "MULTI!" if multi else nodes,
        "skeleton": [list(e) for e in skeleton.edge_names],
        "numframes2pick": 20,
    }
    lines = [f"{k}: {json.dumps(v)}" for k, v in fields.items() if v is not None]
    return "\n".join(lines) + "\n"


def write_dlc_project(
    labels: sio.Labels,
    out_dir: str | os.PathLike,
    *,
    scorer: str = "napari-sleap",
    source: str = "labels",
) -> int:
    """Write ``labels`` as a DeepLabCut project folder; returns frames written.

    Args:
        labels: Labels with one skeleton; every labeled video must open (its
            frames become the PNGs).
        out_dir: The project folder to create (must not exist, or be empty).
        scorer: DeepLabCut's scorer name (``CollectedData_<scorer>.csv``).
        source: Name of the input, for error messages.
    """
    check_exportable(labels, source)
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(
            f"{out}: exists and is not an empty folder; a DeepLabCut project is a "
            "new folder. Fix: choose a new -o"
        )
    if not all(c.isalnum() or c in "-_" for c in scorer):
        raise ValueError(f"scorer {scorer!r}: use letters, digits, - and _ only")
    nodes = list(labels.skeletons[0].node_names)
    animals = _animals(labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        taken: set[str] = set()
        video_sets, written = {}, 0
        for vi, video in enumerate(labels.videos):
            stem = _stem(video, vi, taken)
            rows, images = _rows(labels, video, stem, animals, nodes)
            if not rows:
                continue
            folder = tmp / "labeled-data" / stem
            folder.mkdir(parents=True)
            written += _write_images(video, images, folder, source)
            with open(folder / f"CollectedData_{scorer}.csv", "w", newline="") as fh:
                csv.writer(fh).writerows(_header(scorer, animals, nodes) + rows)
            shape = video.shape
            crop = f"0, {shape[2]}, 0, {shape[1]}" if shape is not None else ""
            video_sets[str(video.filename)] = {"crop": crop}
        (tmp / "config.yaml").write_text(
            _config(labels, scorer, animals, nodes, video_sets)
        )
        if out.exists():
            out.rmdir()
        tmp.replace(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return written


def _write_images(video: sio.Video, images: dict[int, str], folder: Path, source):
    import cv2

    for frame_idx, name in images.items():
        try:
            img = np.asarray(video[frame_idx])
        except Exception as err:  # decoders raise many types
            raise ValueError(
                f"{source}: frame {frame_idx} of {video.filename} could not be read "
                f"({type(err).__name__}: {err}); DeepLabCut projects hold the "
                "labeled frames as images. Fix: put the video beside the labels"
            ) from err
        if img.ndim == 3 and img.shape[-1] == 3:
            img = img[..., ::-1]  # OpenCV writes BGR
        if not cv2.imwrite(str(folder / name), img):
            raise ValueError(f"{folder / name}: could not be written")
    return len(images)
