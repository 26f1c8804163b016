"""Image-feature suggestions (HOG, raw, ORB) pick frames of different poses."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.io.video import open_video
from napari_sleap.labeling import frame_features as ff
from napari_sleap.labeling import suggestions as sg
from tests.labeling.pose_spread import LAST_FRAME, pose_descriptors, pose_spread


def _scenes(size: int = 96) -> np.ndarray:
    """Three runs of 40 frames, each run a different arrangement of shapes."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    looks = []
    for k in range(3):
        img = np.full((size, size), 40.0)
        for _ in range(6):
            cy, cx = rng.uniform(10, size - 10, 2)
            r = rng.uniform(4, 10)
            img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = 200 - 40 * k
        looks.append(img)
    frames = np.stack([looks[i // 40] for i in range(120)])
    return np.clip(frames + rng.normal(0, 3, frames.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("feature", ff.FEATURES)
def test_each_feature_finds_the_three_scenes(feature):
    picks = sg.image_features(_scenes(), 3, feature=feature, sample=60, seed=0)
    assert sorted({p // 40 for p in picks}) == [0, 1, 2], picks


def test_per_cluster_and_bad_arguments():
    picks = sg.image_features(_scenes(), 6, feature="raw", per_cluster=2, sample=60)
    assert len(picks) == 6 and sorted({p // 40 for p in picks}) == [0, 1, 2]
    with pytest.raises(ValueError, match="expected one of"):
        sg.image_features(_scenes(), 3, feature="sift")
    with pytest.raises(ValueError, match="per_cluster must be positive"):
        sg.image_features(_scenes(), 3, per_cluster=0)
    assert ff.orb_descriptors(np.zeros((64, 64))).size == 0  # a flat frame: no words


class _FirstFrames:
    """Frames 0..LAST_FRAME of a reader (later frames are never read)."""

    def __init__(self, reader) -> None:
        self.reader = reader

    def __len__(self) -> int:
        return LAST_FRAME + 1

    def __getitem__(self, i: int) -> np.ndarray:
        return self.reader.read(int(i))


@pytest.mark.slow
def test_hog_picks_cover_more_poses_than_uniform(clip_mp4, clip_all_slp):
    """On the real clip, HOG picks span more kinds of pose than evenly spaced ones.

    Scored with the proofread poses of frames 0..1249: of 20 pose clusters, how
    many the 20 picks reach, and the mean distance of every frame to a pick
    (bench/bench_suggestions.py measures every feature the same way).
    """
    desc = pose_descriptors(sio.load_slp(str(clip_all_slp), open_videos=False))
    n, k = LAST_FRAME + 1, 20
    with open_video(clip_mp4) as reader:
        hog = pose_spread(desc, sg.image_features(_FirstFrames(reader), k, sample=300))
    uniform = pose_spread(desc, sg.uniform(n, k))
    randoms = [pose_spread(desc, sg.random(n, k, seed=s)) for s in range(10)]
    best_random = max(r["pose_clusters"] for r in randoms)
    print(f"hog {hog}, uniform {uniform}, best of 10 random {best_random}")
    assert hog["pose_clusters"] >= uniform["pose_clusters"] + 3
    assert hog["pose_clusters"] > best_random
    assert hog["coverage"] <= uniform["coverage"]


def test_cli_suggest_saves_picks_as_suggestions(sample_small, tmp_path, capsys):
    from napari_sleap.cli import main

    out = tmp_path / "suggested.slp"
    argv = ["suggest", str(sample_small.train), "-k", "5", "--sample", "40"]
    assert main([*argv, "--feature", "hog", "-o", str(out)]) == 0
    printed = [int(f) for f in capsys.readouterr().out.split()]
    saved = sio.load_slp(str(out), open_videos=False)
    assert [s.frame_idx for s in saved.suggestions] == printed and len(printed) == 5
    labeled = {lf.frame_idx for lf in saved.labeled_frames if lf.user_instances}
    assert labeled and not labeled & set(printed)  # labeled frames are not suggested
    train = sio.load_slp(str(sample_small.train), open_videos=False)
    assert len(saved.labeled_frames) == len(train.labeled_frames)
    assert main([*argv, "--method", "uniform", "-o", str(out)]) == 0
    again = sio.load_slp(str(out), open_videos=False)
    assert [s.frame_idx for s in again.suggestions] == sg.uniform(60, 5)
