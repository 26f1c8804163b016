"""Frame-exact reads from the real clip and small synthetic videos (PyAV reader)."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from napari_sleap.io.video import MediaReader, open_video
from tests.fixtures.video import ffmpeg_decode, synthetic_frames, write_video

# Across the clip's keyframes (every 250 frames) and both ends.
SAMPLE = [0, 1, 2, 3, 100, 248, 249, 250, 251, 252, 499, 500, 501, 749, 750, 999]
SAMPLE += [1000, 1001, 1249, 1250, 1251, 1377, 1497, 1498, 1499]


@pytest.fixture(scope="module")
def clip_reference(clip_mp4: Path) -> dict[int, np.ndarray]:
    """Sampled frames of a sequential decode by the ffmpeg command line."""
    gen = imageio_ffmpeg.read_frames(
        str(clip_mp4),
        pix_fmt="gray",
        bits_per_pixel=8,
        output_params=["-fps_mode", "passthrough"],
    )
    meta = next(gen)
    w, h = meta["size"]
    wanted = set(SAMPLE)
    frames: dict[int, np.ndarray] = {}
    count = 0
    for i, buf in enumerate(gen):
        count += 1
        if i in wanted:
            frames[i] = np.frombuffer(buf, np.uint8).reshape(h, w, 1).copy()
    frames[-1] = np.array(count)
    return frames


@pytest.fixture(scope="module")
def clip_reader(clip_mp4: Path) -> MediaReader:
    reader = open_video(clip_mp4, use_cache=False)
    assert isinstance(reader, MediaReader)
    return reader


def test_clip_shape(clip_reader: MediaReader, clip_reference) -> None:
    assert clip_reader.shape == (int(clip_reference[-1]), 1024, 1024, 1)
    assert clip_reader.shape == (1500, 1024, 1024, 1)
    assert clip_reader.dtype == np.uint8
    assert clip_reader.grayscale
    assert list(clip_reader.keyframes) == [0, 250, 500, 750, 1000, 1250]
    assert clip_reader.fps == pytest.approx(25.0)


def test_clip_random_frames_match_sequential_decode(clip_reader, clip_reference):
    order = np.random.default_rng(7).permutation(SAMPLE)
    for i in order:
        frame = clip_reader.read(int(i))
        assert frame.shape == (1024, 1024, 1)
        np.testing.assert_array_equal(frame, clip_reference[int(i)], err_msg=f"{i}")


def test_clip_forward_stepping_reads_on(clip_reader, clip_reference) -> None:
    clip_reader.read(245)
    seeks = clip_reader.seeks
    for i in range(246, 253):  # across the keyframe at 250
        frame = clip_reader.read(i)
        if i in clip_reference:
            np.testing.assert_array_equal(frame, clip_reference[i])
    assert clip_reader.seeks == seeks, "stepping forward must not seek"
    clip_reader.read(257)  # a short jump ahead also reads on
    assert clip_reader.seeks == seeks
    clip_reader.read(1250)  # a long jump seeks to the keyframe
    assert clip_reader.seeks == seeks + 1


def test_clip_negative_index_and_range(clip_reader, clip_reference) -> None:
    np.testing.assert_array_equal(clip_reader.read(-1), clip_reference[1499])
    with pytest.raises(IndexError, match="1500 frames"):
        clip_reader.read(1500)


def test_clip_threads_share_one_reader(clip_reader, clip_reference) -> None:
    picks = [249, 1000, 500, 1499, 750, 3, 1251, 999]
    errors: list[str] = []

    def work(idx: list[int]) -> None:
        for i in idx:
            if not np.array_equal(clip_reader.read(i), clip_reference[i]):
                errors.append(f"frame {i} differs")

    threads = [threading.Thread(target=work, args=(picks[k::2],)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_reader_pickles_and_reopens(clip_reader, clip_reference) -> None:
    clone = pickle.loads(pickle.dumps(clip_reader))
    np.testing.assert_array_equal(clone.read(501), clip_reference[501])
    clone.close()
    np.testing.assert_array_equal(clone.read(0), clip_reference[0])


@pytest.mark.parametrize(
    ("codec", "suffix", "color"),
    [
        ("libx264", ".mp4", False),
        ("libx264", ".mov", True),
        ("mjpeg", ".avi", True),
        ("libx264", ".avi", False),  # B-frames, stamps in decode order
        ("ffv1", ".mkv", False),
    ],
)
def test_synthetic_videos_exact(tmp_path, codec, suffix, color) -> None:
    frames = synthetic_frames(n=36, color=color)
    path = write_video(tmp_path / f"v{suffix}", frames, codec=codec, gop=10)
    reference = ffmpeg_decode(path, gray=not color)
    reader = open_video(path)
    assert reader.shape == (36, 64, 96, 3 if color else 1)
    for i in np.random.default_rng(0).permutation(36):
        np.testing.assert_array_equal(reader.read(int(i)), reference[i])
    # Sequential iteration gives the same frames as the reference decode.
    np.testing.assert_array_equal(np.stack(list(reader)), reference)
    if codec == "ffv1":  # lossless: exactly what was written
        np.testing.assert_array_equal(reference, frames)


def test_variable_frame_rate_counts_decoded_frames(tmp_path) -> None:
    frames = synthetic_frames(n=30)
    path = write_video(tmp_path / "vfr.mkv", frames, gop=8, vfr=True)
    reference = ffmpeg_decode(path, gray=True)
    assert len(reference) == 30
    reader = open_video(path)
    assert reader.n_frames == 30
    for i in [29, 9, 10, 20, 19, 0, 25]:
        np.testing.assert_array_equal(reader.read(i), reference[i])


def test_raw_stream_without_timestamps_counts_frames(tmp_path) -> None:
    path = write_video(tmp_path / "raw.h264", synthetic_frames(n=20), gop=8)
    reference = ffmpeg_decode(path, gray=True)
    reader = open_video(path)  # no timestamps, not seekable: exact by counting
    assert reader.n_frames == 20
    for i in [13, 2, 19, 0, 7]:
        np.testing.assert_array_equal(reader.read(i), reference[i])


def test_truncated_recording_reads_the_frames_before_the_damage(tmp_path) -> None:
    full = write_video(tmp_path / "full.mkv", synthetic_frames(n=40), gop=8)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.6)])
    reference = ffmpeg_decode(cut, gray=True)
    reader = open_video(cut)
    assert reader.n_frames == len(reference) < 40
    for i in np.random.default_rng(3).permutation(len(reference)):
        np.testing.assert_array_equal(reader.read(int(i)), reference[i])


def test_color_video_opening_on_black_stays_color(tmp_path) -> None:
    frames = synthetic_frames(n=12, color=True)
    frames[:3] = 0
    path = write_video(tmp_path / "fade.mp4", frames)
    reader = open_video(path)
    assert reader.channels == 3
    np.testing.assert_array_equal(reader.read(0), ffmpeg_decode(path, False)[0])


def test_grayscale_choice_overrides_detection(tmp_path) -> None:
    path = write_video(tmp_path / "c.mp4", synthetic_frames(n=5, color=True))
    assert open_video(path).channels == 3
    gray = open_video(path, grayscale=True)
    assert gray.shape == (5, 64, 96, 1)
    np.testing.assert_array_equal(gray.read(3), ffmpeg_decode(path, gray=True)[3])


def test_missing_and_broken_files(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        open_video(tmp_path / "nope.mp4")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 10)
    with pytest.raises(ValueError, match="broken.mp4"):
        open_video(broken)


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("centered_pair_low_quality.mp4", (1100, 384, 384, 1)),
        ("small_robot.mp4", (166, 320, 560, 3)),  # color, a single keyframe
    ],
)
def test_sleap_test_videos_exact(sleap1_models_dir: Path, name, shape) -> None:
    path = sleap1_models_dir / name
    reader = open_video(path, use_cache=False)
    assert reader.shape == shape
    reference = ffmpeg_decode(path, gray=shape[3] == 1)
    assert len(reference) == shape[0]
    picks = np.random.default_rng(11).choice(shape[0], 12, replace=False)
    for i in [*picks, shape[0] - 1, 0]:
        np.testing.assert_array_equal(reader.read(int(i)), reference[i])
