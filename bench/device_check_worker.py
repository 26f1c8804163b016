"""One backend's figures for the device check (run by bench/device_check.py).

Started as its own process with ``KERAS_BACKEND`` set (Keras picks its backend
at import). Works through stages in order of importance, each with a share of
the time left before ``--deadline``, and rewrites ``--json`` after every figure,
so a crash or a kill keeps what was measured. A stage that fails is recorded
with its error and the next one starts.

Paths measured per pipeline and precision:
  * ``model``: the networks alone on frames in memory (device_check_forward);
  * ``e2e``: decoder threads -> ``napari_sleap.infer.portable`` -> poses on the
    host; where that module is missing, ``decode+model`` (decoder threads ->
    networks -> raw maps on the host) stands in and the reason is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from device_check_frames import FrameStream, percentile_ms, read_frames, timed_calls  # noqa: E402


def _now() -> float:
    return time.time()


class Report:
    """The worker's JSON, rewritten atomically after every change."""

    def __init__(self, path: Path, backend: str):
        self.path = path
        self.data: dict[str, Any] = {
            "backend": backend,
            "status": "running",
            "figures": [],
            "skipped": [],
            "errors": [],
        }

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".part")
        tmp.write_text(json.dumps(self.data, indent=1))
        os.replace(tmp, self.path)

    def add(self, key: str, item: Any) -> None:
        self.data[key].append(item)
        self.save()


def _versions(backend: str) -> dict[str, str]:
    import keras

    out = {"keras": keras.__version__, "numpy": np.__version__}
    mod = {"jax": "jax", "torch": "torch", "tensorflow": "tensorflow"}[backend]
    out[mod] = __import__(mod).__version__
    return out


def _device(backend: str) -> str:
    if backend == "jax":
        import jax

        d = jax.devices()[0]
        return f"{d.platform}:{getattr(d, 'device_kind', d)}"
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return f"cuda:{torch.cuda.get_device_name(0)}"
        return "cpu"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return f"gpu:{gpus[0].name}" if gpus else "cpu"


def _load(dirs: list[str]) -> list[Any]:
    from napari_sleap.infer.model_io import load_model

    models = [load_model(d) for d in dirs]
    models.sort(key=lambda m: m.role != "centroid")
    return models


class PortableE2E:
    """Thin adapter over ``napari_sleap.infer.portable`` (one pipe per batch size).

    Raises ImportError where the module is not in this tree.
    """

    def __init__(
        self,
        dirs: list[str],
        mixed_precision: bool | str,
        max_instances: int,
        options: dict | None = None,
    ):
        from napari_sleap.infer.portable import load_portable

        self._load = load_portable
        self.dirs = dirs
        self.mixed = mixed_precision
        self.max_instances = max_instances or None
        self.options = dict(options or {})
        self._pipes: dict[int, Any] = {}
        self.instances: list[int] = []

    def describe(self) -> dict:
        """The options passed to load_portable, as JSON."""
        return {
            k: v if isinstance(v, (int, float)) else repr(v)
            for k, v in self.options.items()
        }

    def __call__(self, frames: np.ndarray) -> Any:
        b = int(frames.shape[0])
        if b not in self._pipes:
            self._pipes[b] = self._load(
                self.dirs,
                batch_size=b,
                mixed_precision=self.mixed,
                max_instances=self.max_instances,
                **self.options,
            )
        points, scores, instance_scores = self._pipes[b].predict_arrays(frames)
        found = np.asarray(instance_scores)
        if found.ndim >= 2:  # (B, max_instances), NaN or <= 0 where none
            self.instances.append(int(np.sum(np.nan_to_num(found) > 0)))
        return points

    @property
    def backend(self) -> str:
        pipe = next(iter(self._pipes.values()), None)
        return str(getattr(pipe, "backend", "?"))


#: Stage precision (the ``mixed_precision`` argument) -> its name in the JSON.
PRECISIONS = {False: "float32", True: "mixed_float16", "bfloat16": "mixed_bfloat16"}
#: ``--precisions`` words -> stage precision.
ARG_PRECISIONS = {
    "float32": False,
    "mixed": True,
    "float16": True,
    "bfloat16": "bfloat16",
}


class Stage:
    """One (pipeline, precision, path) with its batch sizes and time share."""

    def __init__(self, pipeline: str, mixed: bool | str, path: str):
        self.pipeline, self.mixed, self.path = pipeline, mixed, path

    @property
    def name(self) -> str:
        prec = PRECISIONS[self.mixed]
        return f"{self.pipeline}/{self.path}/{prec}"

    def key(self) -> dict:
        return {
            "pipeline": self.pipeline,
            "path": self.path,
            "precision": PRECISIONS[self.mixed],
        }


def _figure(
    stage: Stage, batch: int, times: list[float], compile_s: float, **extra
) -> dict:
    frames = batch * len(times)
    total = float(sum(times))
    fig = {
        **stage.key(),
        "batch": batch,
        "fps": frames / total,
        "frames": frames,
        "seconds": round(total, 4),
        "warmup_s": round(compile_s, 3),
    }
    if batch == 1:
        fig["latency_ms_median"] = percentile_ms(times, 50)
        fig["latency_ms_p99"] = percentile_ms(times, 99)
    fig.update(extra)
    return fig


