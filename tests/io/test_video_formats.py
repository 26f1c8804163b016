"""Image folders, HDF5 datasets, embedded .pkg.slp frames and sleap-io videos."""

from __future__ import annotations

from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.io.video import (
    HDF5Reader,
    ImageSequenceReader,
    MediaReader,
    TiffStackReader,
    ZarrReader,
    open_sleap_video,
    open_video,
)
from tests.fixtures.video import synthetic_frames, write_video


def write_images(folder: Path, frames: np.ndarray, ext: str) -> list[Path]:
    folder.mkdir()
    paths = []
    for i, frame in enumerate(frames):
        path = folder / f"img_{i:03d}{ext}"
        bgr = frame[..., ::-1] if frame.shape[2] == 3 else frame[..., 0]
        assert cv2.imwrite(str(path), np.ascontiguousarray(bgr))
        paths.append(path)
    return paths


@pytest.mark.parametrize("color", [False, True])
def test_png_folder_exact(tmp_path, color) -> None:
    frames = synthetic_frames(n=12, color=color)
    write_images(tmp_path / "frames", frames, ".png")
    (tmp_path / "frames" / "notes.txt").write_text("not an image")
    reader = open_video(tmp_path / "frames")
    assert isinstance(reader, ImageSequenceReader)
    assert reader.shape == frames.shape
    for i in [11, 0, 5]:
        np.testing.assert_array_equal(reader.read(i), frames[i])


def test_tif_16bit_and_jpg(tmp_path) -> None:
    deep = (synthetic_frames(n=4).astype(np.uint16) * 257)[..., :1]
    write_images(tmp_path / "tif", deep, ".tif")
    reader = open_video(tmp_path / "tif")
    assert reader.dtype == np.uint16 and reader.shape == (4, 64, 96, 1)
    np.testing.assert_array_equal(reader.read(2), deep[2])
    write_images(tmp_path / "jpg", synthetic_frames(n=3, color=True), ".jpg")
    jpg = open_video(tmp_path / "jpg")
    assert jpg.shape == (3, 64, 96, 3)
    expected = cv2.imread(str(tmp_path / "jpg" / "img_001.jpg"))[..., ::-1]
    np.testing.assert_array_equal(jpg.read(1), expected)


def test_multipage_tiff_stack(tmp_path) -> None:
    import tifffile

    gray = synthetic_frames(n=7)[..., 0]
    tifffile.imwrite(tmp_path / "stack.tif", gray)
    reader = open_video(tmp_path / "stack.tif")
    assert isinstance(reader, TiffStackReader) and reader.shape == (7, 64, 96, 1)
    np.testing.assert_array_equal(reader.read(5)[..., 0], gray[5])
    color = synthetic_frames(n=5, color=True)
    tifffile.imwrite(tmp_path / "rgb.tiff", color, photometric="rgb")
    rgb = open_video(tmp_path / "rgb.tiff")
    assert rgb.shape == (5, 64, 96, 3)
    np.testing.assert_array_equal(rgb.read(4), color[4])
    video = sio.Video.from_filename((tmp_path / "stack.tif").as_posix())
    np.testing.assert_array_equal(open_sleap_video(video).read(6)[..., 0], gray[6])


