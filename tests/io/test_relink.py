"""Relinking a moved video: the chosen file must fit the labels; saving keeps it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sleap_io as sio

from napari_sleap.io.labels import (
    VideoMismatchError,
    compare_labels,
    load_labels,
    save_labels,
)
from napari_sleap.io.relink import relink_video, search_folder, unusable_videos


@pytest.fixture
def moved(tmp_path, clip_train_slp, clip_mp4):
    """clip_train.slp alone in labels/, the clip in a deeper folder elsewhere."""
    (tmp_path / "labels").mkdir()
    slp = Path(shutil.copy(clip_train_slp, tmp_path / "labels" / "train.slp"))
    far = tmp_path / "disk" / "videos" / "2024"
    far.mkdir(parents=True)
    shutil.copy(clip_mp4, far / "clip.mp4")
    return slp, far / "clip.mp4"


def _open(slp: Path) -> sio.Labels:
    with pytest.warns(UserWarning, match="clip.mp4"):
        return load_labels(slp, missing_videos="warn")


def test_relink_then_save_writes_the_new_path(moved, clip_train_slp):
    slp, video_path = moved
    labels = _open(slp)
    assert unusable_videos(labels) == [labels.videos[0]]
    new = relink_video(labels, labels.videos[0], video_path)
    assert new == video_path.resolve() and unusable_videos(labels) == []
    assert labels.videos[0].shape[:3] == (1500, 1024, 1024)
    save_labels(labels, slp)
    back = sio.load_slp(str(slp))
    assert back.videos[0].filename == str(video_path.resolve())
    original = sio.load_slp(str(clip_train_slp), open_videos=False)
    assert compare_labels(original, back) == []


def test_search_folder_finds_it_levels_below(moved):
    slp, video_path = moved
    labels = _open(slp)
    found = search_folder(labels, labels.videos[0], video_path.parents[2])
    assert found == video_path.resolve()
    assert labels.videos[0].filename == str(video_path.resolve())


def test_wrong_video_refused_naming_both_sizes(moved, sample_small):
    slp, video_path = moved
    labels = _open(slp)
    video = labels.videos[0]
    with pytest.raises(VideoMismatchError, match=r"192x192 with 60 frames.*up to"):
        relink_video(labels, video, sample_small.video)
    assert video.filename != str(sample_small.video)
    # A file that recorded its video's shape names that size.
    relink_video(labels, video, video_path)
    save_labels(labels, slp)
    video_path.rename(video_path.with_name("moved_again.mp4"))
    again = _open(slp)
    with pytest.raises(VideoMismatchError) as err:
        relink_video(again, again.videos[0], sample_small.video)
    assert "192x192 with 60 frames" in str(err.value)
    assert "1024x1024 video of 1500 frames" in str(err.value)


def test_search_folder_names_what_it_did_not_find(moved, sample_small, tmp_path):
    slp, _ = moved
    labels = _open(slp)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no clip.mp4 in it"):
        search_folder(labels, labels.videos[0], empty)
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    shutil.copy(sample_small.video, decoy / "clip.mp4")
    with pytest.raises(VideoMismatchError, match="192x192"):
        search_folder(labels, labels.videos[0], decoy)
    with pytest.raises(FileNotFoundError, match="no such file"):
        relink_video(labels, labels.videos[0], tmp_path / "nope.mp4")
