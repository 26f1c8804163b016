"""Train/validation split of labeled frames, fixed by the seed.

``time`` holds out a later segment of each video: neighbours of training
frames look almost the same, so a random split flatters a model, while a
later segment shows how it does on frames it has not seen the like of.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from napari_sleap.config.base import ConfigError
from napari_sleap.config.data import SplitConfig
from napari_sleap.io.atomic import write_text
from napari_sleap.nn.data.examples import FrameSample


def split_samples(
    samples: list[FrameSample], cfg: SplitConfig, seed: int
) -> tuple[list[int], list[int]]:
    """Indices of training and validation samples.

    ``file`` splits keep every sample for training (validation comes from the
    other file); so does ``train_on_val``, which validates on a subset of them.

    Raises:
        ConfigError: when the split leaves no training frames.
    """
    n = len(samples)
    if cfg.method == "file" or cfg.val_fraction == 0 and cfg.method == "fraction":
        return list(range(n)), []
    if cfg.method == "fraction":
        n_val = max(1, int(round(cfg.val_fraction * n))) if n > 1 else 0
        order = np.random.default_rng(seed).permutation(n)
        val = sorted(int(i) for i in order[:n_val])
    elif cfg.val_from_frame is not None:
        val = [i for i, s in enumerate(samples) if s.frame_index >= cfg.val_from_frame]
    else:
        val = []
        for v in sorted({s.video_index for s in samples}):
            idx = sorted(
                (i for i, s in enumerate(samples) if s.video_index == v),
                key=lambda i: samples[i].frame_index,
            )
            n_val = math.ceil(cfg.val_fraction * len(idx)) if len(idx) > 1 else 0
            val.extend(idx[len(idx) - n_val :])
        val.sort()
    val_set = set() if cfg.train_on_val else set(val)
    train = [i for i in range(n) if i not in val_set]
    if not train:
        raise ConfigError(
            "data.split",
            f"the {cfg.method} split leaves no training frames out of {n}; lower "
            "val_fraction or raise val_from_frame",
        )
    return train, val


def save_split(
    path: str | Path,
    cfg: SplitConfig,
    videos: list[str],
    train: list[FrameSample],
    val: list[FrameSample],
    val_videos: list[str] | None = None,
) -> Path:
    """Write ``split.json`` (video file and frame of every example) atomically."""
    val_videos = videos if val_videos is None else val_videos
    data = {
        "method": cfg.method,
        "val_fraction": cfg.val_fraction,
        "val_from_frame": cfg.val_from_frame,
        "val_labels": str(cfg.val_labels) if cfg.val_labels else None,
        "train_on_val": cfg.train_on_val,
        "train": [[videos[s.video_index], s.frame_index] for s in train],
        "val": [[val_videos[s.video_index], s.frame_index] for s in val],
    }
    return write_text(Path(path), json.dumps(data, indent=1))