def test_image_size_mismatch_names_the_file(tmp_path) -> None:
    frames = synthetic_frames(n=2)
    paths = write_images(tmp_path / "f", frames, ".png")
    cv2.imwrite(str(paths[1]), np.zeros((10, 10), np.uint8))
    reader = open_video(tmp_path / "f")
    with pytest.raises(ValueError, match="img_001.png"):
        reader.read(1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        open_video(tmp_path / "empty")


def test_hdf5_numeric_layouts(tmp_path) -> None:
    color = synthetic_frames(n=6, color=True)
    gray = synthetic_frames(n=6)[..., 0]
    path = tmp_path / "v.h5"
    with h5py.File(path, "w") as f:
        f["box"] = color
        f["gray3d"] = gray
        f["cfirst"] = np.transpose(color, (0, 3, 2, 1))
    reader = open_video(path)  # finds the rank-4 dataset
    assert isinstance(reader, HDF5Reader) and reader.dataset == "box"
    np.testing.assert_array_equal(reader.read(4), color[4])
    flat = open_video(path, dataset="gray3d")
    assert flat.shape == (6, 64, 96, 1)
    np.testing.assert_array_equal(flat.read(1)[..., 0], gray[1])
    cf = open_video(path, dataset="cfirst", input_format="channels_first")
    np.testing.assert_array_equal(cf.read(5), color[5])
    with pytest.raises(ValueError, match="nothere"):
        open_video(path, dataset="nothere")


@pytest.fixture(scope="module")
def pkg_slp(tmp_path_factory, clip_train_slp: Path) -> Path:
    """A .pkg.slp with five training frames of the clip embedded as PNG."""
    labels = sio.load_slp(str(clip_train_slp))
    subset = sio.Labels(
        labeled_frames=labels.labeled_frames[:5],
        videos=labels.videos,
        skeletons=labels.skeletons,
        tracks=labels.tracks,
    )
    path = tmp_path_factory.mktemp("pkg") / "five.pkg.slp"
    subset.save(str(path), embed="user")
    return path


def test_embedded_pkg_slp_keeps_source_frame_numbers(pkg_slp: Path) -> None:
    labels = sio.load_slp(str(pkg_slp))
    video = labels.videos[0]
    reader = open_sleap_video(video)
    assert isinstance(reader, HDF5Reader) and reader.embedded
    assert reader.shape == (1500, 1024, 1024, 1)
    stored = [lf.frame_idx for lf in labels.labeled_frames]
    assert list(reader.frame_numbers) == stored
    for idx in stored:
        assert reader.has_frame(idx)
        # PNG is lossless: the same pixels sleap-io reads back.
        np.testing.assert_array_equal(reader.read(idx), video[idx])
    assert not reader.has_frame(1)
    assert reader.read(1).max() == 0  # frames not embedded read as black
    direct = open_video(pkg_slp)  # finds the embedded dataset by itself
    np.testing.assert_array_equal(direct.read(stored[2]), video[stored[2]])


def test_labels_file_without_frames_says_what_to_open(clip_train_slp: Path) -> None:
    with pytest.raises(ValueError, match=r"clip_train\.slp holds labels but no"):
        open_video(clip_train_slp)


@pytest.mark.parametrize("order", ["RGB", "BGR"])
def test_embedded_color_channel_order(tmp_path, order) -> None:
    """'RGB': a standard image file; 'BGR': SLEAP 1.x encoded RGB arrays with OpenCV."""
    frames = synthetic_frames(n=3, color=True)
    path = tmp_path / "emb.h5"
    with h5py.File(path, "w") as f:
        rows = []
        for frame in frames:
            array = frame[..., ::-1] if order == "RGB" else frame
            ok, buf = cv2.imencode(".png", np.ascontiguousarray(array))
            assert ok
            rows.append(buf.ravel())
        ds = f.create_dataset(
            "video0/video",
            data=np.stack([np.pad(r, (0, 9000 - r.size)) for r in rows]).view(np.int8),
        )
        ds.attrs["format"] = "png"
        ds.attrs["channel_order"] = order
        f["video0/frame_numbers"] = np.array([2, 5, 11])
    reader = open_video(path)
    assert reader.embedded and reader.shape == (12, 64, 96, 3)
    for row, idx in enumerate([2, 5, 11]):
        np.testing.assert_array_equal(reader.read(idx), frames[row])


def test_embedded_color_package_round_trip(tmp_path) -> None:
    frames = synthetic_frames(n=8, color=True)
    video = sio.Video.from_filename(
        str(write_video(tmp_path / "c.mkv", frames, codec="ffv1"))
    )
    skeleton = sio.Skeleton(["a", "b"])
    points = np.array([[10.0, 10.0], [20.0, 20.0]])
    labels = sio.Labels(
        labeled_frames=[
            sio.LabeledFrame(
                video=video,
                frame_idx=i,
                instances=[sio.Instance.from_numpy(points, skeleton=skeleton)],
            )
            for i in (1, 6)
        ],
        videos=[video],
        skeletons=[skeleton],
    )
    labels.save(str(tmp_path / "c.pkg.slp"), embed="user")
    reader = open_sleap_video(sio.load_slp(str(tmp_path / "c.pkg.slp")).videos[0])
    for i in (1, 6):  # ffv1 and png are lossless: the very frames written
        np.testing.assert_array_equal(reader.read(i), frames[i])


def test_open_sleap_video_media(clip_train_slp: Path) -> None:
    labels = sio.load_slp(str(clip_train_slp))
    reader = open_sleap_video(labels.videos[0], use_cache=False)
    assert isinstance(reader, MediaReader)
    assert reader.shape == (1500, 1024, 1024, 1)


def test_open_sleap_video_image_list(tmp_path) -> None:
    frames = synthetic_frames(n=4, color=True)
    paths = write_images(tmp_path / "imgs", frames, ".png")
    video = sio.Video.from_filename([p.as_posix() for p in paths])
    reader = open_sleap_video(video)
    assert isinstance(reader, ImageSequenceReader) and len(reader) == 4
    np.testing.assert_array_equal(reader.read(3), frames[3])


def test_open_sleap_video_missing_file_says_how_to_relink(tmp_path) -> None:
    video = sio.Video(filename=str(tmp_path / "gone.mp4"), open_backend=False)
    with pytest.raises(FileNotFoundError, match=r"gone\.mp4.*--video-search FOLDER"):
        open_sleap_video(video)


def test_zarr_group_and_plain_arrays(tmp_path) -> None:
    import zarr

    frames = synthetic_frames(n=5, color=True)
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    group.create_array("video", data=frames, chunks=(1, 64, 96, 3))
    reader = open_video(tmp_path / "g.zarr")
    assert isinstance(reader, ZarrReader) and reader.shape == frames.shape
    np.testing.assert_array_equal(reader.read(2), frames[2])
    plain = zarr.create_array(
        str(tmp_path / "p.zarr"), shape=(5, 64, 96), chunks=(1, 64, 96), dtype="u1"
    )
    plain[:] = frames[..., 0]
    assert open_video(tmp_path / "p.zarr").shape == (5, 64, 96, 1)
