"""render.py draws skeletons, trails and names where the poses are (pixels checked)."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.demo.render import (
    RenderStyle,
    pose_table,
    render_frame,
    render_montage,
    save_png,
)
from napari_sleap.napari.layers.styles import TrackStyle

TRACK_RGB = np.round(255 * TrackStyle().track_colors(2)[:, :3]).astype(int)


def _labels(n_frames: int = 5) -> sio.Labels:
    """Two 3-node animals on a 100x100 frame, moving right 2 px per frame."""
    skeleton = sio.Skeleton(
        ["head", "mid", "tail"], edges=[("head", "mid"), ("mid", "tail")]
    )
    video = sio.Video(filename="none.mp4", open_backend=False)
    tracks = [sio.Track("a"), sio.Track("b")]
    frames = []
    for t in range(n_frames):
        insts = []
        for k, (y, track) in enumerate(zip((30.0, 70.0), tracks, strict=True)):
            x0 = 20.0 + 2 * t + 10 * k
            pts = np.array([[x0 + 30, y], [x0 + 15, y], [x0, y]])
            insts.append(sio.Instance.from_numpy(pts, skeleton=skeleton, track=track))
        frames.append(sio.LabeledFrame(video=video, frame_idx=t, instances=insts))
    return sio.Labels(frames, videos=[video], skeletons=[skeleton], tracks=tracks)


def _near(image: np.ndarray, rgb: np.ndarray, tol: int = 40) -> np.ndarray:
    """Mask of pixels within ``tol`` of a color (each channel)."""
    return (np.abs(image.astype(int) - rgb[None, None, :]) <= tol).all(axis=-1)


def test_pose_table_sorted_with_tracks_and_edges():
    table = pose_table(_labels())
    assert table.frames.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert table.points.shape == (10, 3, 2)
    assert table.track.tolist() == [0, 1] * 5
    assert table.track_names == ["a", "b"]
    assert table.edges == [(0, 1), (1, 2)]
    assert table.rows(2, 4) == slice(4, 8)


def test_render_frame_draws_nodes_and_edges_in_track_colors():
    labels = _labels()
    table = pose_table(labels)
    frame = np.full((100, 100), 40, np.uint8)
    style = RenderStyle(scale=2.0, trail_length=0, names=False)
    out = render_frame(table, 4, frame, style)
    assert out.shape == (200, 200, 3) and out.dtype == np.uint8
    for k in range(2):
        mask = _near(out, TRACK_RGB[k])
        pts = labels[4].instances[k].numpy()
        # Every node disc is drawn in the track's color at (x + 0.5) * 2 - 0.5.
        for x, y in pts:
            r, c = int(round((y + 0.5) * 2 - 0.5)), int(round((x + 0.5) * 2 - 0.5))
            assert mask[r - 1 : r + 2, c - 1 : c + 2].all(), (k, x, y)
        # The edges join them: the midpoint between head and mid is colored too.
        xm, ym = (pts[0] + pts[1]) / 2 + 4  # between nodes, off the discs
        r, c = int(round((ym - 4 + 0.5) * 2 - 0.5)), int(round((xm + 0.5) * 2 - 0.5))
        assert mask[r - 1 : r + 2, c - 1 : c + 2].any()
        # Nothing of this color away from the animal (other row of the frame).
        other_y = 70 if k == 0 else 30
        assert not mask[int(other_y * 2) - 6 : int(other_y * 2) + 6].any()
    # The background stays the frame's gray outside the poses.
    assert (out[5:20, 5:20] == 40).all()


def test_render_frame_trails_region_and_missing_nodes():
    labels = _labels(n_frames=20)
    labels[19].instances[0].points["xy"][0] = np.nan  # head of animal a missing
    table = pose_table(labels)
    frame = np.zeros((100, 100, 1), np.uint8)
    with_trail = render_frame(
        table, 19, frame, RenderStyle(scale=1.0, trail_length=15, names=False)
    )
    without = render_frame(
        table, 19, frame, RenderStyle(scale=1.0, trail_length=0, names=False)
    )
    # The trail of animal a runs along y=30 behind its current centroid.
    added = _near(with_trail, TRACK_RGB[0]) & ~_near(without, TRACK_RGB[0])
    rows, cols = np.nonzero(added)
    assert rows.size and np.abs(rows - 30).max() <= 2
    assert cols.min() < 20 + 2 * 19 + 5  # reaches back to earlier frames
    # The missing head is not drawn: no disc at its place (x=88, y=30).
    assert not _near(without, TRACK_RGB[0])[28:33, 86:91].any()
    # A region zooms on part of the frame; poses shift with it.
    crop = render_frame(
        table, 19, frame, RenderStyle(scale=2.0, trail_length=0), (40, 50, 100, 100)
    )
    assert crop.shape == (100, 120, 3)
    x, y = labels[19].instances[1].numpy()[1]
    r, c = int(round((y - 50 + 0.5) * 2 - 0.5)), int(round((x - 40 + 0.5) * 2 - 0.5))
    assert _near(crop, TRACK_RGB[1])[r, c]
    with pytest.raises(ValueError, match="region"):
        render_frame(table, 19, frame, None, (0, 0, 200, 10))


def test_montage_and_atomic_png(tmp_path):
    import imageio.v3 as iio

    table = pose_table(_labels())
    images = [np.full((100, 100), 10 * k, np.uint8) for k in range(3)]
    grid = render_montage(
        table, [0, 2, 4], images, columns=2, style=RenderStyle(scale=1.0)
    )
    assert grid.shape == (204, 204, 3)  # 2x2 tiles, 4 px gaps, last one empty
    assert (grid[104:, 104:] == 0).all()
    path = save_png(grid, tmp_path / "m.png")
    assert (iio.imread(path) == grid).all()
    assert not list(tmp_path.glob(".*"))  # no partial file left
    with pytest.raises(ValueError, match="PNG"):
        save_png(grid, tmp_path / "m.jpg")
    with pytest.raises(ValueError, match="one image per frame"):
        render_montage(table, [0, 1], images)


def test_renders_the_sample(sample_small):
    """On the real sample video: node pixels land on the bright animals."""
    from napari_sleap.io.video import open_video

    gt = sio.load_slp(str(sample_small.gt))
    table = pose_table(gt)
    # A frame where the animals are apart, so no node hides under the other one.
    gap = [np.linalg.norm(np.subtract(*[i.numpy().mean(0) for i in lf])) for lf in gt]
    f = int(np.argmax(gap))
    with open_video(sample_small.video, grayscale=True) as reader:
        frame = reader.read(f)
    style = RenderStyle(scale=2.0, names=False, trail_length=0)
    out = render_frame(table, f, frame, style)
    assert out.shape == (384, 384, 3)
    for inst in gt[f].instances:
        mask = _near(out, TRACK_RGB[gt.tracks.index(inst.track)])
        for x, y in inst.numpy():
            r, c = int(round((y + 0.5) * 2 - 0.5)), int(round((x + 0.5) * 2 - 0.5))
            assert mask[r - 2 : r + 3, c - 2 : c + 3].any(), (x, y)
