"""Helpers every exporter shares: atomic writes and which instance stands for a track.

All formats agree on one rule so that an analysis HDF5, a CSV and an NWB file
of the same labels hold the same poses: in each frame, a track is represented by
its user-labeled instance when there is one, otherwise by its highest-scoring
prediction (SLEAP's analysis export prefers user instances the same way).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sleap_io as sio

from napari_sleap.io.atomic import atomic_path


@contextmanager
def atomic_output(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a partial path beside ``path``; move it into place on success.

    A failed export leaves any previous file untouched and no partial file
    (:func:`napari_sleap.io.atomic.atomic_path`).

    Args:
        path: The final file.
        suffix: Extension the temporary file must keep (some writers check it).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"{path}: output folder {path.parent} does not exist; create it first"
        )
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; give a file name for the export")
    with atomic_path(path, suffix=suffix) as tmp:
        yield tmp


def representatives(
    lf: sio.LabeledFrame, tracks: list[sio.Track]
) -> tuple[dict[int, sio.Instance], list[sio.Instance]]:
    """Pick one instance per track in a frame, user instances first.

    Args:
        lf: The frame.
        tracks: The project's tracks; an empty list means untracked data, where
            the frame's user instances (or, if none, its predictions) fill slots
            0, 1, ... in file order.

    Returns:
        ``({slot: instance}, dropped)`` where ``dropped`` are instances not
        exported: duplicates on a track, or untracked ones in a tracked project.
    """
    user = list(lf.user_instances)
    pred = list(lf.predicted_instances)
    if not tracks:
        chosen = user if user else pred
        dropped = pred if user else []
        return dict(enumerate(chosen)), dropped
    slot_of = {id(t): i for i, t in enumerate(tracks)}
    out: dict[int, sio.Instance] = {}
    dropped: list[sio.Instance] = []
    ordered = user + sorted(pred, key=lambda i: -float(i.score))
    for inst in ordered:
        slot = slot_of.get(id(inst.track)) if inst.track is not None else None
        if slot is None or slot in out:
            dropped.append(inst)
        else:
            out[slot] = inst
    return out, dropped


def select_frames(labels: sio.Labels, frames: Iterable[int] | None) -> sio.Labels:
    """Labels restricted to the given frame indices (all videos); same objects."""
    if frames is None:
        return labels
    wanted = set(int(f) for f in frames)
    return sio.Labels(
        labeled_frames=[lf for lf in labels if int(lf.frame_idx) in wanted],
        videos=list(labels.videos),
        skeletons=list(labels.skeletons),
        tracks=list(labels.tracks),
        provenance=dict(labels.provenance),
    )


def check_exportable(labels: sio.Labels, source: str) -> None:
    """Raise a clear error for labels that have nothing to export."""
    if not labels.skeletons:
        raise ValueError(f"{source}: has no skeleton, so there are no poses to export")
    if len(labels.skeletons) > 1:
        raise ValueError(
            f"{source}: has {len(labels.skeletons)} skeletons; exports hold one. "
            "Split the file by skeleton first"
        )
    if not len(labels):
        raise ValueError(
            f"{source}: has no labeled frames (check --frames, or predict first)"
        )
