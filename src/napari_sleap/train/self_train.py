"""Self-training of a centered-instance model on the videos' unlabeled frames.

Phase 1 trains on the user labels for ``self_train.first_phase`` of the epochs
and of the time budget. Its best model, with the pipeline's centroid model,
predicts a sample of unlabeled frames spread over the labeled videos (images
only: no label of those frames is read). Frames where every expected animal is
found with every node confident, and no two animals overlap, become
pseudo-labels (``<model>/self_train/pseudo_labels.slp``, predicted instances,
beside the user's file, which is never written). Phase 2 fine-tunes phase 1's
weights on the user labels plus the pseudo-labels, at lower weight, for the
rest of the budget, into the model folder itself; phase 1's best model is
copied there first, so a job stopped at any point leaves a usable model.
"""

from __future__ import annotations

import copy
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from napari_sleap.config.self_train import SelfTrainConfig
from napari_sleap.nn.data.examples import FrameSample
from napari_sleap.nn.data.frames import read_frames
from napari_sleap.nn.model_info import INFO_FILE
from napari_sleap.progress import StopFlag, check_stop
from napari_sleap.train.fit import fit_prepared
from napari_sleap.train.prepare import TrainingSet

SELF_TRAIN_DIR = "self_train"
PHASE1_DIR = "phase1"
PSEUDO_FILE = "pseudo_labels.slp"


@dataclass
class PseudoLabels:
    """What pseudo-labeling kept and why the rest was dropped.

    Attributes:
        samples: the kept frames as training samples (``labels.videos`` indices).
        predicted: frames predicted.
        rejected: frames dropped per reason (``count``, ``score``, ``overlap``,
            ``flip``).
    """

    samples: list[FrameSample]
    predicted: int
    rejected: dict[str, int]


def pick_unlabeled_frames(
    labels, n: int, exclude: list[tuple[int, int]] = ()
) -> list[tuple[int, int]]:
    """``n`` frames ``(video, frame)`` spread evenly over every video of ``labels``.

    Frames holding a user instance and frames in an ``exclude`` range
    (``[start, stop)``) are skipped; each video gets a share by its length.
    """
    labeled = {
        (labels.videos.index(lf.video), int(lf.frame_idx))
        for lf in labels.labeled_frames
        if lf.user_instances
    }
    lengths = []
    for video in labels.videos:
        shape = video.shape
        lengths.append(int(shape[0]) if shape is not None else 0)
    total = sum(lengths)
    out: list[tuple[int, int]] = []
    for v, length in enumerate(lengths):
        if not length:
            continue
        free = [
            f
            for f in range(length)
            if (v, f) not in labeled and not any(a <= f < b for a, b in exclude)
        ]
        want = min(len(free), max(1, round(n * length / total)))
        if not free or want <= 0:
            continue
        picks = np.linspace(0, len(free) - 1, want).round().astype(int)
        out.extend((v, free[i]) for i in sorted(set(picks.tolist())))
    return out


