"""Pose series as NWB files, one file per animal (ndx-pose ``PoseEstimation``).

NWB holds one subject per file, and readers follow that: movement's
``load_poses.from_nwb_file`` reads ``processing["behavior"]["PoseEstimation"]``
and names the individual after the file's ``identifier``. So each animal (a
track, or the single untracked animal) gets its own file with exactly that
layout, its identifier and subject id set to the track name, and one
``PoseEstimationSeries`` per node covering every frame ``0..n-1`` (NaN where the
node is absent) at the video's real frame rate. Every series of every file then
shares one time axis, and ``xarray.merge`` of the animals lines up.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sleap_io as sio

from napari_sleap.export._common import atomic_output, representatives

#: Name movement gives an untracked animal (its ``from_numpy`` default).
UNTRACKED_NAME = "id_0"

REFERENCE_FRAME = (
    "(x, y) in pixels of the video frame; (0, 0) is the centre of the top-left "
    "pixel, whose top-left corner is (-0.5, -0.5)"
)
CONFIDENCE_DEFINITION = (
    "Confidence of the predicted point (0..1); NaN for points a person placed "
    "and for frames where the point is absent"
)


@dataclass
class Animal:
    """One animal's poses in one video, frame-indexed from 0.

    Attributes:
        name: the track name (or :data:`UNTRACKED_NAME`).
        points: ``(n_frames, n_nodes, 2)`` with NaN where absent.
        scores: ``(n_frames, n_nodes)`` point confidences (NaN for user points).
    """

    name: str
    points: np.ndarray
    scores: np.ndarray


def _n_frames(labels: sio.Labels, video: sio.Video) -> int:
    """Frames in the video if it is readable, else up to the last labeled one."""
    last = max((int(lf.frame_idx) for lf in labels if lf.video is video), default=-1)
    try:
        n = int(video.shape[0]) if video.shape is not None else 0
    except Exception:  # an unreadable video only means its length is unknown
        n = 0
    return max(n, last + 1)


def split_animals(labels: sio.Labels, video: sio.Video, source: str) -> list[Animal]:
    """One :class:`Animal` per track (user instances preferred over predictions).

    Untracked data must have at most one animal per frame: NWB needs to know
    which animal each pose belongs to.
    """
    tracks = list(labels.tracks)
    skeleton = labels.skeletons[0]
    n_nodes = len(skeleton.nodes)
    n = _n_frames(labels, video)
    slots = len(tracks) if tracks else 1
    points = np.full((slots, n, n_nodes, 2), np.nan)
    scores = np.full((slots, n, n_nodes), np.nan)
    used = np.zeros(slots, bool)
    for lf in labels:
        if lf.video is not video:
            continue
        chosen, _ = representatives(lf, tracks)
        if not tracks and len(chosen) > 1:
            raise ValueError(
                f"{source}: frame {lf.frame_idx} has {len(chosen)} animals without "
                "a track; NWB stores one pose series per animal. Fix: run "
                "`napari-sleap track` on it first, or export to analysis-h5/csv, "
                "which keep untracked animals"
            )
        f = int(lf.frame_idx)
        for slot, inst in chosen.items():
            used[slot] = True
            points[slot, f] = inst.numpy()
            if isinstance(inst, sio.PredictedInstance):
                scores[slot, f] = inst.numpy(scores=True)[:, 2]
    names = [t.name for t in tracks] if tracks else [UNTRACKED_NAME]
    return [Animal(names[i], points[i], scores[i]) for i in range(slots) if used[i]]


def _safe(name: str) -> str:
    """A file-name-safe form of a track or video name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "animal"


def output_paths(
    path: Path, videos: list[str], animals: list[list[str]]
) -> list[list[Path]]:
    """File per (video, animal): ``path`` itself when there is only one.

    Otherwise ``<stem>.<animal>.nwb`` (and ``<stem>.<video>.<animal>.nwb`` with
    several videos) beside ``path``.
    """
    total = sum(len(a) for a in animals)
    if total == 1:
        return [[path] if a else [] for a in animals]
    out = []
    for video, names in zip(videos, animals, strict=True):
        prefix = path.stem + (f".{_safe(Path(video).stem)}" if len(videos) > 1 else "")
        out.append([path.with_name(f"{prefix}.{_safe(n)}.nwb") for n in names])
    return out


