"""Load and save SLEAP labels (.slp) on sleap-io, with clear errors and safe saves.

sleap-io's ``Labels`` is the data model; this module only adds what a user needs
around it: errors that name the file and the fix, finding moved videos, atomic
saves, and a field-by-field comparison used to prove round trips lossless.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import h5py
import numpy as np
import sleap_io as sio

from napari_sleap.io.atomic import atomic_path
from napari_sleap.io.formats import load_foreign

__all__ = [
    "LabelsFileError",
    "MissingVideoError",
    "VideoMismatchError",
    "compare_labels",
    "is_embedded",
    "load_labels",
    "find_misfit_videos",
    "find_missing_videos",
    "save_labels",
    "video_search_paths",
]

#: Datasets every SLEAP labels file has; their absence means a damaged file.
_REQUIRED = ("metadata", "videos_json", "frames", "instances", "points")


class LabelsFileError(ValueError):
    """A labels file that cannot be read: not HDF5, truncated, or missing parts."""


class MissingVideoError(FileNotFoundError):
    """Videos referenced by a labels file were not found where they were looked for.

    Attributes:
        labels_path: The .slp file being loaded.
        missing: For each missing video, its recorded filename and the paths tried.
    """

    def __init__(self, labels_path: Path, missing: list[tuple[str, list[Path]]]):
        self.labels_path = labels_path
        self.missing = missing
        lines = [f"{labels_path}: {len(missing)} video(s) not found:"]
        for name, tried in missing:
            looked = ", ".join(str(p.absolute()) for p in tried)
            lines.append(f"  - {name!r} (looked for: {looked})")
        lines.append(
            "Fix: put the video(s) beside the labels file (a bare name is looked "
            "for there first), or pass the folder holding them with "
            "--video-search FOLDER (from Python: load_labels(path, "
            "video_search_paths=[folder]))."
        )
        super().__init__("\n".join(lines))


#: Folders the command line adds to every load's video search (--video-search).
_DEFAULT_SEARCH: ContextVar[tuple[Path, ...]] = ContextVar(
    "napari_sleap_video_search", default=()
)


@contextmanager
def video_search_paths(folders: Iterable[str | os.PathLike]) -> Iterator[None]:
    """Search ``folders`` for moved videos in every :func:`load_labels` inside."""
    token = _DEFAULT_SEARCH.set(tuple(Path(f) for f in folders))
    try:
        yield
    finally:
        _DEFAULT_SEARCH.reset(token)


def is_embedded(video: sio.Video) -> bool:
    """Whether the video's frames live inside a .slp/.pkg.slp file."""
    name = video.filename
    if isinstance(name, list):
        return False
    dataset = (video.backend_metadata or {}).get("dataset") or ""
    return str(name).endswith(".slp") or (dataset.startswith("video") and not name)


def _names(video: sio.Video) -> list[str]:
    name = video.filename
    return [str(n) for n in name] if isinstance(name, list) else [str(name)]


def _video_found(video: sio.Video) -> bool:
    return all(Path(n).exists() for n in _names(video))


def find_missing_videos(labels: sio.Labels) -> list[sio.Video]:
    """Videos of ``labels`` (not embedded) whose files do not exist on disk."""
    return [v for v in labels.videos if not is_embedded(v) and not _video_found(v)]


def find_misfit_videos(labels: sio.Labels) -> list[sio.Video]:
    """Videos whose file exists but cannot hold their labels (too short or small).

    :func:`load_labels` warns about them with ``missing_videos="warn"``; a viewer
    skips them as it skips missing ones, instead of showing the wrong video.
    """
    extents = _label_extent(labels)
    out = []
    for video in labels.videos:
        names = _names(video)
        if is_embedded(video) or len(names) != 1 or id(video) not in extents:
            continue
        path = Path(names[0])
        if path.exists() and _video_misfit(
            path, _probe_shape(path), extents[id(video)]
        ):
            out.append(video)
    return out


