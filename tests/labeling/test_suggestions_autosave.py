"""Frame suggestions (uniform, random, image features on the real clip) and autosave."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from napari_sleap.io.labels import compare_labels, load_labels, save_labels
from napari_sleap.io.video import open_video
from napari_sleap.labeling import Autosaver, SetPoints, UndoStack, find_recovery
from napari_sleap.labeling import suggestions as sg
from napari_sleap.labeling.autosave import autosave_path, discard
from napari_sleap.progress import Cancelled
from tests.labeling.helpers import sample_labels


def test_uniform_and_random() -> None:
    assert sg.uniform(100, 4) == [12, 37, 62, 87]
    assert sg.uniform(3, 10) == [0, 1, 2]
    r = sg.random(1000, 20, seed=1)
    assert len(r) == 20 and r == sorted(r) and r == sg.random(1000, 20, seed=1)
    with pytest.raises(ValueError, match="must be positive"):
        sg.uniform(10, 0)
    with pytest.raises(ValueError, match="expected one of"):
        sg.suggest("nope", 10, 2)


def test_image_features_on_synthetic_scenes() -> None:
    # three distinct looks, in runs: one pick must land in each run
    rng = np.random.default_rng(0)
    looks = [rng.integers(0, 255, (64, 64)).astype(np.uint8) for _ in range(3)]
    frames = np.stack([looks[i // 40] for i in range(120)])
    frames = np.clip(frames + rng.normal(0, 3, frames.shape), 0, 255)
    picks = sg.image_features(frames, 3, sample=60, size=16, seed=0)
    assert sorted({p // 40 for p in picks}) == [0, 1, 2]


def test_image_features_on_clip(clip_mp4) -> None:
    """The flies stand still up to frame 999 and move after: both get picks."""
    with open_video(clip_mp4) as reader:
        frames = _Frames(reader)
        done = []
        picks = sg.image_features(
            frames, 6, sample=40, progress=lambda d, t: done.append((d, t))
        )
    assert 3 <= len(picks) <= 6 and all(0 <= p < 1500 for p in picks)
    assert any(p >= 1000 for p in picks) and done[-1] == (40, 40)
    stop = threading.Event()
    stop.set()
    with open_video(clip_mp4) as reader, pytest.raises(Cancelled):
        sg.image_features(_Frames(reader), 3, sample=10, stop=stop)


class _Frames:
    def __init__(self, reader) -> None:
        self.reader = reader

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.reader.read(i)


def test_autosave_and_recovery(tmp_path) -> None:
    labels = sample_labels()
    project = save_labels(labels, tmp_path / "project.slp")
    assert autosave_path(project).name == "project.autosave.slp"
    assert autosave_path(tmp_path / "p.pkg.slp").name == "p.autosave.slp"
    now = [0.0]
    saver = Autosaver(lambda: labels, project, interval=10, clock=lambda: now[0])
    assert saver.maybe_save() is None  # nothing edited
    inst = labels.labeled_frames[0].instances[0]
    UndoStack().push(SetPoints(labels, instance=inst, xy=inst.numpy() + 3))
    saver.mark_dirty()
    assert saver.maybe_save() is None  # not due yet
    now[0] = 11.0
    time.sleep(0.01)
    side = saver.maybe_save()
    assert side == autosave_path(project) and saver.saves == 1
    # "crash": reopen finds the newer side file, which holds the edit
    found = find_recovery(project)
    assert found == side
    recovered = load_labels(found, missing_videos="ignore")
    assert compare_labels(recovered, labels) == []
    assert compare_labels(load_labels(project, missing_videos="ignore"), labels)
    saver.saved()
    assert not side.exists() and find_recovery(project) is None
    discard(project)  # no side file: fine