def _fps(video: sio.Video, fps: float | None, source: str) -> float:
    if fps is not None:
        if not np.isfinite(fps) or fps <= 0:
            raise ValueError(f"frame rate {fps!r}: give a positive number (--fps)")
        return float(fps)
    try:
        known = video.fps
    except Exception:  # unreadable video: same as unknown
        known = None
    if not known or not np.isfinite(known) or known <= 0:
        raise ValueError(
            f"{source}: the frame rate of {video.filename} is unknown (the video "
            "is missing or stores none), so NWB timestamps cannot be written. "
            "Fix: put the video beside the labels file, or give the frame rate "
            "(--fps 30)"
        )
    return float(known)


def write_animal(
    path: Path,
    animal: Animal,
    skeleton: sio.Skeleton,
    video: sio.Video,
    fps: float,
    provenance: dict,
) -> None:
    """Write one animal's poses to ``path`` (atomically) in movement's layout."""
    from ndx_pose import PoseEstimation, PoseEstimationSeries, Skeleton, Skeletons
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.file import Subject

    from napari_sleap import __version__

    subject = Subject(subject_id=animal.name, description="tracked animal")
    nwbfile = NWBFile(
        session_description=f"Poses of {animal.name} in {Path(video.filename).name}",
        identifier=animal.name,
        session_start_time=datetime.datetime.now(datetime.timezone.utc),
        subject=subject,
    )
    behavior = nwbfile.create_processing_module(
        name="behavior", description="processed behavioral data"
    )
    node_names = [n.name for n in skeleton.nodes]
    nwb_skeleton = Skeleton(
        name=skeleton.name or "skeleton",
        nodes=node_names,
        edges=np.asarray(skeleton.edge_inds, dtype="uint16").reshape(-1, 2),
        subject=subject,
    )
    behavior.add(Skeletons(skeletons=[nwb_skeleton]))
    camera = nwbfile.create_device(
        name="camera", description=f"Camera of {video.filename}"
    )
    series = [
        PoseEstimationSeries(
            name=node,
            description=f"Position of {node} of {animal.name}",
            data=animal.points[:, k, :],
            unit="pixels",
            reference_frame=REFERENCE_FRAME,
            confidence=animal.scores[:, k],
            confidence_definition=CONFIDENCE_DEFINITION,
            rate=fps,
            starting_time=0.0,
        )
        for k, node in enumerate(node_names)
    ]
    kwargs = {}
    shape = _frame_shape(video)
    if shape is not None:
        kwargs["dimensions"] = np.array([shape], dtype="uint16")
    pose = PoseEstimation(
        name="PoseEstimation",
        pose_estimation_series=series,
        description=f"Estimated positions of {', '.join(node_names)} of {animal.name}",
        original_videos=[str(video.filename)],
        devices=[camera],
        scorer=str(provenance.get("model_paths") or provenance.get("scorer") or ""),
        source_software="napari-sleap",
        source_software_version=__version__,
        skeleton=nwb_skeleton,
        **kwargs,
    )
    behavior.add(pose)
    with atomic_output(path, suffix=".nwb") as tmp:
        tmp.unlink(missing_ok=True)  # the writer creates the file itself
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)


def _frame_shape(video: sio.Video) -> tuple[int, int] | None:
    try:
        shape = video.shape
    except Exception:  # unreadable video: dimensions are optional
        return None
    return (int(shape[1]), int(shape[2])) if shape is not None else None


def write_pose_files(
    labels: sio.Labels,
    path: Path,
    *,
    fps: float | None = None,
    source: str = "labels",
) -> list[Path]:
    """Write one NWB file per animal per video; returns the files written."""
    videos = [v for v in labels.videos if any(lf.video is v for lf in labels)]
    animals = [split_animals(labels, v, source) for v in videos]
    rates = [_fps(v, fps, source) for v in videos]
    paths = output_paths(
        Path(path),
        [str(v.filename) for v in videos],
        [[a.name for a in x] for x in animals],
    )
    written = []
    for video, rate, group, targets in zip(videos, rates, animals, paths, strict=True):
        for animal, target in zip(group, targets, strict=True):
            write_animal(
                target, animal, labels.skeletons[0], video, rate, labels.provenance
            )
            written.append(target)
    return written