def _candidates(name: str, labels_dir: Path, search: list[Path]) -> list[Path]:
    """Where to look for a video recorded as ``name``, in order of preference."""
    # As SLEAP does: an absolute path as recorded; a relative or bare name beside
    # the labels file first (never a same-named file wherever the program was
    # started), then the search folders; the working directory comes last.
    recorded = Path(name.replace("\\", "/")) if "\\" in name else Path(name)
    out = []
    if recorded.is_absolute():
        out.append(recorded)
    else:
        out.append(labels_dir / recorded)
    out.append(labels_dir / recorded.name)
    out.extend(folder / recorded.name for folder in search)
    if not recorded.is_absolute():
        out.append(recorded)
    seen: set[Path] = set()
    return [p for p in out if not (p in seen or seen.add(p))]


class VideoMismatchError(ValueError):
    """A video was found but cannot hold the labels (too few frames, too small)."""


def _label_extent(labels: sio.Labels) -> dict[int, tuple[int, np.ndarray]]:
    """Per video (by id): the highest labeled frame index and all finite xy."""
    frames: dict[int, int] = {}
    points: dict[int, list[np.ndarray]] = {}
    for lf in labels.labeled_frames:
        key = id(lf.video)
        frames[key] = max(frames.get(key, -1), int(lf.frame_idx))
        for inst in lf.instances:
            xy = np.asarray(inst.numpy(), dtype=float).reshape(-1, 2)
            points.setdefault(key, []).append(xy[np.isfinite(xy).all(axis=1)])
    return {
        k: (frames[k], np.concatenate(points[k]) if points.get(k) else np.zeros((0, 2)))
        for k in frames
    }


def _video_misfit(
    path: Path, shape: tuple[int, ...] | None, extent: tuple[int, np.ndarray]
) -> str | None:
    """Why the video at ``path`` cannot hold the labels, or None when it can."""
    if shape is None or len(shape) < 3:
        return None
    n, h, w = int(shape[0]), int(shape[1]), int(shape[2])
    last, xy = extent
    if n > 0 and last >= n:
        return f"{path} has {n} frames ({w}x{h}) but the labels use frame {last}"
    if len(xy) and h > 0 and w > 0:
        margin = 2.0
        outside = (
            (xy[:, 0] < -margin)
            | (xy[:, 0] > w + margin)
            | (xy[:, 1] < -margin)
            | (xy[:, 1] > h + margin)
        )
        # A few absurd points are broken labels (training names them); a video
        # too small for many of them is the wrong video.
        if outside.sum() > max(1, 0.2 * len(xy)):
            mx, my = np.percentile(xy, 95, axis=0)
            return (
                f"{path} is {w}x{h} pixels but {int(outside.sum())} of {len(xy)} "
                f"labeled points lie outside it (95% of them reach x={mx:.4g}, "
                f"y={my:.4g})"
            )
    return None


def _probe_shape(path: Path) -> tuple[int, ...] | None:
    """(frames, height, width, channels) of a video file, None when unreadable."""
    try:
        video = sio.Video.from_filename(str(path))
        try:
            return tuple(video.shape) if video.shape is not None else None
        finally:
            video.close()
    except Exception:  # noqa: BLE001 - an unreadable video is checked elsewhere
        return None


