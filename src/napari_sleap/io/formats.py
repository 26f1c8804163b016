"""Other tools' labels as sleap-io ``Labels``: DeepLabCut, COCO, SLEAP analysis, NWB.

sleap-io reads them all; this module decides which reader a path needs (by name
and content, never by guessing from a failed read) and turns a failure into an
error that names the file, the format it looked like and the fix.
:func:`napari_sleap.io.labels.load_labels` calls :func:`load_foreign` first, so
every command and the napari reader open these files like a ``.slp``.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import h5py
import sleap_io as sio


class ForeignLabelsError(ValueError):
    """A file that is not labels napari-sleap opens, or a foreign one it cannot read.

    (A sibling of :class:`napari_sleap.io.labels.LabelsFileError`, which is for
    SLEAP files; kept apart so this module does not import the labels module.)
    """


#: Format key -> what a user calls it.
FORMAT_NAMES = {
    "dlc": "DeepLabCut labels CSV",
    "dlc_project": "DeepLabCut project",
    "coco": "COCO keypoint JSON",
    "analysis_h5": "SLEAP analysis HDF5",
    "nwb": "NWB (ndx-pose) file",
}

#: One line listing what opens, for error messages.
SUPPORTED = (
    "SLEAP .slp/.pkg.slp; DeepLabCut project folder, config.yaml or "
    "CollectedData_*.csv; COCO keypoint .json; SLEAP analysis .h5; NWB .nwb"
)


def _is_coco(path: Path) -> bool:
    """A JSON object with COCO's ``images``/``annotations``/``categories`` lists."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and all(
        isinstance(data.get(k), list) for k in ("images", "annotations", "categories")
    )


def _is_dlc_h5(path: Path) -> bool:
    """A pandas HDF5 table as DeepLabCut writes (``df_with_missing``)."""
    try:
        with h5py.File(path, "r") as f:
            return "df_with_missing" in f
    except OSError:
        return False


def detect_format(path: str | os.PathLike) -> str | None:
    """The foreign labels format of ``path`` (a key of :data:`FORMAT_NAMES`), or None.

    None for ``.slp`` files and for anything not recognised.
    """
    from sleap_io.io import analysis_h5, dlc

    p = Path(path)
    name = p.name.lower()
    if name.endswith(".slp") or not p.exists():
        return None
    if p.is_dir() or name.endswith((".yaml", ".yml")):
        return "dlc_project" if dlc._is_dlc_project_path(p) else None
    if name.endswith(".csv"):
        return "dlc" if dlc.is_dlc_file(p) else None
    if name.endswith(".json"):
        return "coco" if _is_coco(p) else None
    if name.endswith((".h5", ".hdf5")):
        return "analysis_h5" if analysis_h5.is_analysis_h5_file(p) else None
    if name.endswith(".nwb"):
        return "nwb"
    return None


def is_labels_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` is labels napari-sleap opens (``.slp`` or a foreign format)."""
    return str(path).lower().endswith(".slp") or detect_format(path) is not None


def _read(kind: str, path: Path, search: list[str]) -> sio.Labels:
    if kind == "dlc":
        return sio.load_dlc(str(path), video_search_paths=search or None)
    if kind == "dlc_project":
        return sio.load_dlc_project(str(path), video_search_paths=search or None)
    if kind == "coco":
        return sio.load_coco(str(path))
    if kind == "analysis_h5":
        return sio.load_analysis_h5(str(path))
    return sio.load_nwb(str(path))


def _dlc_bodyparts(path: Path, kind: str) -> list[str]:
    """Body parts in the order of the DeepLabCut CSV's columns (the project's)."""
    if kind == "dlc_project":
        root = path if path.is_dir() else path.parent
        found = sorted((root / "labeled-data").glob("*/*.csv"))
        if not found:
            return []
        path = found[0]
    with open(path, newline="", encoding="utf-8") as fh:
        for _, row in zip(range(5), csv.reader(fh), strict=False):
            if row and row[0] == "bodyparts":
                return list(dict.fromkeys(c for c in row[1:] if c))
    return []


def _keep_dlc_order(labels: sio.Labels, path: Path, kind: str) -> None:
    """sleap-io sorts DeepLabCut body parts by name; put the project's order back."""
    if len(labels.skeletons) != 1:
        return
    order = _dlc_bodyparts(path, kind)
    if sorted(order) == sorted(labels.skeletons[0].node_names) and order != list(
        labels.skeletons[0].node_names
    ):
        labels.reorder_nodes(order)


def _fix_for(kind: str) -> str:
    return {
        "dlc": "check the CSV's three header rows (scorer, bodyparts, coords; "
        "multi-animal: scorer, individuals, bodyparts, coords) and that the "
        "image paths in its first column exist under the project's labeled-data/",
        "dlc_project": "check config.yaml and that labeled-data/<video>/ holds "
        "CollectedData_<scorer>.csv files",
        "coco": "check that the categories list keypoints and that the image "
        "file names resolve beside the JSON",
        "analysis_h5": "re-export it from SLEAP or napari-sleap",
        "nwb": "napari-sleap reads NWB files written by sleap-io (SLEAP); pose "
        "files of other tools: open them in movement",
    }[kind]


def load_foreign(
    path: str | os.PathLike, video_search_paths: list[str | os.PathLike] = ()
) -> sio.Labels | None:
    """Load ``path`` if it is another tool's labels; None for SLEAP files.

    Returns None for ``.slp`` files and for unrecognised HDF5 files (the caller
    checks those as SLEAP labels). Anything else that is not recognised raises
    with the list of formats that open.

    Raises:
        ForeignLabelsError: a recognised format that cannot be read, or a file
            napari-sleap does not open.
    """
    p = Path(path)
    kind = detect_format(p)
    if kind is None:
        if p.name.lower().endswith(".slp") or not p.exists():
            return None
        if p.is_file() and h5py.is_hdf5(p):
            if _is_dlc_h5(p):
                raise ForeignLabelsError(
                    f"{p}: a DeepLabCut .h5 (pandas) table; napari-sleap reads "
                    "DeepLabCut labels from the CSV beside it. Fix: open the "
                    "CollectedData_*.csv next to it, or the project's config.yaml"
                )
            return None  # perhaps a renamed .slp: checked as one
        what = "a folder" if p.is_dir() else "a file"
        raise ForeignLabelsError(
            f"{p}: {what} that is not labels napari-sleap opens. Supported: {SUPPORTED}"
        )
    search = [str(s) for s in video_search_paths]
    try:
        labels = _read(kind, p, search)
    except Exception as err:  # each reader raises its own types on bad input
        raise ForeignLabelsError(
            f"{p}: looks like a {FORMAT_NAMES[kind]} but could not be read "
            f"({type(err).__name__}: {err}). Fix: {_fix_for(kind)}"
        ) from err
    if kind.startswith("dlc"):
        _keep_dlc_order(labels, p, kind)
    if not labels.labeled_frames:
        raise ForeignLabelsError(
            f"{p}: a {FORMAT_NAMES[kind]} with no labeled frames; nothing to open. "
            f"Fix: {_fix_for(kind)}"
        )
    for i, skeleton in enumerate(labels.skeletons):
        if not skeleton.name:
            skeleton.name = "skeleton" if i == 0 else f"skeleton_{i}"
    labels.provenance.setdefault("imported_from", str(p))
    labels.provenance.setdefault("imported_format", kind)
    return labels
