"""Loading and saving .slp files: lossless round trips, clear errors, safe saves."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.io.labels import (
    LabelsFileError,
    MissingVideoError,
    compare_labels,
    find_missing_videos,
    is_embedded,
    load_labels,
    save_labels,
)
from tests.fixtures.shared_data import SHARED_DATA, missing_shared_data


def _all_shared_slp() -> list[Path]:
    return sorted(SHARED_DATA.rglob("*.slp")) if SHARED_DATA.exists() else []


@pytest.mark.shared_data
@pytest.mark.parametrize("path", _all_shared_slp(), ids=lambda p: p.name)
def test_round_trip_every_shared_slp(path: Path, tmp_path: Path) -> None:
    labels = load_labels(path)
    out = save_labels(labels, tmp_path / path.name)
    again = load_labels(out)
    assert compare_labels(labels, again) == []
    # and sleap-io itself reads what we wrote
    assert len(sio.load_slp(str(out))) == len(labels)


def test_shared_data_present_or_skipped() -> None:
    if not _all_shared_slp():
        missing_shared_data(f"any .slp file in {SHARED_DATA}")
    assert len(_all_shared_slp()) >= 3


def _rich_labels(video_paths: list[Path]) -> sio.Labels:
    """Two videos, user + predicted instances, tracks, symmetries, suggestions."""
    skel = sio.Skeleton(
        ["head", "thorax", "wingL", "wingR"],
        edges=[("head", "thorax"), ("thorax", "wingL"), ("thorax", "wingR")],
        symmetries=[("wingL", "wingR")],
        name="fly4",
    )
    videos = [sio.Video.from_filename(str(p)) for p in video_paths]
    tracks = [sio.Track("male"), sio.Track("female")]
    rng = np.random.default_rng(0)
    lfs = []
    for vi, video in enumerate(videos):
        for frame in (3, 10 + vi):
            pts = rng.uniform(0, 200, size=(4, 2))
            pts[2] = np.nan  # an invisible node
            user = sio.Instance.from_numpy(pts, skeleton=skel, track=tracks[0])
            pred = sio.PredictedInstance.from_numpy(
                rng.uniform(0, 200, size=(4, 2)),
                point_scores=rng.uniform(0, 1, size=4),
                score=0.75,
                skeleton=skel,
                track=tracks[1],
                tracking_score=0.5,
            )
            user.from_predicted = pred  # a user instance made from a prediction
            lfs.append(
                sio.LabeledFrame(video=video, frame_idx=frame, instances=[user, pred])
            )
    labels = sio.Labels(lfs, videos=videos, skeletons=[skel], tracks=tracks)
    labels.suggestions = [sio.SuggestionFrame(video=videos[1], frame_idx=7)]
    return labels


def _two_videos(tmp_path: Path, clip_mp4: Path) -> list[Path]:
    sm = SHARED_DATA / "sleap1_models" / "small_robot.mp4"
    out = [clip_mp4]
    if sm.exists():
        out.append(sm)
    else:
        out.append(shutil.copy(clip_mp4, tmp_path / "copy.mp4"))
    return out


def test_round_trip_everything(tmp_path: Path, clip_mp4: Path) -> None:
    labels = _rich_labels(_two_videos(tmp_path, clip_mp4))
    again = load_labels(save_labels(labels, tmp_path / "rich.slp"))
    assert compare_labels(labels, again) == []
    skel = again.skeletons[0]
    assert skel.symmetry_inds and sorted(skel.symmetry_inds[0]) == [2, 3]
    assert len(again.videos) == 2 and len(again.suggestions) == 1
    preds = [i for i in again.instances if isinstance(i, sio.PredictedInstance)]
    assert preds and all(p.score == pytest.approx(0.75) for p in preds)
    user = [i for i in again.instances if type(i) is sio.Instance]
    assert all(isinstance(u.from_predicted, sio.PredictedInstance) for u in user)
    assert not user[0].points["visible"][2] and np.isnan(user[0].numpy()[2]).all()


def test_comparison_sees_a_moved_point(tmp_path: Path, clip_mp4: Path) -> None:
    labels = _rich_labels(_two_videos(tmp_path, clip_mp4))
    again = load_labels(save_labels(labels, tmp_path / "rich.slp"))
    again.labeled_frames[0].instances[0].points["xy"][0] += 1.0
    diffs = compare_labels(labels, again)
    assert len(diffs) == 1 and "points differ" in diffs[0]


@pytest.mark.slow
def test_pkg_slp_embedded_images_round_trip(
    tmp_path: Path, clip_train_slp: Path
) -> None:
    labels = load_labels(clip_train_slp)
    labels = sio.Labels(
        labels.labeled_frames[:3],
        videos=labels.videos,
        skeletons=labels.skeletons,
        tracks=labels.tracks,
    )
    pkg = save_labels(labels, tmp_path / "clip.pkg.slp", embed="user")
    again = load_labels(pkg)
    assert is_embedded(again.videos[0])
    assert compare_labels(labels, again) == []
    frame = labels.labeled_frames[0].frame_idx
    embedded = again.videos[0][frame]
    source = labels.videos[0][frame]
    assert embedded.shape == source.shape
    # PNG embedding is lossless
    assert np.array_equal(embedded, source)
    # and re-saving a .pkg.slp elsewhere keeps the images
    again2 = load_labels(save_labels(again, tmp_path / "copy.pkg.slp", embed="user"))
    assert np.array_equal(again2.videos[0][frame], source)


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.slp"):
        load_labels(tmp_path / "nope.slp")


def test_not_hdf5_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.slp"
    bad.write_text("this is not a labels file")
    with pytest.raises(LabelsFileError, match="notes.slp: not an HDF5 file"):
        load_labels(bad)
    empty = tmp_path / "empty.slp"
    empty.write_bytes(b"")
    with pytest.raises(LabelsFileError, match="empty"):
        load_labels(empty)


def test_truncated_slp_is_a_clear_error(tmp_path: Path, clip_train_slp: Path) -> None:
    data = clip_train_slp.read_bytes()
    cut = tmp_path / "cut.slp"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(LabelsFileError, match="cut.slp.*(truncated|damaged)"):
        load_labels(cut)


def test_hdf5_without_labels_is_a_clear_error(tmp_path: Path) -> None:
    import h5py

    other = tmp_path / "other.slp"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(LabelsFileError, match="missing dataset"):
        load_labels(other)


def test_missing_video_names_paths_and_fix(
    tmp_path: Path, clip_train_slp: Path
) -> None:
    moved = tmp_path / "moved"
    moved.mkdir()
    slp = Path(shutil.copy(clip_train_slp, moved / "labels.slp"))
    with pytest.raises(MissingVideoError) as err:
        load_labels(slp)
    msg = str(err.value)
    assert str(slp) in msg and str(moved / "clip.mp4") in msg
    assert "--video-search FOLDER" in msg and "video_search_paths" in msg

    found = load_labels(slp, video_search_paths=[clip_train_slp.parent])
    assert (
        Path(found.videos[0].filename).resolve()
        == (clip_train_slp.parent / "clip.mp4").resolve()
    )
    assert found.videos[0].shape[0] == 1500
    assert find_missing_videos(found) == []

    mapped = load_labels(
        slp, replace_videos={"clip.mp4": clip_train_slp.parent / "clip.mp4"}
    )
    assert mapped.videos[0].shape == (1500, 1024, 1024, 1)

    ignored = load_labels(slp, missing_videos="ignore")
    assert len(find_missing_videos(ignored)) == 1
    assert len(ignored) == 100


def test_failed_save_keeps_previous_file(
    tmp_path: Path, clip_train_slp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "labels.slp"
    labels = load_labels(clip_train_slp)
    save_labels(labels, target)
    before = target.read_bytes()

    def explode(labels, filename, **kwargs):
        Path(filename).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(sio, "save_slp", explode)
    with pytest.raises(OSError, match="disk full"):
        save_labels(labels, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.slp"]


def test_save_rejects_bad_target(tmp_path: Path, clip_train_slp: Path) -> None:
    labels = load_labels(clip_train_slp)
    with pytest.raises(ValueError, match=r"\.slp"):
        save_labels(labels, tmp_path / "labels.h5")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_labels(labels, tmp_path / "nope" / "labels.slp")


def test_moved_image_sequence_is_found(tmp_path: Path) -> None:
    import imageio.v3 as iio

    first = tmp_path / "first"
    first.mkdir()
    names = []
    for i in range(3):
        iio.imwrite(first / f"f{i}.png", np.full((8, 10), 40 * i, np.uint8))
        names.append(str(first / f"f{i}.png"))
    video = sio.Video.from_filename(names)
    skel = sio.Skeleton(["a"])
    inst = sio.Instance.from_numpy(np.array([[1.0, 2.0]]), skeleton=skel)
    labels = sio.Labels(
        [sio.LabeledFrame(video=video, frame_idx=1, instances=[inst])],
        videos=[video],
        skeletons=[skel],
    )
    slp = save_labels(labels, tmp_path / "seq.slp")
    moved = tmp_path / "moved"
    first.rename(moved)
    with pytest.raises(MissingVideoError, match="f0.png"):
        load_labels(slp)
    found = load_labels(slp, video_search_paths=[moved])
    assert [Path(n).parent for n in found.videos[0].filename] == [moved] * 3
    assert found.videos[0][2].mean() == pytest.approx(80)


def test_bare_video_name_resolves_beside_the_labels_not_the_cwd(
    sample_small, tmp_path, monkeypatch
) -> None:
    """A same-named, smaller video where the program started never wins.

    Saving a copied project used to record the working folder's file as the
    project's video; now the copy names the video beside the original labels.
    """
    from napari_sleap.io.labels import VideoMismatchError
    from napari_sleap.sample import ensure_sample

    project = tmp_path / "project"
    project.mkdir()
    for name in ("sample.mp4", "sample_gt.slp"):
        shutil.copy(sample_small.folder / name, project / name)
    decoy = ensure_sample(tmp_path / "decoy", n_frames=20, size=64)
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(decoy.video, work / "sample.mp4")
    monkeypatch.chdir(work)
    assert (
        sio.load_slp(str(project / "sample_gt.slp"), open_videos=False)
        .videos[0]
        .filename
        == "sample.mp4"
    )  # a bare name, as the sample records it

    labels = load_labels(project / "sample_gt.slp")
    assert Path(labels.videos[0].filename) == (project / "sample.mp4").resolve()
    copy = tmp_path / "copy" / "copy.slp"
    copy.parent.mkdir()
    save_labels(labels, copy)
    saved = sio.load_slp(str(copy), open_videos=False).videos[0].filename
    assert Path(saved) == (project / "sample.mp4").resolve()

    (project / "sample.mp4").unlink()  # only the decoy is left: refused, named
    with pytest.raises(VideoMismatchError) as err:
        load_labels(project / "sample_gt.slp")
    msg = str(err.value)
    assert "64x64" in msg and "20 frames" in msg and "Fix" in msg
