"""What the napari panels run in a job process: train, predict, track, evaluate.

Each function is a :func:`napari_sleap.jobs.start_job` target: it takes
``progress``, ``stop`` and ``emit``, loads its inputs from paths, streams what a
panel draws live (losses per epoch, predicted poses per batch), writes its
outputs to files and returns plain data (paths, counts), so nothing heavy crosses
the process boundary. TensorFlow is imported inside the functions only.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from napari_sleap.progress import Cancelled, ProgressFn, StopFlag, check_stop

Emit = Callable[[str, Any], None]


def _no_emit(name: str, value: Any) -> None:
    """Stand-in when the caller does not listen."""


def train(
    labels: str,
    pipeline: str,
    out_dir: str,
    *,
    overrides: dict | None = None,
    seed: int | None = None,
    max_minutes: float | None = None,
    restart: bool = False,
    progress: ProgressFn | None = None,
    stop: StopFlag | None = None,
    emit: Emit | None = None,
) -> dict[str, Any]:
    """Train every model of ``pipeline`` on a ``.slp`` into ``out_dir/<role>/``.

    Streams ``("model", role)``, ``("log", text)``, ``("step", {"role", "step",
    "total", "epoch", "loss", ...})`` every few steps and ``("epoch", {"role",
    "epoch", "loss", "val_loss", ...})`` (plain floats) to ``emit``. On Stop it
    sends ``("stopped", ...)`` (see :func:`stopped_report`) before ending as
    stopped, so the panel can say which models are usable.

    Returns:
        ``{"models": {role: folder}, "model_dirs": [folders], "out_dir": path,
        "states": {role: state}}``.
    """
    from napari_sleap.train.pipeline import (
        PipelineStopped,
        model_states,
        train_pipeline,
    )

    emit = emit or _no_emit

    def forward(name: str, value: Any) -> None:
        if name == "epoch":
            value = {
                k: (float(v) if isinstance(v, (int, float, np.number)) else v)
                for k, v in dict(value).items()
            }
        emit(name, value)

    def steps(done: int, total: int) -> None:
        # The job's progress raises Cancelled once stop is set; inside Keras that
        # would abort fit() mid-batch. fit() watches ``stop`` itself and ends
        # cleanly (best model kept, state marked stopped), so swallow it here.
        if progress is not None:
            with contextlib.suppress(Cancelled):
                progress(done, total)

    try:
        models = train_pipeline(
            labels,
            pipeline,
            out_dir,
            overrides=overrides,
            seed=seed,
            max_minutes=max_minutes,
            restart=restart,
            progress=steps,
            stop=stop,
            emit=forward,
        )
    except PipelineStopped as stopped:
        emit("stopped", stopped_report(stopped.states, str(out_dir)))
        raise
    return {
        "models": dict(models),
        "model_dirs": list(models.values()),
        "out_dir": str(out_dir),
        "states": model_states(out_dir, list(models)),
    }


def stopped_report(states: dict[str, dict], out_dir: str) -> dict[str, Any]:
    """What a stopped training leaves: per-model states, a text, usable folders.

    ``model_dirs`` lists the folders only when every model of the pipeline is
    usable (a top-down needs both), else it is empty.
    """
    from napari_sleap.train.pipeline import describe_states

    usable = [st["dir"] for st in states.values() if st["usable"]]
    complete = len(usable) == len(states)
    return {
        "states": states,
        "text": describe_states(states),
        "model_dirs": usable if complete else [],
        "out_dir": out_dir,
    }


def stopped_report_on_disk(out_dir: str | Path, roles: list[str]) -> dict[str, Any]:
    """:func:`stopped_report` read from the model folders (a job ended without one)."""
    from napari_sleap.train.pipeline import model_states

    return stopped_report(model_states(out_dir, roles), str(out_dir))


class _StreamingPredictor:
    """Wraps a Predictor so each batch's poses are also sent to the panel.

    Batches are gathered and sent at most every ``interval`` seconds (and at the
    end of each video chunk), as plain arrays.
    """

    def __init__(self, predictor: Any, emit: Emit, interval: float) -> None:
        self._p = predictor
        self._emit = emit
        self._interval = interval
        self._videos: dict[int, int] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._p, name)

    def run(
        self, reader: Any, frame_inds: Sequence[int], **kwargs: Any
    ) -> Iterator[tuple[list[int], list[Any]]]:
        video = self._videos.setdefault(id(reader), len(self._videos))
        held: list[tuple[list[int], list[Any]]] = []
        last = time.monotonic()
        for frames, poses in self._p.run(reader, frame_inds, **kwargs):
            held.append((frames, poses))
            if time.monotonic() - last >= self._interval:
                self._send(video, held)
                held, last = [], time.monotonic()
            yield frames, poses
        if held:
            self._send(video, held)

    def _send(self, video: int, held: list[tuple[list[int], list[Any]]]) -> None:
        frames = [f for fs, _ in held for f in fs]
        poses = [p for _, ps in held for p in ps]
        self._emit("batch", poses_batch(video, frames, poses))


def poses_batch(video: int, frames: Sequence[int], poses: Sequence[Any]) -> dict:
    """Per-frame :class:`~napari_sleap.infer.results.FramePoses` as flat arrays.

    Returns:
        ``{"video", "frames" (F,), "frame" (I,), "points" (I, N, 2) xy,
        "point_scores" (I, N), "scores" (I,), "class_inds" (I,)}`` where ``I``
        counts the instances of all the frames.
    """
    n_nodes = poses[0].points.shape[1] if poses else 0
    frame = np.concatenate(
        [np.full(len(p), f, np.int64) for f, p in zip(frames, poses, strict=True)]
        or [np.zeros(0, np.int64)]
    )

    def cat(get: Callable[[Any], Any], shape: tuple, fill: float = np.nan):
        parts = []
        for p in poses:
            value = get(p)
            parts.append(
                np.full((len(p), *shape), fill) if value is None else np.asarray(value)
            )
        return np.concatenate(parts) if parts else np.zeros((0, *shape))

    return {
        "video": int(video),
        "frames": np.asarray(frames, np.int64),
        "frame": frame,
        "points": cat(lambda p: p.points, (n_nodes, 2)).astype(np.float32),
        "point_scores": cat(lambda p: p.point_scores, (n_nodes,)).astype(np.float32),
        "scores": cat(lambda p: p.instance_scores, ()).astype(np.float32),
        "class_inds": cat(lambda p: p.class_inds, (), -1).astype(np.int64),
    }


def summarize(labels: Any) -> dict[str, Any]:
    """Instances, frames, tracks and mean instance score of predicted Labels."""
    import sleap_io as sio

    scores = [
        float(i.score)
        for lf in labels.labeled_frames
        for i in lf.instances
        if isinstance(i, sio.PredictedInstance)
    ]
    return {
        "frames": sum(1 for lf in labels.labeled_frames if lf.instances),
        "instances": len(scores),
        "mean_score": float(np.mean(scores)) if scores else float("nan"),
        "tracks": len(labels.tracks),
    }


def predict(
    model_dirs: Sequence[str],
    source: str,
    output: str,
    *,
    frames: str | Sequence[int] | None = None,
    only_labeled: bool = False,
    only_suggested: bool = False,
    tracker: str | None = None,
    max_tracks: int | None = None,
    batch_size: int = 4,
    peak_threshold: float = 0.2,
    tta: str = "auto",
    stream_interval: float = 0.5,
    progress: ProgressFn | None = None,
    stop: StopFlag | None = None,
    emit: Emit | None = None,
) -> dict[str, Any]:
    """Predict (and optionally track) a video or ``.slp`` into ``output`` (.slp).

    Streams ``("stage", "predict" | "track")`` and ``("batch", arrays)`` (see
    :func:`poses_batch`). Interrupted runs resume from the parts on disk.

    Returns:
        ``{"output": path, "frames", "instances", "mean_score", "tracks",
        "seconds"}``.
    """
    from napari_sleap.infer.engine_choice import load_chosen
    from napari_sleap.infer.predict import predict as run_predict
    from napari_sleap.infer.predictor import PredictorOptions
    from napari_sleap.io.labels import save_labels

    emit = emit or _no_emit
    t0 = time.monotonic()
    dirs = [str(d) for d in model_dirs]
    if not dirs:
        raise ValueError("no model folder given: pick a trained model folder first")
    options = PredictorOptions(
        batch_size=batch_size, peak_threshold=peak_threshold, tta=tta
    )
    emit("stage", "load")
    loaded, choice = load_chosen(dirs, options)  # the auto engine, as predict's
    predictor = _StreamingPredictor(loaded, emit, stream_interval)
    emit("stage", "predict")
    labels = run_predict(
        dirs,
        source,
        output,
        frames=frames,
        only_labeled=only_labeled,
        only_suggested=only_suggested,
        options=options,
        progress=progress,
        stop=stop,
        predictor=predictor,
    )
    if tracker:
        check_stop(stop)
        emit("stage", "track")
        labels = _track(labels, tracker, max_tracks, progress, stop)
        save_labels(labels, output)
    return {
        "output": str(output),
        **summarize(labels),
        "seconds": time.monotonic() - t0,
        "engine": choice.describe(),
    }


def _track(labels: Any, tracker: str, max_tracks: int | None, progress, stop) -> Any:
    from napari_sleap.track import track_labels

    return track_labels(
        labels, tracker=tracker, max_tracks=max_tracks, progress=progress, stop=stop
    )


def track(
    labels: str,
    output: str,
    *,
    tracker: str = "simple",
    max_tracks: int | None = None,
    progress: ProgressFn | None = None,
    stop: StopFlag | None = None,
) -> dict[str, Any]:
    """Track (or re-track) the poses of a ``.slp`` into ``output``."""
    from napari_sleap.io.labels import load_labels, save_labels

    found = load_labels(labels)
    tracked = _track(found, tracker, max_tracks, progress, stop)
    save_labels(tracked, output)
    return {"output": str(output), **summarize(tracked)}


def evaluate(
    gt: str,
    pred: str,
    out_dir: str,
    *,
    progress: ProgressFn | None = None,
    stop: StopFlag | None = None,
) -> dict[str, Any]:
    """Score ``pred`` against ``gt``; write ``report.txt``, ``.json`` and a chart.

    Tracking metrics are added when both files have tracks.

    Returns:
        ``{"report": text, "report_path", "json_path", "plot_path", "oks_map",
        "pck" (list), "mota", "idf1", "id_switches"}`` (tracking keys None without
        tracks).
    """
    import json

    from napari_sleap.evaluate.plot import plot_node_errors
    from napari_sleap.evaluate.pose import evaluate_poses
    from napari_sleap.evaluate.report import format_report
    from napari_sleap.evaluate.tracking import evaluate_tracking
    from napari_sleap.io.labels import load_labels
    from napari_sleap.progress import no_progress

    out = Path(out_dir)
    if not out.is_dir():
        raise FileNotFoundError(f"report folder {out} does not exist; create it first")
    labels_gt = load_labels(gt, missing_videos="ignore")
    labels_pr = load_labels(pred, missing_videos="ignore")
    ev = evaluate_poses(
        labels_gt, labels_pr, progress=progress or no_progress, stop=stop
    )
    if ev.counts.get("frames", 0) == 0:
        raise ValueError(
            f"{gt}: no labeled frame with user instances has a prediction in "
            f"{pred}; predict the labeled frames first"
        )
    text = format_report(ev, title=f"{Path(pred).name} vs {Path(gt).name}")
    result: dict[str, Any] = {"mota": None, "idf1": None, "id_switches": None}
    payload: dict[str, Any] = {"pose": ev.to_dict()}
    if labels_gt.tracks and labels_pr.tracks:
        tm = evaluate_tracking(labels_gt, labels_pr)
        text += "\n\nTracking\n" + tm.summary()
        payload["tracking"] = tm.to_dict()
        result.update(mota=tm.mota, idf1=tm.idf1, id_switches=tm.id_switches)
    report = out / "report.txt"
    json_path = out / "report.json"
    _write_atomic(report, text + "\n")
    _write_atomic(json_path, json.dumps(payload, indent=1, default=float))
    plot = plot_node_errors(ev, out / "node_errors.png", title=Path(pred).name)
    result.update(
        report=text,
        report_path=str(report),
        json_path=str(json_path),
        plot_path=str(plot),
        oks_map=float(ev.oks_map),
        pck=[float(v) for v in ev.pck],
        pck_thresholds=[float(v) for v in ev.pck_thresholds],
        error_per_node={k: dict(v) for k, v in ev.error_per_node.items()},
    )
    return result


def _write_atomic(path: Path, text: str) -> None:
    """Write beside, then rename over (no half-written reports)."""
    from napari_sleap.io.atomic import write_text

    write_text(path, text)
