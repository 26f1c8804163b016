"""Load and save SLEAP labels (.slp) on sleap-io, with clear errors and safe saves.

sleap-io's ``Labels`` is the data model; this module only adds what a user needs
around it: errors that name the file and the fix, finding moved videos, atomic
saves, and a field-by-field comparison used to prove round trips lossless.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import h5py
import numpy as np
import sleap_io as sio

__all__ = [
    "LabelsFileError",
    "MissingVideoError",
    "compare_labels",
    "is_embedded",
    "load_labels",
    "find_missing_videos",
    "save_labels",
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
            "Fix: pass video_search_paths=[folder, ...] (folders holding the "
            "videos) or replace_videos={old_name: new_path} to load_labels, or "
            "missing_videos='ignore' to open the labels without their videos."
        )
        super().__init__("\n".join(lines))


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


def _candidates(name: str, labels_dir: Path, search: list[Path]) -> list[Path]:
    """Where to look for a video recorded as ``name``, in order of preference."""
    recorded = Path(name)
    out = [recorded]
    if not recorded.is_absolute():
        out.append(labels_dir / recorded)
    out.append(labels_dir / recorded.name)
    out.extend(folder / recorded.name for folder in search)
    seen: set[Path] = set()
    return [p for p in out if not (p in seen or seen.add(p))]


def _relink_videos(
    labels: sio.Labels,
    labels_path: Path,
    search: list[Path],
    replace: Mapping[str, str | os.PathLike],
) -> list[tuple[str, list[Path]]]:
    """Point videos at files that exist; return those still missing."""
    still_missing: list[tuple[str, list[Path]]] = []
    for video in labels.videos:
        if is_embedded(video):
            continue
        names = _names(video)
        new_names: list[str] = []
        tried_all: list[Path] = []
        for name in names:
            target = replace.get(name, replace.get(Path(name).name))
            if target is not None:
                tried = [Path(target)]
            else:
                tried = _candidates(name, labels_path.parent, search)
            hit = next((p for p in tried if p.exists()), None)
            if hit is None:
                tried_all.extend(tried)
            else:
                new_names.append(str(hit.resolve()))
        if tried_all:
            still_missing.append((", ".join(names), tried_all))
            continue
        changed = new_names != names
        if changed or video.backend is None:
            video.replace_filename(
                new_names if isinstance(video.filename, list) else new_names[0]
            )
    return still_missing


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
    _check_file(path)
    try:
        labels = sio.load_slp(str(path))
    except Exception as err:  # sleap-io raises many types on damaged files
        raise LabelsFileError(
            f"{path}: cannot be read as SLEAP labels ({type(err).__name__}: {err}); "
            "the file may be truncated or damaged; restore it from a backup"
        ) from err
    search = [Path(p) for p in video_search_paths]
    missing = _relink_videos(labels, path, search, dict(replace_videos or {}))
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
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp.slp", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()  # sleap-io creates the file itself
        sio.save_slp(labels, str(tmp), embed=embed, verbose=False)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
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
        if x[6] != y[6] and not (x[6] is not None and np.isclose(x[6], y[6])):
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
