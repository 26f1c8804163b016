"""A batch plan run without dask: one video after another in this process.

Same plan, same part files and same outputs as the dask runner (each video is
:func:`napari_sleap.infer.predict.predict` with the plan's frames and chunking),
with the model loaded once for all videos. Used by the napari panel's batch
mode when no worker processes are wanted, and by ``--scheduler none``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from napari_sleap.distributed.plan import VideoPlan
from napari_sleap.distributed.results import (
    STOPPED_MESSAGE,
    BatchResult,
    Board,
    RunArgs,
    record_failed,
    record_written,
)
from napari_sleap.progress import Cancelled


def video_summary(plan: VideoPlan, outcome: Any, chunks: int) -> dict[str, Any]:
    """What a finished video's task reports (as the dask ``finish_video`` does).

    Args:
        plan: the video's plan.
        outcome: what ``predict`` returned: a ``Written`` summary or Labels.
        chunks: chunks predicted for it by this run.
    """
    if hasattr(outcome, "labeled_frames"):  # tracked: Labels in memory
        info = outcome.provenance.get("napari_sleap.predict", {})
        labeled = len(outcome.labeled_frames)
        instances = sum(len(lf.instances) for lf in outcome.labeled_frames)
        bad = len(info.get("bad_frames", []))
    else:
        labeled, instances, bad = (
            outcome.frames,
            outcome.instances,
            len(outcome.bad_frames),
        )
    return {
        "video": str(plan.video),
        "output": str(plan.output),
        "frames": plan.n_frames,
        "labeled_frames": labeled,
        "instances": instances,
        "bad_frames": bad,
        "chunks": chunks,
        "pid": os.getpid(),
    }


def run_in_process(
    todo: list[VideoPlan],
    result: BatchResult,
    board: Board,
    args: RunArgs,
    say: Callable[[str], None],
) -> None:
    """Predict the videos of ``todo`` in order; a failing video is recorded, not raised.

    Args:
        todo: the videos to predict (planned, not done, no planning error).
        result: the run's results, filled in as videos finish.
        board: the run's progress board (per-video and overall counts).
        args: what the run was asked to do (models, options, tracker ...).
        say: one-line messages.

    Raises:
        Cancelled: the stop flag was set; finished videos and parts are kept.
    """
    from napari_sleap.infer.predict import predict
    from napari_sleap.infer.predictor import Predictor

    models, options, stop = args.model_dirs, args.options, args.stop
    say("no dask: predicting the videos one after another in this process")
    predictor = Predictor.from_model_dirs(models, options)
    for plan in todo:
        missing = plan.todo()
        for chunk in missing:
            board.add_work(plan, len(chunk.frames))
    board.update(force=True)
    for plan in todo:
        if stop is not None and stop.is_set():
            raise Cancelled(STOPPED_MESSAGE)
        chunks = len(plan.todo())

        def step(done: int, _total: int, plan: VideoPlan = plan) -> None:
            board.set_done(plan, done)
            board.update()

        try:
            outcome = predict(
                models,
                str(plan.video),
                plan.output,
                frames=plan.frames,
                options=options,
                tracker=args.tracker,
                max_tracks=args.max_tracks,
                chunk_frames=args.chunk_frames,
                progress=step,
                stop=stop,
                predictor=predictor,
                return_labels=False,
            )
        except Cancelled as err:
            raise Cancelled(STOPPED_MESSAGE) from err
        except Exception as err:  # one bad video must not end the batch
            record_failed(plan, err, result, board, say)
        else:
            record_written(
                plan, video_summary(plan, outcome, chunks), result, board, say
            )
        board.update(force=True)
    result.frames = sum(board.of[p].frames_total for p in result.written)
