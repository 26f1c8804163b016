"""NWB export through sleap-io's writer (ndx-pose), with atomic writes.

sleap-io chooses the NWB flavour: labels with user instances become training
annotations (``PoseTraining``), predictions become ``PoseEstimation`` series,
one per track. A pose series needs an identity, so untracked predictions with
more than one animal in a frame are refused with the fix (track them first)
instead of failing deep inside the writer.
"""

from __future__ import annotations

import os

import sleap_io as sio

from napari_sleap.export._common import atomic_output, check_exportable

NWB_FLAVOURS = ("auto", "annotations", "predictions")


def _check_predictions(labels: sio.Labels, source: str) -> None:
    for lf in labels:
        untracked = [i for i in lf.predicted_instances if i.track is None]
        if len(untracked) > 1:
            raise ValueError(
                f"{source}: frame {lf.frame_idx} has {len(untracked)} predicted "
                "instances without a track; NWB stores one pose series per animal. "
                "Fix: run `napari-sleap track` on it first, or export to "
                "analysis-h5/csv, which keep untracked animals"
            )


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


def write_nwb(
    labels: sio.Labels,
    path: str | os.PathLike,
    *,
    flavour: str = "auto",
    source: str = "labels",
) -> None:
    """Write ``labels`` to an ``.nwb`` file via sleap-io (atomically).

    Args:
        labels: Labels with one skeleton.
        path: Output file; must end in ``.nwb``.
        flavour: ``"auto"`` (annotations when any user instance exists, else
            predictions), ``"annotations"`` or ``"predictions"``.
        source: Name of the input, for error messages.
    """
    if not str(path).endswith(".nwb"):
        raise ValueError(f"{path}: NWB files must end in .nwb; rename the output")
    if flavour not in NWB_FLAVOURS:
        raise ValueError(f"NWB flavour {flavour!r}: expected one of {NWB_FLAVOURS}")
    check_exportable(labels, source)
    has_user = any(lf.has_user_instances for lf in labels)
    resolved = (
        flavour if flavour != "auto" else ("annotations" if has_user else "predictions")
    )
    if resolved == "predictions":
        _check_predictions(labels, source)
    else:
        _open_videos(labels, source)
    with atomic_output(path, suffix=".nwb") as tmp:
        tmp.unlink(missing_ok=True)  # the writer creates the file itself
        sio.save_nwb(labels, str(tmp), nwb_format=resolved)