def _relink_videos(
    labels: sio.Labels,
    labels_path: Path,
    search: list[Path],
    replace: Mapping[str, str | os.PathLike],
) -> tuple[list[tuple[str, list[Path]]], list[str]]:
    """Point videos at files that exist and fit the labels.

    Returns the videos still missing and, for videos found only in files that
    cannot hold their labels, why each candidate was refused.
    """
    still_missing: list[tuple[str, list[Path]]] = []
    misfits: list[str] = []
    extents = _label_extent(labels)
    for video in labels.videos:
        if is_embedded(video):
            continue
        names = _names(video)
        single = len(names) == 1
        new_names: list[str] = []
        tried_all: list[Path] = []
        refused: list[str] = []
        for name in names:
            target = replace.get(name, replace.get(Path(name).name))
            if target is not None:
                tried = [Path(target)]
            else:
                tried = _candidates(name, labels_path.parent, search)
            hit = None
            for cand in tried:
                if not cand.exists():
                    continue
                why = None
                if single and id(video) in extents:
                    why = _video_misfit(cand, _probe_shape(cand), extents[id(video)])
                if why is None:
                    hit = cand
                    break
                refused.append(why)
            if hit is None:
                tried_all.extend(tried)
            else:
                new_names.append(str(hit.resolve()))
        if tried_all:
            if refused:
                misfits.extend(refused)
            else:
                still_missing.append((", ".join(names), tried_all))
            if refused and single:
                # Name the place SLEAP would look (beside the labels), so no later
                # reader opens the refused same-named file by its relative name.
                video.close()
                beside = labels_path.parent.absolute() / Path(names[0]).name
                video.replace_filename(str(beside), open=False)
            continue
        changed = new_names != names
        if changed or video.backend is None:
            video.replace_filename(
                new_names if isinstance(video.filename, list) else new_names[0]
            )
    return still_missing, misfits


def _check_file(path: Path) -> None:
    """Raise a clear error if ``path`` is not a readable SLEAP labels file."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: labels file not found (check the path)")
    if path.is_dir():
        raise LabelsFileError(f"{path}: is a folder, expected a .slp labels file")
    size = path.stat().st_size
    if size == 0:
        raise LabelsFileError(
            f"{path}: file is empty (0 bytes); restore it from a backup"
        )
    if not h5py.is_hdf5(path):
        raise LabelsFileError(
            f"{path}: not an HDF5 file, so not a SLEAP .slp (it may be truncated "
            f"or another format; {size} bytes); restore it from a backup"
        )
    try:
        with h5py.File(path, "r") as f:
            absent = [name for name in _REQUIRED if name not in f]
    except OSError as err:
        raise LabelsFileError(
            f"{path}: HDF5 file cannot be opened ({err}); it is probably truncated "
            "or damaged; restore it from a backup"
        ) from err
    if absent:
        raise LabelsFileError(
            f"{path}: missing dataset(s) {', '.join(absent)}: not a complete SLEAP "
            "labels file (truncated or written by another program)"
        )


def _skeleton_problems(path: Path) -> list[str]:
    """Edges or symmetries of the file's skeletons that name a node it lacks."""
    try:
        with h5py.File(path, "r") as f:
            meta = json.loads(f["metadata"].attrs["json"])
        skeletons = meta.get("skeletons") or []
        names = [n.get("name") for n in meta.get("nodes") or []]
    except Exception:  # noqa: BLE001 - sleap-io reports unreadable metadata itself
        return []
    problems = []
    for k, sk in enumerate(skeletons):
        if not isinstance(sk, dict):
            continue
        ids = {n.get("id") for n in sk.get("nodes") or [] if isinstance(n, dict)}
        label = (sk.get("graph") or {}).get("name") or f"skeleton {k}"
        for e, link in enumerate(sk.get("links") or []):
            if not isinstance(link, dict):
                continue
            for end in ("source", "target"):
                node = link.get(end)
                if isinstance(node, int) and node not in ids:
                    known = ", ".join(
                        str(names[i])
                        for i in sorted(ids)
                        if isinstance(i, int) and 0 <= i < len(names)
                    )
                    problems.append(
                        f"{label!r} edge {e} has {end} node {node}, which the "
                        f"skeleton does not have (its nodes: {known})"
                    )
    return problems