class Worker:
    """Runs the stages of one backend against a deadline."""

    def __init__(self, args: argparse.Namespace, report: Report):
        self.args = args
        self.report = report
        self.batches = [int(b) for b in args.batches.split(",")]
        self.dirs = {"top-down": args.topdown, "bottom-up": args.bottomup}
        self.frames = read_frames(args.clip, max(self.batches))
        self._forwards: dict[tuple[str, bool], Any] = {}

    def left(self) -> float:
        return self.args.deadline - _now()

    def run(self, stages: list[Stage]) -> None:
        for i, stage in enumerate(stages):
            share = (self.left() - self.args.reserve) / (len(stages) - i)
            if share < 1.0:
                self.report.add("skipped", {**stage.key(), "why": "no time left"})
                continue
            t_end = _now() + share
            try:
                self.run_stage(stage, t_end)
            except Exception as err:  # record and go on with the next stage
                self.report.add(
                    "errors",
                    {
                        **stage.key(),
                        "error": f"{type(err).__name__}: {err}",
                        "trace": traceback.format_exc(limit=6)[-2000:],
                    },
                )
            backend = self.report.data["backend"]
            left = self.left()
            print(f"[{backend}] {stage.name} done ({left:.0f} s left)", flush=True)

    def _forward(self, stage: Stage) -> Any:
        """The model-only forward of a pipeline and precision, made once.

        The model and decode+model stages share it (and its compiled shapes).
        """
        key = (stage.pipeline, stage.mixed)
        if key not in self._forwards:
            from device_check_forward import ModelForward

            models = _load(self.dirs[stage.pipeline])
            self._forwards[key] = ModelForward(models, stage.pipeline, stage.mixed)
        return self._forwards[key]

    def _callable(self, stage: Stage) -> tuple[Any, str]:
        """The function a batch goes through and the path name actually measured."""
        if stage.path == "model":
            return self._forward(stage), "model"
        try:
            pipe = PortableE2E(
                self.dirs[stage.pipeline],
                stage.mixed,
                self.args.max_instances,
                self._e2e_options(stage.pipeline),
            )
            return pipe, "e2e"
        except ImportError as err:
            if not self.report.data.get("e2e_note"):
                self.report.data["e2e_note"] = (
                    f"napari_sleap.infer.portable not importable ({err}); "
                    "'decode+model' (decoder threads -> networks -> raw maps on "
                    "the host, no peak finding) measured instead of e2e"
                )
            forward = self._forward(stage)
            return (lambda frames: forward.to_host(forward(frames))), "decode+model"

    def _e2e_options(self, pipeline: str) -> dict:
        """Portable-path options: forced peaks for untrained models (every
        local maximum, 3 candidates per node for the grouping), else the
        bottom-up threshold the briefly trained model needs."""
        if self.args.forced_peaks:
            from napari_sleap.infer.ops.paf import PafParams

            opts: dict = {"peak_threshold": -1e9}
            if pipeline == "bottom-up":
                # untrained fields agree with no edge: accept every one
                opts["paf"] = PafParams(
                    max_peaks_per_node=3, min_line_score=-1e9, min_agreeing=0.0
                )
            return opts
        if pipeline == "bottom-up" and self.args.bottom_up_peak_threshold is not None:
            return {"peak_threshold": self.args.bottom_up_peak_threshold}
        return {}

    def run_stage(self, stage: Stage, t_end: float) -> None:
        """Each batch size's figure, within the stage's share of the time.

        The first batch size always runs while the worker has time (a stage's
        loading and compiling may eat its share); later ones are skipped once the
        share is used or when one call would not fit.
        """
        fn, path = self._callable(stage)
        stage.path = path
        streamed = path != "model"
        per_call: dict[int, float] = {}
        order = self.batches
        for j, batch in enumerate(order):
            if j == 0:
                t_end = max(t_end, _now() + min(5.0, self.left() - self.args.reserve))
            left = t_end - _now()
            slice_s = left / (len(order) - j)
            guess = self._guess(per_call, batch)
            if left < 0.5 or (guess is not None and 3 * guess > left):
                if left < 0.5:
                    why = "stage time share used"
                else:
                    why = (
                        f"a call would take ~{guess:.2f} s, over the {left:.1f} s left"
                    )
                self.report.add("skipped", {**stage.key(), "batch": batch, "why": why})
                continue
            frames = self.frames[:batch]
            t0 = time.perf_counter()
            fn(frames)  # compile / trace / autotune for this shape
            warm = time.perf_counter() - t0
            t0 = time.perf_counter()
            fn(frames)
            per_call[batch] = time.perf_counter() - t0
            budget = max(0.2, min(slice_s - warm, t_end - _now()) * 0.9)
            if streamed:
                fig = self._streamed(fn, stage, batch, budget, warm)
            else:
                times = timed_calls(lambda f=frames: fn(f), budget, min_calls=3)
                fig = _figure(stage, batch, times, warm)
            if isinstance(fn, PortableE2E):
                fig["pipe_backend"] = fn.backend
                fig.update(fn.describe())
                if fn.instances:
                    fig["instances_per_frame"] = float(np.sum(fn.instances)) / max(
                        1, len(fn.instances) * batch
                    )
                    fn.instances.clear()
            self.report.add("figures", fig)

    @staticmethod
    def _guess(per_call: dict[int, float], batch: int) -> float | None:
        if not per_call:
            return None
        b, t = max(per_call.items())
        return t * batch / b if batch > b else t

    def _streamed(
        self, fn: Any, stage: Stage, batch: int, budget: float, warm: float
    ) -> dict:
        """Frames/s with decoder threads feeding ``fn``; batch 1 adds latency.

        Throughput: batches from :class:`FrameStream`, back to back. Latency at
        batch 1: each frame decoded by this thread then predicted, one at a time
        (grab to poses, nothing overlapped).
        """
        prefetch = max(16, 4 * batch)
        with FrameStream(self.args.clip, self.args.decoders, prefetch) as stream:
            it = stream.batches(batch)
            next(it)
            # Start empty: frames decoded during start-up would flatter the rate.
            stream.drain()
            times: list[float] = []
            t_end = time.perf_counter() + budget / (2 if batch == 1 else 1)
            t_all = time.perf_counter()
            while len(times) < 3 or time.perf_counter() < t_end:
                t0 = time.perf_counter()
                fn(next(it))
                times.append(time.perf_counter() - t0)
            wall = time.perf_counter() - t_all
        fig = _figure(stage, batch, times, warm)
        fig["fps"] = batch * len(times) / wall  # waits for the decoder count too
        fig["seconds"] = round(wall, 4)
        fig["decoder_threads"] = self.args.decoders
        if batch == 1:
            fig.update(self._latency(fn, budget / 2))
        return fig

    def _latency(self, fn: Any, budget: float) -> dict:
        import cv2

        cap = cv2.VideoCapture(self.args.clip)
        times: list[float] = []
        t_end = time.perf_counter() + budget
        while len(times) < 5 or time.perf_counter() < t_end:
            t0 = time.perf_counter()
            ok, frame = cap.read()
            if not ok:
                cap.release()
                cap = cv2.VideoCapture(self.args.clip)
                continue
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)[None, ..., None]
            fn(gray)
            times.append(time.perf_counter() - t0)
        cap.release()
        return {
            "latency_ms_median": percentile_ms(times, 50),
            "latency_ms_p99": percentile_ms(times, 99),
            "latency_samples": len(times),
            "latency_includes": "decode of one frame + gray conversion + prediction",
        }


