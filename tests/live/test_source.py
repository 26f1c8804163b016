"""The live sources on a real video: the replay clock, newest-frame drops, bad sources.

The synthetic sample's video (60 frames of 192x192, H.264) is replayed at 30
frames/s; consumers are plain loops that take frames as fast as they can, or a
real slow consumer that sleeps after each frame. Timing bounds are loose (the
shared 2-core box is noisy); what is asserted is the shape: the clock paces
frames at the rate, a slow consumer loses frames but never falls behind.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from napari_sleap.live.source import (
    CameraSource,
    LatestFrame,
    VideoReplaySource,
    open_source,
)

FPS = 30.0


def _consume(source, work_s: float = 0.0) -> list[tuple[int, float, float, float]]:
    """Every frame taken: ``(index, t_due, t_grab, t_taken)``; sleep after each."""
    seen = []
    source.start()
    try:
        while (frame := source.take(timeout=10)) is not None:
            seen.append((frame.index, frame.t_due, frame.t_grab, time.perf_counter()))
            if work_s:
                time.sleep(work_s)
    finally:
        source.stop()
    return seen


def test_replay_honours_the_frame_rate(sample_small):
    source = VideoReplaySource(sample_small.video, fps=FPS)
    assert source.length == 60 and source.fps == FPS
    seen = _consume(source)
    assert not source.running
    assert source.grabbed == 60
    # A fast consumer sees (nearly) every frame the clock released in time,
    # in order (a loaded machine may decode some too late: those are skipped).
    idx = [s[0] for s in seen]
    assert idx == sorted(idx) and len(idx) + source.late >= 57, idx
    assert len(idx) + source.dropped == 60
    due = np.array([s[1] for s in seen])
    grab = np.array([s[2] for s in seen])
    # Frames are due on the clock: 1/30 s apart by frame number ...
    steps = np.diff(due) / np.diff(idx)
    np.testing.assert_allclose(steps, 1 / FPS, rtol=1e-6)
    # ... and are released then, not early and not much later.
    assert np.all(grab >= due)
    assert np.median(grab - due) < 0.010, np.median(grab - due)
    # The whole replay takes its 59 frame periods (1.97 s): never less, and
    # more only by what a loaded machine adds to the last frame.
    elapsed = grab[-1] - source.t_start
    assert 59 / FPS <= elapsed < 59 / FPS + 0.3, elapsed


def test_replay_slow_consumer_drops_frames_instead_of_lagging(sample_small):
    """A consumer taking 100 ms per frame gets every ~3rd frame, always the newest."""
    source = VideoReplaySource(sample_small.video, fps=FPS)
    seen = _consume(source, work_s=0.1)
    processed = len(seen)
    assert source.grabbed == 60
    assert processed + source.dropped == 60
    # 2 s of video / 0.1 s per frame: about 20 frames taken, 40 dropped.
    assert 12 <= processed <= 24, processed
    assert source.dropped >= 36, source.dropped
    idx = np.array([s[0] for s in seen])
    # Each take skips the frames that came while the consumer was busy (about
    # three at 100 ms per frame and 30 frames/s), never reads them one by one.
    assert np.mean(np.diff(idx)) >= 2.5, idx
    # No lag builds up: each frame is taken within the consumer's 100 ms (and
    # some slack) of its grab, the last as soon as the first.
    waits = np.array([s[3] - s[2] for s in seen])
    assert waits.max() < 0.1 + 0.1, waits
    assert waits[-5:].mean() < 0.1 + 0.05, waits


def test_replay_a_frame_selection(sample_small):
    source = VideoReplaySource(sample_small.video, fps=120.0, frames=range(10, 20))
    seen = _consume(source)
    assert {s[0] for s in seen} <= set(range(10, 20)) and seen[-1][0] == 19
    assert source.first_frame().shape == (192, 192, 1)


def test_latest_frame_keeps_only_the_newest():
    from napari_sleap.live.source import Grabbed

    slot = LatestFrame()
    img = np.zeros((2, 2, 1), np.uint8)
    for i in range(3):
        slot.put(Grabbed(i, img, 0.0, 0.0))
    assert slot.take(0).index == 2 and slot.dropped == 2 and slot.pending == 0
    with pytest.raises(TimeoutError):
        slot.take(0.01)
    slot.close()
    assert slot.take(1) is None


def test_missing_video_names_the_file_and_the_fix(tmp_path):
    missing = tmp_path / "gone.mp4"
    with pytest.raises(FileNotFoundError) as err:
        open_source(str(missing))
    text = str(err.value)
    assert str(missing) in text and "Fix" in text and "camera index" in text


def test_not_a_video_is_refused_naming_it(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    with pytest.raises(ValueError) as err:
        open_source(bad)
    assert "notes.mp4" in str(err.value)


def test_bad_camera_index_names_it_and_the_fix():
    with pytest.raises(ValueError) as err:
        CameraSource(97)
    text = str(err.value)
    assert "camera 97" in text and "Fix" in text and "video file" in text
    with pytest.raises(ValueError, match="camera 96"):
        open_source("96")


def test_frames_outside_the_video_are_named(sample_small):
    with pytest.raises(ValueError, match=r"outside the video's 0\.\.59"):
        VideoReplaySource(sample_small.video, frames=[58, 59, 60])
    with pytest.raises(ValueError, match="films live"):
        open_source(0, frames=[1, 2])
