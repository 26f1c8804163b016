"""One call from model folders and a video (or ``.slp``) to predicted Labels.

With an output path, results stream to disk in bounded memory: every
``chunk_frames`` frames are written as a compact ``.npz`` part beside the output
(``OUT.slp.parts/``, each written atomically), so a killed run resumes at the
first missing part when rerun with the same arguments. The parts are merged
into the ``.slp`` at the end (atomically) and then removed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from napari_sleap.infer.frame_damage import screen_frames
from napari_sleap.infer.parts import (
    checked_open,
    open_frames,
    open_parts_folder,
    pack_poses,
    part_name,
    run_fingerprint,
    save_part,
    unpack_poses,
)
from napari_sleap.infer.predictor import Predictor, PredictorOptions
from napari_sleap.infer.results import FramePoses, to_labeled_frame
from napari_sleap.progress import ProgressFn, StopFlag


@dataclass
class Written:
    """What :func:`predict` wrote when asked not to return the Labels."""

    path: Path
    frames: int
    instances: int
    bad_frames: list[list[int]]
    pipeline: str


@dataclass
class Job:
    """Frames of one video to predict."""

    video: Any  # sleap_io.Video
    frames: list[int]
    source: str


def make_jobs(
    source: Any,
    frames: str | Sequence[int] | None = None,
    only_labeled: bool = False,
    only_suggested: bool = False,
) -> tuple[list[Job], Any]:
    """Work list from a video path, a ``.slp`` path, a Labels or a Video.

    Returns the jobs and the source Labels (None for a bare video).
    """
    import sleap_io as sio

    from napari_sleap.io.frames import parse_frames

    if only_labeled and only_suggested:
        raise ValueError(
            "use only one of --only-labeled-frames/--only-suggested-frames"
        )
    labels = None
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"input not found: {path}")
        if path.name.endswith(".slp"):
            from napari_sleap.io.labels import load_labels

            labels = load_labels(path)
        else:
            from napari_sleap.io.video import open_video

            reader = checked_open(open_video, path)
            n = reader.n_frames
            reader.close()  # the run opens its own reader; keep no decoder here
            if n == 0:
                raise ValueError(f"{path}: the video has no frames")
            video = sio.Video.from_filename(str(path))
            source = video
    elif isinstance(source, sio.Labels):
        labels = source
    if labels is None:
        videos = [source]
    else:
        videos = list(labels.videos)
        if not videos:
            raise ValueError("the labels file has no videos to predict on")
    jobs = []
    for video in videos:
        n = int(video.shape[0]) if video.shape is not None else _count_frames(video)
        name = str(video.filename)
        if only_labeled:
            inds = sorted(
                {lf.frame_idx for lf in labels.find(video) if lf.user_instances}
            )
        elif only_suggested:
            inds = sorted({s.frame_idx for s in labels.suggestions if s.video is video})
        elif frames is None:
            inds = list(range(n))
        elif isinstance(frames, str):
            inds = parse_frames(frames, n)
        else:
            inds = sorted({int(i) for i in frames})
            if inds and (inds[0] < 0 or inds[-1] >= n):
                raise ValueError(f"frames {inds[0]}..{inds[-1]} outside 0..{n - 1}")
        jobs.append(Job(video, inds, name))
    return jobs, labels


def predict(
    model_dirs: Sequence[str | Path],
    source: Any,
    output: str | Path | None = None,
    *,
    frames: str | Sequence[int] | None = None,
    only_labeled: bool = False,
    only_suggested: bool = False,
    options: PredictorOptions | None = None,
    tracker: str | None = None,
    max_tracks: int | None = None,
    chunk_frames: int = 500,
    progress: ProgressFn | None = None,
    stop: StopFlag | None = None,
    predictor: Predictor | None = None,
    return_labels: bool = True,
):
    """Predict poses and return them as sleap-io Labels (also saved to ``output``).

    Args:
        model_dirs: model folders forming one pipeline (ours or SLEAP 1.x).
        source: a video path, a ``.slp`` path, ``sleap_io.Labels`` or ``Video``.
        output: ``.slp`` to write; enables streaming parts and resume.
        frames: ``"1000-1499,1600"`` or indices (per video); None: all frames.
        only_labeled: with a ``.slp``, only frames that have user labels.
        only_suggested: with a ``.slp``, only its suggested frames.
        options: how to run the models (batch size, thresholds ...).
        tracker: run this tracker of :func:`napari_sleap.track.track_labels`.
        max_tracks: number of animals for the tracker.
        chunk_frames: frames per part on disk (bounds memory of long runs).
        progress: ``progress(done, total)`` in frames.
        stop: stop flag; the parts written so far are kept for resuming.
        predictor: reuse an already loaded predictor (``model_dirs`` still
            names the run for resuming).
        return_labels: with ``output`` and no tracker, False returns a
            :class:`Written` summary instead of reading the file back, so a
            long video's poses are never all in memory.

    Returns:
        The predicted Labels, or a :class:`Written` summary (see
        ``return_labels``).
    """
    import sleap_io as sio

    options = options or (predictor.options if predictor else PredictorOptions())
    if output is not None:
        output = Path(output)
        if not output.name.endswith(".slp"):
            raise ValueError(f"{output}: the output must be a .slp file")
        if not output.parent.is_dir():
            raise FileNotFoundError(f"{output}: folder {output.parent} does not exist")
    jobs, src_labels = make_jobs(source, frames, only_labeled, only_suggested)
    predictor = predictor or Predictor.from_model_dirs(model_dirs, options)
    options = predictor.options
    _check_labels_skeleton(src_labels, predictor)
    n_nodes = len(predictor.info.node_names)

    parts = None
    if output is not None:
        fingerprint = run_fingerprint(
            model_dirs, [(j.source, j.frames) for j in jobs], options, chunk_frames
        )
        parts = open_parts_folder(output, fingerprint)
    chunks = []  # (job index, chunk index, frame list)
    for vi, job in enumerate(jobs):
        for k in range(0, len(job.frames), chunk_frames):
            chunks.append((vi, k // chunk_frames, job.frames[k : k + chunk_frames]))
    todo = [c for c in chunks if parts is None or not (parts / _part_file(c)).exists()]
    total = sum(len(c[2]) for c in todo)
    done = 0
    memory: dict[tuple[int, int], dict] = {}
    readers: dict[int, Any] = {}
    try:
        for vi, ci, inds in todo:
            if vi not in readers:
                readers[vi] = open_frames(jobs[vi].video)
            poses: list[FramePoses] = []
            got: list[int] = []

            def step(d: int, _t: int, base: int = done) -> None:
                if progress:
                    progress(base + d, total)

            # Frames a damaged packet spoiled decode without error: refuse them.
            screened = screen_frames(readers[vi], inds)
            for f, p in predictor.run(screened, inds, progress=step, stop=stop):
                got.extend(f)
                poses.extend(p)
            done += len(inds)
            data = pack_poses(got, poses, n_nodes)
            # Unreadable frames were reported by the predictor; keep them with the
            # part so a resumed run still reports them.
            data["skipped"] = np.asarray(sorted(set(inds) - set(got)), np.int64)
            if parts is not None:
                save_part(parts / part_name(vi, ci), data)
            else:
                memory[(vi, ci)] = data
    finally:
        for r in readers.values():
            r.close()

    tracks = [sio.Track(name) for name in predictor.class_names] or None

    def part(chunk: tuple) -> Any:
        vi, ci, _ = chunk
        if parts is None:
            return memory[(vi, ci)]
        return np.load(parts / _part_file(chunk))  # lazy: arrays load on access

    bad: list[list[int]] = []
    for chunk in chunks:
        bad.extend([chunk[0], int(f)] for f in part(chunk)["skipped"])
    provenance = {
        "napari_sleap.predict": {
            "models": [str(d) for d in model_dirs],
            "pipeline": predictor.pipeline,
            "bad_frames": bad,  # [video index, frame index] pairs
        }
    }
    if output is not None and not tracker:
        from napari_sleap.infer.slp_stream import write_predictions

        totals = write_predictions(
            output,
            [j.video for j in jobs],
            predictor.skeleton,
            tracks or [],
            provenance,
            ((c[0], dict(part(c))) for c in chunks),
        )
        shutil.rmtree(parts, ignore_errors=True)
        if not return_labels:
            return Written(
                output,
                totals["frames"],
                totals["instances"],
                bad,
                predictor.pipeline,
            )
        return sio.load_slp(str(output))

    frames_out = []
    for chunk in chunks:
        vi = chunk[0]
        for f, poses in unpack_poses(dict(part(chunk))):
            lf = to_labeled_frame(poses, jobs[vi].video, f, predictor.skeleton, tracks)
            if lf is not None:
                frames_out.append(lf)
    labels = sio.Labels(
        labeled_frames=frames_out,
        videos=[j.video for j in jobs],
        skeletons=[predictor.skeleton],
        tracks=tracks or [],
    )
    labels.provenance.update(provenance)
    if tracker:
        from napari_sleap.track import track_labels

        labels = track_labels(labels, tracker=tracker, max_tracks=max_tracks)
    if output is not None:
        from napari_sleap.io.labels import save_labels

        save_labels(labels, output)
        shutil.rmtree(parts, ignore_errors=True)
    return labels


def _part_file(chunk: tuple) -> str:
    """Part file name of a ``(video index, chunk index, frames)`` chunk."""
    return part_name(chunk[0], chunk[1])


def _count_frames(video: Any) -> int:
    reader = open_frames(video)
    try:
        return reader.n_frames
    finally:
        reader.close()


def _check_labels_skeleton(labels: Any, predictor: Predictor) -> None:
    if labels is None or not labels.skeletons:
        return
    want = predictor.info.node_names
    for skel in labels.skeletons:
        if list(skel.node_names) != list(want):
            raise ValueError(
                f"model/skeleton mismatch: the labels' skeleton has nodes "
                f"{list(skel.node_names)} but the model predicts {want}; use a "
                "model trained on this project's skeleton"
            )