def plan(
    precisions: list[bool | str], pipelines: list[str], paths: list[str]
) -> list[Stage]:
    """Stages in order of importance: top-down first, float32 before mixed."""
    return [Stage(p, m, path) for m in precisions for p in pipelines for path in paths]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--json", type=Path, required=True)
    p.add_argument("--deadline", type=float, required=True, help="epoch seconds")
    p.add_argument("--reserve", type=float, default=2.0, help="seconds kept at the end")
    p.add_argument("--clip", required=True)
    p.add_argument("--topdown", nargs=2, required=True, metavar="DIR")
    p.add_argument("--bottomup", nargs=1, required=True, metavar="DIR")
    p.add_argument("--batches", default="1,8,32,64")
    p.add_argument("--decoders", type=int, default=2)
    p.add_argument("--max-instances", type=int, default=2, help="0: no cap")
    p.add_argument("--bottom-up-peak-threshold", type=float, default=None)
    p.add_argument("--forced-peaks", action="store_true", help="untrained models")
    p.add_argument("--pipelines", default="top-down,bottom-up")
    p.add_argument(
        "--precisions", default="float32,mixed", help=f"of {sorted(ARG_PRECISIONS)}"
    )
    args = p.parse_args(argv)
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    report = Report(args.json, backend)
    t0 = _now()
    try:
        report.data["versions"] = _versions(backend)
        report.data["device"] = _device(backend)
        report.data["import_s"] = round(_now() - t0, 2)
        report.save()
        worker = Worker(args, report)
        stages = plan(
            [ARG_PRECISIONS[m] for m in args.precisions.split(",")],
            args.pipelines.split(","),
            ["model", "e2e"],
        )
        worker.run(stages)
        report.data["status"] = "ok" if not report.data["errors"] else "partial"
    except Exception as err:
        report.data["status"] = "error"
        report.data["error"] = f"{type(err).__name__}: {err}"
        report.data["trace"] = traceback.format_exc(limit=8)[-3000:]
    report.data["elapsed_s"] = round(_now() - t0, 2)
    report.save()
    return 0 if report.data["status"] != "error" else 1


if __name__ == "__main__":
    sys.exit(main())