def _box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of the bounding boxes of two ``(nodes, 2)`` poses."""
    lo = np.maximum(a.min(0), b.min(0))
    hi = np.minimum(a.max(0), b.max(0))
    inter = float(np.prod(np.clip(hi - lo, 0, None)))
    area_a = float(np.prod(a.max(0) - a.min(0)))
    area_b = float(np.prod(b.max(0) - b.min(0)))
    union = area_a + area_b - inter
    return inter / union if union > 0 else 1.0


def check_confident(
    points: np.ndarray, scores: np.ndarray, n_expected: int, cfg: SelfTrainConfig
) -> str | None:
    """Why a frame's poses are not confident enough, or None when they are.

    Args:
        points: ``(instances, nodes, 2)``; NaN where a node was not found.
        scores: ``(instances, nodes)`` peak confidences.
        n_expected: animals every kept frame must hold.
        cfg: the thresholds.

    Returns:
        ``count`` (animals missing or extra), ``score`` (a node missing or
        unsure), ``overlap`` (one animal twice, or a part claimed by two) or None.
    """
    if len(points) != n_expected:
        return "count"
    s = np.nan_to_num(np.asarray(scores, dtype=float), nan=0.0)
    found = np.isfinite(points).all(axis=-1) & (s >= cfg.min_node_score)
    if ((~found).sum(axis=1) > cfg.max_missing_nodes).any():
        return "score"
    mean = np.where(found, s, 0).sum(axis=1) / np.maximum(found.sum(axis=1), 1)
    if (mean < cfg.min_instance_score).any():
        return "score"
    pts = np.where(found[..., None], points, np.nan)
    for i in range(len(pts)):
        for j in range(i + 1, len(pts)):
            a, b = pts[i][found[i]], pts[j][found[j]]
            if _box_iou(a, b) > cfg.max_box_iou:
                return "overlap"
            gaps = np.linalg.norm(a[:, None] - b[None], axis=-1)
            if gaps.min() < cfg.min_node_gap:
                return "overlap"
    return None


def confident_points(
    points: np.ndarray, scores: np.ndarray, cfg: SelfTrainConfig
) -> np.ndarray:
    """``points`` with the nodes below ``min_node_score`` set to NaN (not visible)."""
    s = np.nan_to_num(np.asarray(scores, dtype=float), nan=0.0)
    return np.where((s >= cfg.min_node_score)[..., None], points, np.nan)


def flip_agrees(
    points: np.ndarray,
    mirrored: np.ndarray,
    width: int,
    permutation: np.ndarray,
    tolerance: float,
) -> bool:
    """Whether poses of a mirrored frame, mirrored back, match ``points``.

    ``mirrored`` holds the poses found in ``frame[:, ::-1]``; they are mapped
    back (x -> width - 1 - x, left/right nodes swapped by ``permutation``) and
    matched to ``points`` by nearest mean position; every node must lie within
    ``tolerance`` pixels.
    """
    if len(mirrored) != len(points):
        return False
    back = mirrored[:, permutation].copy()
    back[..., 0] = width - 1 - back[..., 0]
    used: set[int] = set()
    for p in points:
        dist = [
            np.inf if k in used else float(np.linalg.norm(p.mean(0) - q.mean(0)))
            for k, q in enumerate(back)
        ]
        k = int(np.argmin(dist))
        used.add(k)
        err = np.linalg.norm(p - back[k], axis=-1)
        if not np.isfinite(err).all() or err.max() > tolerance:
            return False
    return True


def pseudo_label(
    labels,
    model_dirs: list[Path],
    keys: list[tuple[int, int]],
    cfg: SelfTrainConfig,
    *,
    channels: int,
    n_expected: int,
    permutation: np.ndarray | None,
    frame_cache: dict | None = None,
    stop: StopFlag | None = None,
) -> PseudoLabels:
    """Predict the frames ``keys`` of ``labels``' videos and keep confident ones.

    Decoded frames go into ``frame_cache`` under the training set's keys, so
    phase 2 does not decode them again.
    """
    from napari_sleap.infer.predictor import Predictor, PredictorOptions

    opts = PredictorOptions(batch_size=1, max_instances=n_expected)
    predictor = Predictor.from_model_dirs(model_dirs, opts)
    frames = read_frames(labels, keys, channels, stop=stop)
    if frame_cache is not None:
        frame_cache.update({(id(labels), channels, *k): f for k, f in frames.items()})
    rejected = {"count": 0, "score": 0, "overlap": 0, "flip": 0}
    kept: list[FrameSample] = []
    for v in sorted({v for v, _ in keys}):
        inds = [f for vv, f in keys if vv == v]
        images = {f: frames[(v, f)] for f in inds}
        found = {}
        for batch_inds, poses in predictor.run(images, inds, stop=stop):
            for f, p in zip(batch_inds, poses, strict=True):
                found[f] = p
        mirrored = {}
        if cfg.flip_agreement is not None and permutation is not None:
            flipped = {f: np.ascontiguousarray(images[f][:, ::-1]) for f in inds}
            for batch_inds, poses in predictor.run(flipped, inds, stop=stop):
                for f, p in zip(batch_inds, poses, strict=True):
                    mirrored[f] = p.points
        for f in inds:
            p = found[f]
            pts = np.asarray(p.points, dtype=np.float64)
            why = check_confident(pts, p.point_scores, n_expected, cfg)
            if why is None and mirrored:
                width = images[f].shape[1]
                agree = flip_agrees(
                    pts, mirrored[f], width, permutation, cfg.flip_agreement
                )
                why = None if agree else "flip"
            if why is not None:
                rejected[why] += 1
                continue
            kept.append(
                FrameSample(
                    video_index=v,
                    frame_index=int(f),
                    points=confident_points(pts, p.point_scores, cfg),
                    class_ids=np.full(len(pts), -1, dtype=np.int64),
                )
            )
    return PseudoLabels(kept, len(keys), rejected)


def save_pseudo_labels(path: Path, labels, samples: list[FrameSample]) -> Path:
    """Write the pseudo-labels as predicted instances in a ``.slp`` of their own."""
    import sleap_io as sio

    from napari_sleap.io.labels import save_labels

    skeleton = labels.skeletons[0]
    frames = []
    for s in samples:
        instances = [
            sio.PredictedInstance.from_numpy(
                pts, skeleton=skeleton, point_scores=np.ones(len(pts)), score=1.0
            )
            for pts in s.points
        ]
        frames.append(
            sio.LabeledFrame(
                video=labels.videos[s.video_index],
                frame_idx=s.frame_index,
                instances=instances,
            )
        )
    out = sio.Labels(
        labeled_frames=frames, videos=list(labels.videos), skeletons=[skeleton]
    )
    return save_labels(out, path)


def load_pseudo_labels(path: Path, labels) -> list[FrameSample]:
    """Read pseudo-labels saved by :func:`save_pseudo_labels` as training samples.

    Videos are matched to ``labels.videos`` by file name.
    """
    import sleap_io as sio

    saved = sio.load_slp(str(path), open_videos=False)
    names = [str(v.filename) for v in labels.videos]
    out = []
    for lf in saved.labeled_frames:
        pts = np.stack([np.asarray(i.numpy(), dtype=np.float64)[:, :2] for i in lf])
        out.append(
            FrameSample(
                video_index=names.index(str(lf.video.filename)),
                frame_index=int(lf.frame_idx),
                points=pts,
                class_ids=np.full(len(pts), -1, dtype=np.int64),
            )
        )
    return out


def _phase_config(tset: TrainingSet, share: float, minutes: float | None):
    """The config of one phase: a share of the epochs and a time budget."""
    cfg = copy.deepcopy(tset.config)
    cfg.optim.epochs = max(1, math.ceil(cfg.optim.epochs * share))
    cfg.optim.max_minutes = minutes
    return cfg


def _copy_model(src: Path, dst: Path) -> None:
    """Copy a usable model (best checkpoint + model info) into ``dst``."""
    keras_file = next(src.glob("*.keras"), None)
    if keras_file is None or not (src / INFO_FILE).exists():
        return
    dst.mkdir(parents=True, exist_ok=True)
    for path in (keras_file, src / INFO_FILE):
        tmp = dst / f".{path.name}.part"
        shutil.copyfile(path, tmp)
        tmp.replace(dst / path.name)


def fit_self_trained(
    tset: TrainingSet,
    model_dir: str | Path,
    centroid_dir: str | Path,
    *,
    restart: bool = False,
    stop: StopFlag | None = None,
    frame_cache: dict | None = None,
    say: Callable[[str], None] | None = None,
    **fit_kw,
) -> Path:
    """Train ``tset`` (a centered-instance model) in two phases with pseudo-labels.

    Args:
        tset: the prepared model; ``tset.config.self_train`` holds the settings.
        model_dir: the model folder (phase 2's model; phase 1 and the
            pseudo-labels go to ``model_dir/self_train/``).
        centroid_dir: the trained centroid model of the pipeline.
        restart: start both phases and the pseudo-labels over.
        stop: stop flag (Cancelled after phase 1's best model is copied over).
        frame_cache: decoded frames shared across the pipeline.
        say: receives progress lines for people.
        **fit_kw: passed to :func:`fit_prepared` (progress, callbacks, verbose).
    """
    t0 = time.monotonic()
    out = Path(model_dir)
    work = out / SELF_TRAIN_DIR
    phase1 = work / PHASE1_DIR
    st = tset.config.self_train
    budget = tset.config.optim.max_minutes

    def tell(text: str) -> None:
        if say is not None:
            say(text)

    if restart and work.exists():
        shutil.rmtree(work)
    minutes1 = None if budget is None else budget * st.first_phase
    cfg1 = _phase_config(tset, st.first_phase, minutes1)
    # Phase 1 does not depend on the pseudo-label rules: changing them reuses it.
    cfg1.self_train = SelfTrainConfig(enabled=True, first_phase=st.first_phase)
    tset1 = replace(tset, config=cfg1)
    tell(f"{tset.info.role}: self-training phase 1 -> {phase1}")
    try:
        fit_prepared(
            tset1, phase1, stop=stop, restart=restart, frame_cache=frame_cache, **fit_kw
        )
    finally:  # stopped or not, phase 1's best model is usable at once
        if not (out / tset.info.keras_file).exists():
            _copy_model(phase1, out)

    pseudo_path = work / PSEUDO_FILE
    if pseudo_path.exists():
        pseudo = load_pseudo_labels(pseudo_path, tset.labels)
        tell(f"{tset.info.role}: {len(pseudo)} pseudo-labeled frames, {pseudo_path}")
    else:
        keys = pick_unlabeled_frames(tset.labels, st.frames, st.exclude_frames)
        n_expected = max(len(s.points) for s in tset.train)
        tell(f"{tset.info.role}: predicting {len(keys)} unlabeled frames")
        got = pseudo_label(
            tset.labels,
            [Path(centroid_dir), phase1],
            keys,
            st,
            channels=tset.info.input_channels,
            n_expected=n_expected,
            permutation=tset.flip_permutation,
            frame_cache=frame_cache,
            stop=stop,
        )
        pseudo = got.samples
        save_pseudo_labels(pseudo_path, tset.labels, pseudo)
        tell(
            f"{tset.info.role}: kept {len(pseudo)} of {got.predicted} frames as "
            f"pseudo-labels (dropped: {got.rejected}) -> {pseudo_path}"
        )
    check_stop(stop)

    minutes2 = None
    if budget is not None:
        minutes2 = budget - (time.monotonic() - t0) / 60.0
        if minutes2 <= 0.05:
            tell(f"{tset.info.role}: no time left for phase 2; phase 1's model kept")
            return out
    repeat = max(1, round(1.0 / st.weight))
    train = [s for s in tset.train for _ in range(repeat)] + pseudo
    tset2 = replace(
        tset,
        config=_phase_config(tset, 1.0 - st.first_phase, minutes2),
        train=train,
    )
    tell(
        f"{tset.info.role}: self-training phase 2 on {len(tset.train)} labeled "
        f"(x{repeat}) + {len(pseudo)} pseudo-labeled frames -> {out}"
    )
    return fit_prepared(
        tset2,
        out,
        stop=stop,
        restart=restart,
        frame_cache=frame_cache,
        init_from=phase1 / tset.info.keras_file,
        **fit_kw,
    )
