"""Result parts of a prediction run: frame readers, packing, names, fingerprints.

A long run writes its poses chunk by chunk as compact ``.npz`` parts in a
folder beside its output (``OUT.slp.parts/``), so a killed run resumes at the
first missing part. The single-process :func:`napari_sleap.infer.predict.predict`
and the dask batch tasks (:mod:`napari_sleap.distributed`) share these helpers,
so both write the same parts under the same names and either can finish what
the other started.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from napari_sleap.infer.results import FramePoses
from napari_sleap.io.atomic import atomic_path

#: The file in a part folder naming the run its parts belong to.
MANIFEST = "manifest.json"

#: Predictor options that change speed, not results: a resume may vary them.
SPEED_ONLY_OPTIONS = ("prefetch", "batch_size")


def checked_open(open_fn: Callable[[Any], Any], what: Any) -> Any:
    """Call ``open_fn(what)``; any decoder failure becomes an error naming the file.

    ``FileNotFoundError`` and ``ValueError`` (already clear) pass through.

    Raises:
        ValueError: the video cannot be read, naming it and what to do.
    """
    try:
        return open_fn(what)
    except (FileNotFoundError, ValueError):
        raise
    except Exception as err:  # decoders raise many types on bad files
        name = getattr(what, "filename", what)
        raise ValueError(
            f"{name}: the video cannot be read ({type(err).__name__}: {err}); it "
            "may be empty or damaged: check that it plays, or re-encode it"
        ) from err


def open_frames(video: Any) -> Any:
    """A frame reader for a ``sleap_io.Video``, refusing unreadable or empty ones.

    Raises:
        FileNotFoundError: the video's file is missing.
        ValueError: the file cannot be decoded or has no frames.
    """
    from napari_sleap.io.video import open_sleap_video

    reader = checked_open(open_sleap_video, video)
    if reader.n_frames == 0:
        reader.close()
        raise ValueError(f"{reader.path}: the video has no frames")
    return reader


def pack_poses(
    frame_inds: Sequence[int], poses: Sequence[FramePoses], n_nodes: int
) -> dict[str, np.ndarray]:
    """Flat arrays of the poses of several frames (one part's content).

    Instances of all frames are concatenated; ``counts`` says how many belong
    to each frame of ``frame_inds``. Missing identity fields become -1 / 0.
    """
    counts = np.array([len(p) for p in poses], np.int32)

    def cat(get, shape, dtype=np.float32):
        arrays = [get(p) for p in poses if len(p)]
        return (
            np.concatenate(arrays).astype(dtype) if arrays else np.zeros(shape, dtype)
        )

    return {
        "frame_inds": np.asarray(frame_inds, np.int64),
        "counts": counts,
        "points": cat(lambda p: p.points, (0, n_nodes, 2)),
        "point_scores": cat(lambda p: p.point_scores, (0, n_nodes)),
        "instance_scores": cat(lambda p: p.instance_scores, (0,)),
        "class_inds": cat(
            lambda p: p.class_inds if p.class_inds is not None else np.full(len(p), -1),
            (0,),
            np.int32,
        ),
        "class_scores": cat(
            lambda p: (
                p.class_scores if p.class_scores is not None else np.zeros(len(p))
            ),
            (0,),
        ),
    }


def unpack_poses(data: Mapping[str, np.ndarray]) -> list[tuple[int, FramePoses]]:
    """The ``(frame index, poses)`` pairs of a part packed by :func:`pack_poses`."""
    out = []
    start = 0
    for f, n in zip(data["frame_inds"], data["counts"], strict=True):
        sl = slice(start, start + int(n))
        start += int(n)
        poses = FramePoses(
            data["points"][sl].astype(np.float64),
            data["point_scores"][sl].astype(np.float64),
            data["instance_scores"][sl].astype(np.float64),
            data["class_inds"][sl],
            data["class_scores"][sl].astype(np.float64),
        )
        out.append((int(f), poses))
    return out


def save_part(path: Path, data: Mapping[str, np.ndarray]) -> None:
    """Write a part atomically, through a temporary name no other writer shares.

    A cancelled dask task may still be running when its retry writes the same
    part; unique temporary names keep the two from clobbering each other.
    """
    with atomic_path(path, suffix=".npz", fsync=False) as tmp:
        np.savez(tmp, **data)


def part_name(video_index: int, chunk_index: int) -> str:
    """File name of a chunk's part: ``v<video>-<chunk>.npz``, sorting in order."""
    return f"v{video_index:03d}-{chunk_index:06d}.npz"


def parts_folder(output: str | Path) -> Path:
    """Where the parts of ``output`` live: ``OUT.slp.parts`` beside it."""
    output = Path(output)
    return output.with_name(output.name + ".parts")


def run_fingerprint(
    model_dirs: Iterable[str | Path],
    jobs: Iterable[tuple[str, Sequence[int]]],
    options: Any,
    chunk_frames: int,
) -> str:
    """A digest of what decides a run's parts: models, inputs, settings, chunking.

    Args:
        model_dirs: the pipeline's model folders.
        jobs: ``(video name, frame indices)`` per video, in order.
        options: the :class:`~napari_sleap.infer.predictor.PredictorOptions`
            (a dataclass); options in :data:`SPEED_ONLY_OPTIONS` are left out.
        chunk_frames: frames per part.
    """
    from napari_sleap.infer.tta import resolve_for_dirs

    model_dirs = list(model_dirs)
    settings = asdict(options)
    if "tta" in settings:  # "auto" and the mode it stands for are one run
        settings["tta"] = resolve_for_dirs(settings["tta"], model_dirs)
    spec = {
        "chunk_frames": chunk_frames,
        "models": [str(Path(d).resolve()) for d in model_dirs],
        "jobs": [(str(source), list(frames)) for source, frames in jobs],
        "options": {
            k: str(v) for k, v in settings.items() if k not in SPEED_ONLY_OPTIONS
        },
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def open_parts_folder(output: str | Path, fingerprint: str) -> Path:
    """The part folder of ``output`` for this run, created if new.

    Raises:
        ValueError: the folder holds parts of another run (other models,
            inputs or settings), naming it and how to go on.
    """
    parts = parts_folder(output)
    manifest = parts / MANIFEST
    if manifest.exists():
        old = json.loads(manifest.read_text()).get("fingerprint")
        if old != fingerprint:
            raise ValueError(
                f"{parts} holds a partial run with other models, inputs or "
                "settings; delete that folder to start over, or rerun with the "
                "same arguments to resume it"
            )
    else:
        parts.mkdir(parents=True, exist_ok=True)
        manifest.write_text(json.dumps({"fingerprint": fingerprint}))
    return parts
