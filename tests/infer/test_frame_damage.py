"""A damaged packet in the middle of a real video: its frames get no poses.

``broken_videos.damaged`` is the shared ``centered_pair_low_quality.mp4`` with
the bytes of frame 51's packet replaced by noise. The decoder conceals the
damage: many frames after it come out with wrong pixels and no error.
"""

from __future__ import annotations

import numpy as np
import pytest

from napari_sleap.infer.frame_damage import (
    DamagedFrameError,
    scan_damage,
    screen_frames,
)

pytestmark = pytest.mark.shared_data

MODELS = ("minimal_instance.UNet.centroid", "minimal_instance.UNet.centered_instance")
#: The GOP holding frame 51 starts at the keyframe 0 and ends before 150.
NEXT_KEYFRAME = 150


def _read_all(reader, frames):
    out = {}
    for f in frames:
        try:
            out[f] = np.asarray(reader[f])
        except Exception:
            out[f] = None
    return out


def test_scan_covers_every_frame_with_wrong_pixels(broken_videos):
    from napari_sleap.io.video import open_video

    b = broken_videos
    frames = range(30, 170)
    good = _read_all(open_video(b.good, use_cache=False), frames)
    bad = _read_all(open_video(b.damaged, use_cache=False), frames)
    unreadable = {f for f in frames if bad[f] is None}
    wrong = {
        f for f in frames if bad[f] is not None and not np.array_equal(bad[f], good[f])
    }
    # The hazard: frames that decode without any error but with wrong pixels.
    assert wrong, "expected concealed (silently wrong) frames"
    damaged = scan_damage(b.damaged, frames)
    assert b.damaged_frame in damaged
    assert wrong <= set(damaged)  # every wrong frame is caught
    # ... and nothing outside the damaged GOP is refused.
    assert min(damaged) >= b.damaged_frame - 3
    assert max(damaged) < NEXT_KEYFRAME
    assert unreadable | set(damaged) >= wrong
    assert "re-encode" in damaged[b.damaged_frame]
    assert str(b.damaged) in damaged[b.damaged_frame]
    assert scan_damage(b.good, range(0, 300)) == {}


def test_a_damaged_non_reference_frame_is_refused_alone(broken_videos, tmp_path):
    """H.264 frames no other frame references (half of this video) cost one frame."""
    from napari_sleap.io.video import open_video
    from tests.fixtures.broken_videos import garble_packet

    b = broken_videos
    frames = range(30, 170)
    bad_path = garble_packet(b.good.resolve(), tmp_path / "nonref.mp4", 50)
    good = _read_all(open_video(b.good, use_cache=False), frames)
    bad = _read_all(open_video(bad_path, use_cache=False), frames)
    wrong = {
        f for f in frames if bad[f] is not None and not np.array_equal(bad[f], good[f])
    }
    damaged = scan_damage(bad_path, frames)
    assert set(damaged) == {50}
    assert wrong <= {50}
    assert "no other frame is built from it" in damaged[50]


def test_screened_reader_refuses_damaged_frames_only(broken_videos):
    from napari_sleap.io.video import open_video

    b = broken_videos
    reader = open_video(b.damaged, use_cache=False)
    screened = screen_frames(reader, [40, 100])
    with pytest.raises(DamagedFrameError, match="frame 100 is damaged"):
        screened[100]
    assert screened[40].shape == reader[40].shape
    assert screened.n_frames == reader.n_frames
    clean = open_video(b.good, use_cache=False)
    assert screen_frames(clean, [40, 100]) is clean  # nothing to refuse


