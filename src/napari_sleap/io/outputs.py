"""Check a command's output path before any work, so nothing a user has is lost.

Every command calls :func:`check_output_file` (or :func:`check_output_folder`)
first: an output that is one of the command's inputs is refused outright; an
existing file of another kind (a video, a labels file with user instances where
predictions go) is replaced only with ``--overwrite``; a missing or read-only
folder, or a folder where a file is wanted, is reported before hours of work.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import h5py

__all__ = [
    "OutputError",
    "check_output_file",
    "check_output_folder",
    "existing_kind",
    "same_file",
]

#: Extensions of files we treat as videos (never replaced without --overwrite).
_VIDEO_EXTS = frozenset(
    {".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".wmv", ".webm"}
    | {".ogv", ".flv", ".tif", ".tiff", ".zarr"}
)
#: What each kind of output may replace without --overwrite.
_REPLACEABLE: dict[str, frozenset[str]] = {
    "labels": frozenset({"labels", "predictions"}),
    "predictions": frozenset({"predictions"}),
    "analysis-h5": frozenset({"analysis-h5"}),
    "csv": frozenset({"csv"}),
    "nwb": frozenset({"nwb"}),
    "png": frozenset({"png"}),
    "json": frozenset({"json"}),
}


class OutputError(ValueError):
    """An output path that would lose data or cannot be written."""


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name the same file (links and relative paths included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def _labels_kind(path: Path) -> str | None:
    """'labels' (user instances), 'predictions' (none), or None: not a .slp."""
    try:
        with h5py.File(path, "r") as f:
            if "instances" not in f or "frames" not in f:
                if "tracks" in f and "node_names" in f:
                    return "analysis-h5"
                return "hdf5"
            inst = f["instances"]
            if "instance_type" not in inst.dtype.names:
                return "labels"
            types = inst["instance_type"]
            return "labels" if (len(types) and (types == 0).any()) else "predictions"
    except (OSError, KeyError, TypeError, ValueError):
        return None


def existing_kind(path: str | os.PathLike) -> str:
    """What an existing path holds, as far as replacing it is concerned.

    One of ``folder``, ``video``, ``labels`` (a .slp with user instances),
    ``predictions`` (a .slp with none), ``analysis-h5``, ``hdf5``, ``csv``,
    ``nwb``, ``png``, ``json`` or ``other``.
    """
    path = Path(path)
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5", ".slp", ".nwb") and h5py.is_hdf5(path):
        kind = _labels_kind(path)
        if kind in ("labels", "predictions", "analysis-h5"):
            return kind
        if suffix == ".nwb":
            return "nwb"
        return "video" if suffix in (".h5", ".hdf5") else (kind or "hdf5")
    if suffix in _VIDEO_EXTS:
        return "video"
    if suffix in (".csv", ".png", ".json"):
        return suffix[1:]
    return "other"


def _check_folder_writable(folder: Path, path: Path, option: str) -> None:
    if not folder.exists():
        raise OutputError(
            f"{option} {path}: folder {folder} does not exist. Fix: create it "
            f"(mkdir -p {folder}) or choose another {option}"
        )
    if not folder.is_dir():
        raise OutputError(
            f"{option} {path}: {folder} is a file, not a folder. Fix: choose "
            f"another {option}"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(
            f"{option} {path}: folder {folder} is not writable (read-only or "
            f"another user's). Fix: choose a writable {option}"
        )


def check_output_file(
    path: str | os.PathLike,
    *,
    kind: str,
    inputs: Iterable[str | os.PathLike] = (),
    overwrite: bool = False,
    option: str = "-o",
    make_folder: bool = False,
) -> Path:
    """Refuse an output file that would destroy data or cannot be written.

    Args:
        path: The output file.
        kind: What the command writes: ``labels``, ``predictions``,
            ``analysis-h5``, ``csv``, ``nwb``, ``png`` or ``json``.
        inputs: The command's input files; the output may never be one of them.
        overwrite: The user passed ``--overwrite``: an existing file of another
            kind may be replaced (an input still may not).
        option: The option's name in messages.
        make_folder: The command creates a missing folder (its nearest existing
            parent must be writable).

    Returns:
        ``path`` as a Path.

    Raises:
        OutputError: with the file, the reason and the fix.
    """
    path = Path(path)
    for source in inputs:
        if path.exists() and same_file(path, source):
            raise OutputError(
                f"{option} {path}: is an input of this command ({source}); writing "
                f"there would destroy it. Fix: choose another {option}"
            )
    if path.is_dir():
        raise OutputError(
            f"{option} {path}: is a folder; this command writes one file. Fix: give "
            f"a file name, e.g. {option} {path / ('out.' + _ending(kind))}"
        )
    folder = path.parent
    while make_folder and not folder.exists() and folder != folder.parent:
        folder = folder.parent
    _check_folder_writable(folder, path, option)
    if path.exists() or path.is_symlink():
        found = existing_kind(path)
        if found not in _REPLACEABLE.get(kind, frozenset({kind})) and not overwrite:
            what = {
                "labels": "a labels file holding user-labeled instances",
                "video": "a video",
            }.get(found, f"a file of another kind ({found})")
            raise OutputError(
                f"{option} {path}: exists and is {what}; this command would "
                f"replace it with {kind}. Fix: choose another {option}, or pass "
                "--overwrite to replace it"
            )
    return path


def _ending(kind: str) -> str:
    return {"labels": "slp", "predictions": "slp", "analysis-h5": "h5"}.get(kind, kind)


def check_output_folder(
    path: str | os.PathLike,
    *,
    inputs: Iterable[str | os.PathLike] = (),
    option: str = "-o",
) -> Path:
    """Refuse an output folder that is a file, an input, or cannot be made.

    A missing folder is fine when its parent can be written (it is made later).
    """
    path = Path(path)
    for source in inputs:
        src = Path(source)
        if path.exists() and same_file(path, src):
            raise OutputError(
                f"{option} {path}: is an input of this command. Fix: choose "
                f"another {option}"
            )
    if path.exists() and not path.is_dir():
        raise OutputError(
            f"{option} {path}: is a file ({existing_kind(path)}), but this command "
            f"writes a folder there. Fix: give a folder path, e.g. {option} "
            f"{path.with_suffix('')}_out"
        )
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise OutputError(
                f"{option} {path}: folder is not writable. Fix: choose a writable "
                f"{option}"
            )
        return path
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    _check_folder_writable(parent, path, option)
    return path
