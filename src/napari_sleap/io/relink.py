"""Point a labels file's video at a new place, refusing a video that cannot be it.

What SLEAP's "missing video" dialog does, without a GUI: take the file a user
chose (or search a folder for the recorded name), check that it fits the labels
(the frame size the file recorded, the frames and points the labels use), and
only then relink the video, so a later save writes the new path.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import sleap_io as sio

from napari_sleap.io.labels import (
    VideoMismatchError,
    _label_extent,
    _probe_shape,
    _video_misfit,
    find_misfit_videos,
    find_missing_videos,
)

__all__ = ["misfit_reason", "relink_video", "search_folder", "unusable_videos"]

#: Folder levels below the chosen folder that :func:`search_folder` looks into.
SEARCH_DEPTH = 3


def unusable_videos(labels: sio.Labels) -> list[sio.Video]:
    """Videos of ``labels`` with no usable file: missing, or not the labeled video."""
    return [*find_missing_videos(labels), *find_misfit_videos(labels)]


def recorded_name(video: sio.Video) -> str:
    """The base name the labels file records for ``video`` (Windows paths too)."""
    name = video.filename
    name = name[0] if isinstance(name, (list, tuple)) else name
    return Path(str(name).replace("\\", "/")).name


def _needed(labels: sio.Labels, video: sio.Video) -> str:
    """What the labels need of their video, in words (size, frames)."""
    shape = (video.backend_metadata or {}).get("shape")
    if shape is not None and len(shape) >= 3:
        n, h, w = (int(s) for s in shape[:3])
        return f"the labels were made on a {w}x{h} video of {n} frames"
    extent = _label_extent(labels).get(id(video))
    if extent is None:
        return "the labels record no size for it"
    last, xy = extent
    words = f"the labels use frames up to {last}"
    if len(xy):
        mx, my = np.ceil(np.percentile(xy, 95, axis=0))
        words += f" and points up to {int(mx)}x{int(my)} pixels"
    return words


def misfit_reason(labels: sio.Labels, video: sio.Video, path: Path) -> str | None:
    """Why the file at ``path`` cannot be ``video`` of ``labels``; None if it fits.

    The reason names both sizes: the chosen file's and the one the labels need.
    """
    shape = _probe_shape(path)
    if shape is None or len(shape) < 3:
        return f"{path}: not a readable video (choose the video file itself)"
    n, h, w = (int(s) for s in shape[:3])
    recorded = (video.backend_metadata or {}).get("shape")
    wrong_size = (
        recorded is not None
        and len(recorded) >= 3
        and (int(recorded[1]), int(recorded[2])) != (h, w)
    )
    extent = _label_extent(labels).get(id(video))
    fits = extent is None or _video_misfit(path, shape, extent) is None
    if fits and not wrong_size:
        return None
    return (
        f"{path} is {w}x{h} with {n} frames, but {_needed(labels, video)}: it is "
        f"not the labeled video. Fix: choose the video the labels were made on"
    )


def relink_video(labels: sio.Labels, video: sio.Video, path: str | os.PathLike) -> Path:
    """Point ``video`` at ``path`` once it is checked to fit ``labels``.

    Returns:
        The absolute path now recorded for the video.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        VideoMismatchError: the file cannot be the labeled video (sizes named).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no such file (choose the video {recorded_name(video)!r})"
        )
    why = misfit_reason(labels, video, path)
    if why is not None:
        raise VideoMismatchError(why)
    path = path.resolve()
    video.close()
    video.replace_filename(str(path))
    return path


def _same_named(folder: Path, name: str) -> list[Path]:
    """Files called ``name`` in ``folder`` and up to SEARCH_DEPTH levels below."""
    found = []
    base = len(folder.parts)
    for root, dirs, files in os.walk(folder):
        if len(Path(root).parts) - base >= SEARCH_DEPTH:
            dirs[:] = []
        dirs.sort()
        found.extend(Path(root) / f for f in files if f == name)
    return found


def search_folder(
    labels: sio.Labels, video: sio.Video, folder: str | os.PathLike
) -> Path:
    """Find ``video``'s file by its recorded name under ``folder`` and relink it.

    Returns:
        The path the video now points at.

    Raises:
        FileNotFoundError: no file of that name under the folder.
        VideoMismatchError: only files that cannot be the labeled video.
    """
    folder = Path(folder).expanduser()
    name = recorded_name(video)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder (choose where {name} is)")
    refused = []
    for cand in _same_named(folder, name):
        why = misfit_reason(labels, video, cand)
        if why is None:
            return relink_video(labels, video, cand)
        refused.append(why)
    if refused:
        raise VideoMismatchError("; ".join(refused))
    raise FileNotFoundError(
        f"{folder}: no {name} in it or {SEARCH_DEPTH} folder levels below "
        "(choose another folder, or the file itself)"
    )