def test_predict_gives_no_poses_to_damaged_frames(broken_videos, sleap1_models_dir):
    from napari_sleap.infer.predict import predict
    from napari_sleap.infer.predictor import Predictor, PredictorOptions

    b = broken_videos
    models = [sleap1_models_dir / m for m in MODELS]
    predictor = Predictor.from_model_dirs(
        models, PredictorOptions(batch_size=4, max_instances=2)
    )
    frames = [*range(45, 54), 100, *range(NEXT_KEYFRAME - 2, NEXT_KEYFRAME + 3)]
    got = predict(models, b.damaged, None, frames=frames, predictor=predictor)
    ref = predict(models, b.good, None, frames=frames, predictor=predictor)
    bad = {f for _, f in got.provenance["napari_sleap.predict"]["bad_frames"]}
    posed = {lf.frame_idx: lf for lf in got.labeled_frames if lf.instances}
    assert not bad & set(posed), "a damaged frame was given poses"
    assert bad >= {b.damaged_frame, 100, NEXT_KEYFRAME - 1}
    assert set(posed) >= {45, 46, 47, 48, NEXT_KEYFRAME, NEXT_KEYFRAME + 2}
    # Frames before the damage and from the next keyframe on are intact: the
    # same poses as on the undamaged video.
    want = {lf.frame_idx: lf for lf in ref.labeled_frames}
    for f, lf in posed.items():
        a = np.stack([i.numpy() for i in lf.instances])
        r = np.stack([i.numpy() for i in want[f].instances])
        np.testing.assert_allclose(np.sort(a, axis=0), np.sort(r, axis=0), atol=1e-4)


def _open_gop_video(path):
    """A real H.264 encode with B-frames and open GOPs (leading frames)."""
    import imageio_ffmpeg

    from tests.fixtures.video import synthetic_frames

    frames = synthetic_frames(90, 96, 128)
    n, h, w, _ = frames.shape
    params = ["-g", "30", "-bf", "3", "-pix_fmt", "yuv420p", "-crf", "18"]
    params += ["-x264-params", "open-gop=1:scenecut=0"]
    writer = imageio_ffmpeg.write_frames(
        str(path),
        (w, h),
        pix_fmt_in="gray",
        codec="libx264",
        fps=25,
        macro_block_size=1,
        output_params=params,
        ffmpeg_log_level="error",
    )
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    return path


def test_open_gop_leading_frames_of_the_next_gop_are_refused(tmp_path):
    """Damage late in a GOP spoils the next GOP's leading frames too."""
    from napari_sleap.infer import frame_damage
    from napari_sleap.io.video import open_video
    from tests.fixtures.broken_videos import garble_packet

    src = _open_gop_video(tmp_path / "open.mp4")
    idx = frame_damage._index(src)
    leading = [
        int(idx.frame_of_pos[p])
        for g in range(len(idx.key_pos))
        for p in frame_damage._leading(idx, g)
    ]
    if not leading:
        pytest.skip("this x264 build wrote no open GOP")
    lead = leading[0]  # shown before its GOP's keyframe, built from the GOP before
    good = open_video(src, use_cache=False)
    bad_path = garble_packet(src, tmp_path / "bad.mp4", lead - 5)
    bad = open_video(bad_path, use_cache=False)
    refused, wrong = set(), set()
    for f in range(good.n_frames):
        try:
            img = bad[f]
        except Exception:
            refused.add(f)
            continue
        if not np.array_equal(img, good[f]):
            wrong.add(f)
    assert lead in wrong  # the leading frame decodes wrong, without an error
    damaged = scan_damage(bad_path, range(good.n_frames))
    assert wrong - refused <= set(damaged)
    # Asked for the leading frame alone, the scan decodes the GOP before it.
    assert lead in scan_damage(bad_path, [lead])


def test_a_cache_of_a_damaged_video_is_screened_through_its_video(tmp_path):
    """A zarr cache holds the concealed pixels; the video behind it is scanned."""
    from napari_sleap.io.video import open_video
    from napari_sleap.io.video_cache_writer import cache_video
    from tests.fixtures.broken_videos import garble_packet

    src = _open_gop_video(tmp_path / "open.mp4")
    good = open_video(src, use_cache=False)
    # A P-frame early in the second GOP: every later frame of it decodes wrong
    # and none fails, so the cache is written without a complaint.
    bad_path = garble_packet(src, tmp_path / "bad.mp4", 31)
    cache_video(bad_path)
    reader = open_video(bad_path)
    assert type(reader).__name__ == "ZarrReader"
    wrong = {
        f
        for f in range(good.n_frames)
        if not np.array_equal(np.asarray(reader[f]), good[f])
    }
    assert wrong
    screened = screen_frames(reader, range(good.n_frames))
    refused = set()
    for f in range(good.n_frames):
        try:
            screened[f]
        except DamagedFrameError:
            refused.add(f)
    assert wrong <= refused