def load_labels(
    path: str | os.PathLike,
    *,
    video_search_paths: Iterable[str | os.PathLike] = (),
    replace_videos: Mapping[str, str | os.PathLike] | None = None,
    missing_videos: str = "raise",
) -> sio.Labels:
    """Load a .slp file, finding its videos or saying exactly where it looked.

    Bare or moved video names are looked for beside the .slp file, then in each
    folder of ``video_search_paths``; ``replace_videos`` maps a recorded name (or
    its base name) to the file to use instead.

    Args:
        path: The .slp (or .pkg.slp) file.
        video_search_paths: Folders to search for videos by base name.
        replace_videos: Recorded video name (full or base name) -> new path.
        missing_videos: ``"raise"`` (default) raises :class:`MissingVideoError`;
            ``"ignore"`` returns the labels with those videos unopened;
            ``"warn"`` does the same after a warning with the error's text.

    Returns:
        The labels, videos opened where found.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        LabelsFileError: the file is not a readable SLEAP labels file.
        MissingVideoError: a video was not found and ``missing_videos="raise"``.
    """
    if missing_videos not in ("raise", "ignore", "warn"):
        raise ValueError(
            f"missing_videos={missing_videos!r}: expected 'raise', 'ignore' or 'warn'"
        )
    path = Path(path)
    video_search_paths = list(video_search_paths)
    # Other tools' labels (DeepLabCut, COCO, analysis HDF5, NWB): io/formats.py.
    labels = load_foreign(path, [*video_search_paths, *_DEFAULT_SEARCH.get()])
    if labels is None:
        _check_file(path)
        problems = _skeleton_problems(path)
        if problems:
            raise LabelsFileError(
                f"{path}: the skeleton is inconsistent: "
                + "; ".join(problems[:5])
                + ". Fix: restore the file from a backup, or load the skeleton from "
                "a good skeleton JSON in napari's Skeleton dock and save again"
            )
        try:
            labels = sio.load_slp(str(path))
        except Exception as err:  # sleap-io raises many types on damaged files
            raise LabelsFileError(
                f"{path}: cannot be read as SLEAP labels ({type(err).__name__}: "
                f"{err}); the file may be truncated or damaged; restore it from a "
                "backup"
            ) from err
    search = [Path(p) for p in video_search_paths]
    search.extend(p for p in _DEFAULT_SEARCH.get() if p not in search)
    missing, misfits = _relink_videos(labels, path, search, dict(replace_videos or {}))
    if misfits:
        mismatch = VideoMismatchError(
            f"{path}: a video file of the right name was found but cannot hold the "
            "labels, so it is not this project's video:\n  - "
            + "\n  - ".join(misfits)
            + "\nFix: put the labeled video beside the labels file, or pass its "
            "folder with --video-search FOLDER"
        )
        if missing_videos == "raise":
            raise mismatch
        if missing_videos == "warn":
            warnings.warn(str(mismatch), stacklevel=2)
    if missing and missing_videos == "raise":
        raise MissingVideoError(path, missing)
    if missing and missing_videos == "warn":
        warnings.warn(str(MissingVideoError(path, missing)), stacklevel=2)
    return labels


def save_labels(
    labels: sio.Labels, path: str | os.PathLike, *, embed: bool | str = False
) -> Path:
    """Save ``labels`` to ``path`` atomically: write beside it, then rename.

    A failure while writing leaves any previous file at ``path`` untouched.

    Args:
        labels: What to save.
        path: Target .slp file (``.pkg.slp`` with ``embed`` to include images).
        embed: sleap-io's ``embed`` choice: ``False`` keeps video references,
            ``"user"``/``"all"``/``True`` store the labeled frames' images.

    Returns:
        The saved path.
    """
    path = Path(path)
    if not path.name.endswith(".slp"):
        raise ValueError(f"{path}: labels files must end in .slp (or .pkg.slp)")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path}: folder {path.parent} does not exist")
    with atomic_path(path, suffix=".slp") as tmp:  # sleap-io creates the file
        sio.save_slp(labels, str(tmp), embed=embed, verbose=False)
    return path


