"""The files the bad-input cases start from: a small sample, a decoy, a tiny model.

Built once per session (or per ``count`` run) in one folder; every case copies
what it needs into a folder of its own, so a case that destroys a file destroys
only its copy and the snapshot comparison sees it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

#: Training overrides that make the bottom-up model tiny and its training a few steps.
TINY_TRAINING = {
    "model": {"backbone": {"unet": {"filters": 8, "filters_rate": 1.5}}},
    "data": {"max_input_size": 96},
    "optim": {"epochs": 1, "steps_per_epoch": 2, "batch_size": 2, "val_batches": 1},
}


@dataclass
class World:
    """Paths of the shared inputs (read-only for the cases: they copy)."""

    root: Path
    sample: Path  # folder: sample.mp4, sample_gt.slp, sample_train.slp (bare names)
    short: Path  # folder: the same kind of sample with 30 frames
    decoy: Path  # folder: a 96x96 'sample.mp4' that is not the labeled video
    tiny_yaml: Path
    model: Path | None = None  # a trained bottom_up model folder, made on demand

    def copy_sample(self, dest: Path, names: tuple[str, ...] = ()) -> Path:
        """Copy the sample's files (all, or ``names``) into ``dest``."""
        dest.mkdir(parents=True, exist_ok=True)
        for f in sorted(self.sample.iterdir()):
            if f.is_file() and (not names or f.name in names):
                shutil.copy2(f, dest / f.name)
        return dest


def cli(
    args: list[str],
    cwd: Path,
    src: Path | None = None,
    timeout: float = 300,
    limit_bytes: int | None = None,
) -> subprocess.CompletedProcess:
    """Run ``napari-sleap ARGS`` in a fresh process (``src``: another checkout).

    ``limit_bytes`` caps the size of any file the process writes (RLIMIT_FSIZE),
    the way a nearly full disk stops a writer, without root or a mount.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="default")
    if src is not None:
        env["PYTHONPATH"] = str(src)
    preexec = None
    if limit_bytes is not None:

        def preexec() -> None:
            import resource
            import signal

            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "napari_sleap", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec,
    )


def build_world(root: Path) -> World:
    """Make the sample (60 frames of 192 px), a 30-frame one and a 96 px decoy."""
    from napari_sleap.sample import ensure_sample

    root.mkdir(parents=True, exist_ok=True)
    sample = ensure_sample(root / "sample", n_frames=60, size=192).folder
    short = ensure_sample(root / "short", n_frames=30, size=192).folder
    decoy = ensure_sample(root / "decoy", n_frames=60, size=96).folder
    tiny = root / "tiny.yaml"
    tiny.write_text(yaml.safe_dump(TINY_TRAINING))
    return World(root, sample, short, decoy, tiny)


def ensure_model(world: World, src: Path | None = None) -> Path:
    """Train the tiny bottom-up model once (a few steps) and return its folder."""
    if world.model is not None:
        return world.model
    out = world.root / "models"
    done = out / "bottom_up" / "best.keras"
    if not done.exists():
        labels = world.copy_sample(world.root / "train_in")
        r = cli(
            [
                "train",
                str(labels / "sample_train.slp"),
                "--pipeline",
                "bottom-up",
                "-o",
                str(out),
                "--config",
                str(world.tiny_yaml),
                "--quiet",
            ],
            cwd=world.root,
            src=src,
        )
        if r.returncode != 0:
            raise RuntimeError(f"tiny model training failed:\n{r.stderr[-3000:]}")
    world.model = out / "bottom_up"
    return world.model


def as_predictions(src: Path, dst: Path, *, inf_points: int = 0) -> Path:
    """Save ``src``'s user instances as predicted instances (score 1) in ``dst``."""
    import sleap_io as sio

    labels = sio.load_slp(str(src), open_videos=False)
    for lf in labels.labeled_frames:
        lf.instances = [
            sio.PredictedInstance.from_numpy(
                inst.numpy(),
                skeleton=inst.skeleton,
                point_scores=np.ones(len(inst.skeleton.nodes)),
                score=1.0,
                track=inst.track,
            )
            for inst in lf.user_instances
        ]
    labels.save(str(dst))
    return dst


def edit_points(src: Path, dst: Path, change) -> Path:
    """Copy labels with ``change(points, frame_index, instance_index)`` applied."""
    import sleap_io as sio

    labels = sio.load_slp(str(src), open_videos=False)
    for lf in labels.labeled_frames:
        for k, inst in enumerate(lf.user_instances):
            pts = inst.numpy().copy()
            change(pts, int(lf.frame_idx), k)
            inst.points["xy"] = pts
    labels.save(str(dst))
    return dst
