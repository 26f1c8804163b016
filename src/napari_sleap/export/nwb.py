"""NWB export: pose series per animal (ndx-pose), or SLEAP's training annotations.

Two flavours:

* ``predictions`` (poses): one file per animal in the layout movement and
  ndx-pose read with their defaults, at the video's real frame rate
  (:mod:`napari_sleap.export.nwb_poses`). User instances take precedence over
  predictions in a frame, so proofread and labeled files export too.
* ``annotations``: sleap-io's ``PoseTraining`` (training frames linked to the
  video), which SLEAP reads back but movement does not.

``auto`` picks poses whenever each frame's animals are told apart (tracked, or
one animal), else annotations for labeled files; untracked multi-animal
predictions are refused with the fix (track them first).
"""

from __future__ import annotations

import os
from pathlib import Path

import sleap_io as sio

from napari_sleap.export._common import atomic_output, check_exportable

NWB_FLAVOURS = ("auto", "annotations", "predictions")

#: Name given to a skeleton that has none (NWB needs one).
DEFAULT_SKELETON_NAME = "skeleton"


def _one_animal_per_frame(labels: sio.Labels) -> bool:
    for lf in labels:
        user = lf.user_instances
        if len(user if user else lf.predicted_instances) > 1:
            return False
    return True


def resolve_flavour(labels: sio.Labels, flavour: str) -> str:
    """The flavour ``auto`` stands for with these labels."""
    if flavour not in NWB_FLAVOURS:
        raise ValueError(f"NWB flavour {flavour!r}: expected one of {NWB_FLAVOURS}")
    if flavour != "auto":
        return flavour
    if labels.tracks or _one_animal_per_frame(labels):
        return "predictions"
    has_user = any(lf.has_user_instances for lf in labels)
    return "annotations" if has_user else "predictions"


def _open_videos(labels: sio.Labels, source: str) -> None:
    """Annotations reference their videos' frames, so each video must open."""
    for video in labels.videos:
        if video.backend is not None:
            continue
        if video.exists():
            video.open()
        else:
            raise ValueError(
                f"{source}: video {video.filename} not found; NWB annotations "
                "link to the video's frames. Fix: put the video beside the .slp "
                "(or relink it in the labels), or export to analysis-h5/csv"
            )


def _name_skeletons(labels: sio.Labels) -> None:
    """NWB names every skeleton; give unnamed ones (older predictions) a name."""
    taken = {s.name for s in labels.skeletons if s.name}
    for i, skeleton in enumerate(labels.skeletons):
        if not skeleton.name:
            name = DEFAULT_SKELETON_NAME if i == 0 else f"{DEFAULT_SKELETON_NAME}_{i}"
            while name in taken:
                name += "_"
            skeleton.name = name
            taken.add(name)


def write_nwb(
    labels: sio.Labels,
    path: str | os.PathLike,
    *,
    flavour: str = "auto",
    source: str = "labels",
    fps: float | None = None,
) -> list[Path]:
    """Write ``labels`` as NWB (atomically); returns the files written.

    Args:
        labels: Labels with one skeleton.
        path: Output file; must end in ``.nwb``. Poses of several animals go
            to ``<stem>.<track>.nwb`` beside it, one file per animal.
        flavour: ``"auto"``, ``"predictions"`` (pose series per animal) or
            ``"annotations"`` (SLEAP's training frames).
        source: Name of the input, for error messages.
        fps: Frame rate for the timestamps; default: the video's own.
    """
    path = Path(path)
    if path.suffix != ".nwb":
        raise ValueError(f"{path}: NWB files must end in .nwb; rename the output")
    check_exportable(labels, source)
    resolved = resolve_flavour(labels, flavour)
    _name_skeletons(labels)
    if resolved == "predictions":
        from napari_sleap.export.nwb_poses import write_pose_files

        _open_existing_videos(labels)
        return write_pose_files(labels, path, fps=fps, source=source)
    _open_videos(labels, source)
    with atomic_output(path, suffix=".nwb") as tmp:
        tmp.unlink(missing_ok=True)  # the writer creates the file itself
        sio.save_nwb(labels, str(tmp), nwb_format="annotations")
    return [path]


def _open_existing_videos(labels: sio.Labels) -> None:
    """Open the videos that exist, for their frame rate and size."""
    for video in labels.videos:
        if video.backend is None and video.exists():
            try:
                video.open()
            except Exception:  # an unreadable video only loses fps/size
                continue