def _instance_rows(labels: sio.Labels) -> list[tuple]:
    """One comparable record per instance, in file order."""
    video_index = {id(v): i for i, v in enumerate(labels.videos)}
    order = {id(i): k for k, i in enumerate(j for lf in labels for j in lf.instances)}
    rows = []
    for lf in labels.labeled_frames:
        for inst in lf.instances:
            pred = isinstance(inst, sio.PredictedInstance)
            source = inst.from_predicted
            rows.append(
                (
                    video_index[id(lf.video)],
                    lf.frame_idx,
                    pred,
                    inst.track.name if inst.track is not None else None,
                    inst.skeleton.name,
                    inst.points,
                    float(inst.score) if pred else None,
                    inst.tracking_score,
                    -1 if source is None else order.get(id(source), -2),
                )
            )
    return rows


def _points_equal(a: np.ndarray, b: np.ndarray) -> bool:
    fields = [f for f in a.dtype.names if f != "name"]
    if set(fields) != {f for f in b.dtype.names if f != "name"}:
        return False
    return all(np.array_equal(a[f], b[f], equal_nan=True) for f in fields)


def _skeleton_record(skel: sio.Skeleton) -> tuple:
    syms = sorted(tuple(sorted(s)) for s in skel.symmetry_inds)
    return (skel.name, tuple(skel.node_names), tuple(skel.edge_inds), tuple(syms))


def compare_labels(a: sio.Labels, b: sio.Labels) -> list[str]:
    """List the differences between two Labels (empty when nothing was lost).

    Compares skeletons (nodes, edges, symmetries), video names, track names,
    suggestions, and every instance's type, track, points (xy, visibility,
    completeness, point scores), scores and from_predicted link, frame by frame.
    """
    diffs: list[str] = []
    sa = [_skeleton_record(s) for s in a.skeletons]
    sb = [_skeleton_record(s) for s in b.skeletons]
    if sa != sb:
        diffs.append(f"skeletons differ: {sa} != {sb}")
    if [t.name for t in a.tracks] != [t.name for t in b.tracks]:
        diffs.append("track names differ")
    if len(a.videos) != len(b.videos):
        diffs.append(f"video count {len(a.videos)} != {len(b.videos)}")
    for i, (va, vb) in enumerate(zip(a.videos, b.videos, strict=False)):
        if Path(_names(va)[0]).name != Path(_names(vb)[0]).name and not (
            is_embedded(va) or is_embedded(vb)
        ):
            diffs.append(f"video {i} name {va.filename!r} != {vb.filename!r}")
    sug_a = [(a.videos.index(s.video), s.frame_idx) for s in a.suggestions]
    sug_b = [(b.videos.index(s.video), s.frame_idx) for s in b.suggestions]
    if sug_a != sug_b:
        diffs.append(f"suggestions differ ({len(sug_a)} vs {len(sug_b)})")
    ra, rb = _instance_rows(a), _instance_rows(b)
    if len(ra) != len(rb):
        diffs.append(f"instance count {len(ra)} != {len(rb)}")
    for k, (x, y) in enumerate(zip(ra, rb, strict=False)):
        where = f"instance {k} (video {x[0]}, frame {x[1]})"
        if x[:5] != y[:5]:
            diffs.append(f"{where}: identity differs {x[:5]} != {y[:5]}")
        if not _points_equal(x[5], y[5]):
            diffs.append(f"{where}: points differ")
        both = x[6] is not None and y[6] is not None
        if x[6] != y[6] and not (both and np.isclose(x[6], y[6])):
            diffs.append(f"{where}: score {x[6]} != {y[6]}")
        tx = np.nan if x[7] is None else x[7]
        ty = np.nan if y[7] is None else y[7]
        if not np.allclose(tx, ty, equal_nan=True):
            diffs.append(f"{where}: tracking score {x[7]} != {y[7]}")
        if x[8] != y[8]:
            diffs.append(f"{where}: from_predicted link {x[8]} != {y[8]}")
        if len(diffs) > 20:
            diffs.append("... (stopped after 20 differences)")
            break
    return diffs
