"""The work list of a batch run: which videos, which outputs, which frame chunks.

Pure bookkeeping with no dask or TensorFlow, so it is cheap to test. Chunks of
one video use the same part files as :func:`napari_sleap.infer.predict.predict`
(``OUT.slp.parts/``), so a video's finishing step is that very function and
its output matches the single-process predictor's exactly.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Suffix of each video's output, as SLEAP names its predictions.
OUTPUT_SUFFIX = ".predictions.slp"


@dataclass
class Chunk:
    """Frames of one video predicted by one task, written to one part file."""

    index: int
    frames: list[int]
    part: Path


@dataclass
class VideoPlan:
    """One video of the batch: its frames, chunks and output file.

    Attributes:
        error: why the video cannot be predicted (unreadable, damaged, frames
            out of its range, a foreign part folder ...); None when it can.
            Such a video is reported and skipped; the others still run.
    """

    video: Path
    output: Path
    frames: list[int]
    chunks: list[Chunk] = field(default_factory=list)
    done: bool = False
    error: str | None = None

    @property
    def n_frames(self) -> int:
        """Frames this run predicts for the video."""
        return len(self.frames)

    def todo(self) -> list[Chunk]:
        """Chunks whose part file is not on disk yet."""
        return [c for c in self.chunks if not c.part.exists()]


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Video paths from paths and glob patterns, in order, without duplicates.

    Raises:
        FileNotFoundError: a path that does not exist or a glob that matches
            nothing (naming it).
    """
    out: list[Path] = []
    for item in inputs:
        text = str(item)
        if glob.has_magic(text):
            matches = sorted(glob.glob(text))
            if not matches:
                raise FileNotFoundError(
                    f"{text}: the pattern matches no file; check the folder and "
                    "quote the pattern so the shell does not expand it"
                )
            paths = [Path(m) for m in matches]
        else:
            paths = [Path(text)]
        for path in paths:
            if not path.exists():
                raise FileNotFoundError(f"input not found: {path}")
            if path.is_dir():
                raise ValueError(
                    f"{path}: is a folder; give video files or a glob such as "
                    f"'{path}/*.mp4'"
                )
            if path.name.endswith(".slp"):
                raise ValueError(
                    f"{path}: batch mode takes videos; predict a labels file with "
                    "`napari-sleap predict MODEL... FILE.slp -o OUT.slp`"
                )
            # Absolute, but not resolved: symlinked copies keep their own names.
            path = Path(os.path.abspath(path))
            if path not in out:
                out.append(path)
    if not out:
        raise ValueError("give at least one video (or a glob of videos)")
    return out


def output_for(video: Path, out_dir: Path) -> Path:
    """``OUT_DIR/<video stem>.predictions.slp``."""
    return out_dir / (video.stem + OUTPUT_SUFFIX)


def check_unique_outputs(videos: Sequence[Path], out_dir: Path) -> None:
    """Refuse two videos that would write the same output file."""
    seen: dict[Path, Path] = {}
    for video in videos:
        out = output_for(video, out_dir)
        if out in seen:
            raise ValueError(
                f"{seen[out]} and {video} would both write {out}; rename one of "
                "the videos or run them into different output folders"
            )
        seen[out] = video


def split_chunks(frames: Sequence[int], chunk_frames: int) -> list[list[int]]:
    """Consecutive runs of ``chunk_frames`` frames (the last may be shorter)."""
    if chunk_frames < 1:
        raise ValueError(f"chunk_frames {chunk_frames}: must be at least 1")
    return [
        list(frames[k : k + chunk_frames]) for k in range(0, len(frames), chunk_frames)
    ]


def plan_videos(
    model_dirs: Sequence[str | Path],
    videos: Sequence[Path],
    out_dir: Path,
    *,
    frames: str | Sequence[int] | None,
    options,
    chunk_frames: int,
    overwrite: bool = False,
) -> list[VideoPlan]:
    """Plan every video: frames, output, chunks (and their part folders).

    A video whose output exists is marked done (resume) unless ``overwrite``.
    A video that cannot be opened or planned gets its ``error`` set instead of
    stopping the batch. Part folders are created here, on the client, so the
    tasks of one video never race to create them.
    """
    import shutil

    from napari_sleap.infer.parts import (
        open_parts_folder,
        part_name,
        parts_folder,
        run_fingerprint,
    )
    from napari_sleap.infer.predict import make_jobs

    check_unique_outputs(videos, out_dir)
    plans = []
    for video in videos:
        output = output_for(video, out_dir)
        parts = parts_folder(output)
        if output.exists() and not overwrite:
            # Finished before: not opened again. A run killed between saving
            # and cleaning up leaves its parts.
            plans.append(VideoPlan(video, output, [], done=True))
            shutil.rmtree(parts, ignore_errors=True)
            continue
        try:
            jobs, _ = make_jobs(str(video), frames)
        except (ValueError, OSError) as err:
            plans.append(VideoPlan(video, output, [], error=_reason(video, err)))
            continue
        plan = VideoPlan(video, output, list(jobs[0].frames))
        fingerprint = run_fingerprint(
            model_dirs, [(j.source, j.frames) for j in jobs], options, chunk_frames
        )
        if overwrite and parts.exists():
            shutil.rmtree(parts)
        try:
            open_parts_folder(output, fingerprint)
        except ValueError as err:  # parts of another run: that video waits
            plan.error = str(err)
            plans.append(plan)
            continue
        for ci, inds in enumerate(split_chunks(plan.frames, chunk_frames)):
            plan.chunks.append(Chunk(ci, inds, parts / part_name(0, ci)))
        plans.append(plan)
    return plans


def _reason(video: Path, err: BaseException) -> str:
    """The error's message, naming the video when the message does not."""
    text = str(err)
    if str(video) not in text and video.name not in text:
        text = f"{video}: {text}"
    return text
