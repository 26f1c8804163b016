"""The Predictor: model folders in, poses per frame out, with overlapped stages.

A reader thread decodes and batches frames ahead of the network; the network
runs batch k+1 while a second thread post-processes batch k (peaks, grouping),
so decode, forward pass and post-processing overlap. TensorFlow uses the GPU
when it sees one.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from napari_sleap.config.roles import pipeline_of
from napari_sleap.infer import sleap1
from napari_sleap.infer.layers import (
    BottomUpLayer,
    InferenceLayer,
    PeakParams,
    SingleInstanceLayer,
    TopDownLayer,
)
from napari_sleap.infer.model_io import LoadedModel, load_model
from napari_sleap.infer.ops.paf import PafParams
from napari_sleap.infer.results import FramePoses
from napari_sleap.nn.model_info import ModelInfo
from napari_sleap.progress import ProgressFn, StopFlag, check_stop

log = logging.getLogger(__name__)

_END = object()


@dataclass
class PredictorOptions:
    """How to run the models.

    Attributes:
        batch_size: frames per forward pass; None picks 1 on a CPU (batches
            were slower than single frames on the 2-core box, see
            docs/benchmarks.md) and 8 when TensorFlow sees a GPU (None).
        peak_threshold: minimum confidence of a peak (0.2).
        refinement: sub-pixel refinement without an offsets head ("integral").
        max_instances: most animals per frame (None: no cap).
        paf: bottom-up grouping settings.
        prefetch: batches decoded ahead of the network (2).
        jit_compile: XLA (False: it was slower on the 2-core CPU).
        mixed_precision: float16 compute (GPU option).
        tta: test-time augmentation of the centered-instance stage, a key of
            ``infer.tta.TTA_MODES`` ("none", "flip", "rot180", "rot90",
            "flip-rot90") or "auto" (rot90 for top-down, else none;
            ``infer.tta.resolve_mode``); see docs/benchmarks.md for what each
            costs and wins.
    """

    batch_size: int | None = None
    peak_threshold: float = 0.2
    refinement: str = "integral"
    max_instances: int | None = None
    paf: PafParams = field(default_factory=PafParams)
    prefetch: int = 2
    jit_compile: bool = False
    mixed_precision: bool = False
    tta: str = "none"


def auto_batch_size() -> int:
    """8 frames per batch on a GPU, 1 on a CPU (measured faster there)."""
    import tensorflow as tf

    return 8 if tf.config.list_physical_devices("GPU") else 1


def _pipeline_of(models: list[LoadedModel]) -> str:
    roles = sorted(m.role for m in models)
    pipeline = pipeline_of(roles)
    if pipeline is not None:
        return pipeline
    folders = ", ".join(f"{m.folder} ({m.role})" for m in models)
    hint = ""
    if roles in (["centered_instance"], ["centered_instance_id"]):
        hint = "; top-down also needs the centroid model folder"
    elif roles == ["centroid"]:
        hint = "; top-down also needs the centered_instance model folder"
    raise ValueError(
        f"these models do not form a pipeline: {folders}. Give one of: "
        f"single_instance; centroid + centered_instance[_id]; bottom_up; "
        f"bottom_up_id{hint}"
    )


def _check_same_skeleton(models: list[LoadedModel]) -> None:
    ref = models[-1]
    for m in models[:-1]:
        if m.role == "centroid" and m.info.node_names != ref.info.node_names:
            raise ValueError(
                f"model/skeleton mismatch: {m.folder} was trained on nodes "
                f"{m.info.node_names} but {ref.folder} on {ref.info.node_names}; "
                "use models trained on the same skeleton"
            )


#: Name of a predicted skeleton when the model folder names none (NWB needs one).
DEFAULT_SKELETON_NAME = "skeleton"


def skeleton_of(info: ModelInfo, name: str | None = None):
    """The sleap-io Skeleton a model predicts, always named."""
    import sleap_io as sio

    names = info.node_names
    return sio.Skeleton(
        nodes=list(names),
        edges=[[names[a], names[b]] for a, b in info.edges],
        symmetries=[[names[a], names[b]] for a, b in info.symmetries],
        name=name or DEFAULT_SKELETON_NAME,
    )


class Predictor:
    """Runs one pipeline over frames.

    Build it with :meth:`from_model_dirs`; iterate results with :meth:`run`, or
    get one frame's poses with :meth:`predict_frame` (the low-latency path).
    """

    def __init__(
        self, layer: InferenceLayer, pipeline: str, options: PredictorOptions
    ) -> None:
        self.layer = layer
        self.pipeline = pipeline
        if options.batch_size is None:
            options = replace(options, batch_size=auto_batch_size())
        self.options = options
        self.info: ModelInfo = layer.info
        self.skeleton = skeleton_of(self.info)
        #: SLEAP 1.x ``resize_and_pad_to_target``: frames are fitted to this
        #: ``(height, width)`` first and poses mapped back (None: as they come).
        self.target_size: tuple[int, int] | None = None
        self.bad_frames: list[tuple[int, str]] = []

    @classmethod
    def from_model_dirs(
        cls, model_dirs: Sequence[str | Path], options: PredictorOptions | None = None
    ) -> Predictor:
        """Load the model folders (ours or SLEAP 1.x) and pick the pipeline."""
        options = options or PredictorOptions()
        if not model_dirs:
            raise ValueError("give at least one model folder")
        models = [load_model(d) for d in model_dirs]
        if options.batch_size is None:
            options = replace(options, batch_size=auto_batch_size())
        pipeline = _pipeline_of(models)
        # The instance-level model goes last.
        models.sort(key=lambda m: m.role != "centroid")
        _check_same_skeleton(models)
        peaks = PeakParams(options.peak_threshold, options.refinement)
        kw: dict[str, Any] = {
            "batch_size": options.batch_size,
            "jit_compile": options.jit_compile,
            "mixed_precision": options.mixed_precision,
        }
        if pipeline == "single":
            layer: InferenceLayer = SingleInstanceLayer(models[0], peaks, **kw)
        elif pipeline.startswith("top-down"):
            layer = TopDownLayer(
                models[0],
                models[1],
                max_instances=options.max_instances,
                peaks=peaks,
                centroid_peaks=PeakParams(options.peak_threshold, options.refinement),
                **kw,
            )
        else:
            paf = options.paf
            if options.max_instances is not None:
                paf = replace(paf, max_instances=options.max_instances)
            layer = BottomUpLayer(models[0], peaks, paf, **kw)
        from napari_sleap.infer.tta import resolve_mode, use_tta

        options = replace(options, tta=resolve_mode(options.tta, pipeline, layer.info))
        use_tta(layer, options.tta)
        predictor = cls(layer, pipeline, options)
        named = sleap1.skeleton_name(models[-1].folder)
        if named:  # SLEAP 1.x configs name their skeleton
            predictor.skeleton.name = named
        # SLEAP 1.x takes the frame size from the first (centroid) model's config.
        predictor.target_size = sleap1.target_size(models[0].folder)
        return predictor

    @property
    def class_names(self) -> list[str]:
        """Identity classes (track names) of id pipelines; empty otherwise."""
        return list(self.info.class_names)

    def predict_frame(self, frame: np.ndarray) -> FramePoses:
        """Poses in one ``(H, W, C)`` uint8 frame, as fast as possible."""
        if frame.ndim == 2:
            frame = frame[..., None]
        frames, ratio = self._fit(frame[None])
        return self._postprocess(self.layer.forward(frames), ratio)[0]

    def _fit(self, frames: np.ndarray) -> tuple[np.ndarray, float]:
        """Frames fitted to :attr:`target_size` (if set) and the resize ratio."""
        if self.target_size is None:
            return frames, 1.0
        from napari_sleap.infer.size_match import fit_frames

        return fit_frames(np.asarray(frames), self.target_size)

    def _postprocess(self, raw: dict, ratio: float) -> list[FramePoses]:
        """Poses of a batch, mapped back from a fitted frame size."""
        poses = self.layer.postprocess(raw)
        if ratio != 1.0:
            for p in poses:
                p.points = p.points / ratio
        return poses

    def warmup(self, height: int, width: int, channels: int = 1) -> None:
        """Trace and compile for this frame size before timing anything."""
        blank = np.zeros((self.options.batch_size, height, width, channels), np.uint8)
        self.layer(blank)
        self.layer(blank[:1])

    def _read_batches(
        self,
        reader: Any,
        frame_inds: Iterable[int],
        out: queue.Queue,
        stop_reading: threading.Event,
    ) -> None:
        """Reader thread: decode frames, skip unreadable ones, put batches."""
        bs = self.options.batch_size
        inds: list[int] = []
        imgs: list[np.ndarray] = []
        try:
            for i in frame_inds:
                if stop_reading.is_set():
                    break
                try:
                    img = np.asarray(reader[int(i)])
                except Exception as err:  # decoders raise many types on bad data
                    msg = f"frame {i} could not be read ({type(err).__name__}: {err})"
                    log.warning("%s; skipped", msg)
                    self.bad_frames.append((int(i), msg))
                    continue
                if img.ndim == 2:
                    img = img[..., None]
                inds.append(int(i))
                imgs.append(img)
                if len(inds) == bs:
                    out.put((inds, np.stack(imgs)))
                    inds, imgs = [], []
            if inds:
                out.put((inds, np.stack(imgs)))
        except BaseException as err:  # hand any failure to the consumer
            out.put(err)
        finally:
            out.put(_END)

    @staticmethod
    def _advance(
        done: int, inds: list[int], total: int, progress: ProgressFn | None
    ) -> int:
        done += len(inds)
        if progress:
            progress(done, total)
        return done

    def run(
        self,
        reader: Any,
        frame_inds: Sequence[int],
        progress: ProgressFn | None = None,
        stop: StopFlag | None = None,
    ) -> Iterator[tuple[list[int], list[FramePoses]]]:
        """Yield ``(frame indices, poses)`` per batch, in order.

        Args:
            reader: anything indexable by frame number giving ``(H, W, C)`` uint8
                (a :class:`napari_sleap.io.video.VideoReader`, a numpy array).
            frame_inds: frames to predict.
            progress: ``progress(done, total)`` after each batch.
            stop: stop flag; raises :class:`napari_sleap.progress.Cancelled`.
        """
        total = len(frame_inds)
        batches: queue.Queue = queue.Queue(maxsize=max(1, self.options.prefetch))
        stop_reading = threading.Event()
        thread = threading.Thread(
            target=self._read_batches,
            args=(reader, frame_inds, batches, stop_reading),
            daemon=True,
            name="napari-sleap-reader",
        )
        thread.start()
        post = ThreadPoolExecutor(max_workers=1, thread_name_prefix="napari-sleap-post")
        pending: tuple[list[int], Any] | None = None
        done = 0
        try:
            while True:
                item = batches.get()
                if item is _END:
                    break
                # Stop before starting new work; a run whose frames have all
                # been read finishes (so a caller's chunk is complete).
                check_stop(stop)
                if isinstance(item, BaseException):
                    raise item
                inds, imgs = item
                imgs, ratio = self._fit(imgs)
                raw = self.layer.forward(imgs)
                future = post.submit(self._postprocess, raw, ratio)
                # Progress counts frames through the network (early feedback);
                # their poses follow one batch later.
                done = self._advance(done, inds, total, progress)
                if pending is not None:
                    yield pending[0], pending[1].result()
                pending = (inds, future)
            if pending is not None:
                yield pending[0], pending[1].result()
            if progress and done < total:  # skipped unreadable frames
                progress(total, total)
        finally:
            stop_reading.set()
            while thread.is_alive():  # unblock a reader waiting on a full queue
                with contextlib.suppress(queue.Empty):
                    batches.get(timeout=0.05)
            post.shutdown(wait=True)
