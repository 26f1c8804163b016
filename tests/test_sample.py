"""The synthetic sample: deterministic, exact, decodable, worth learning from."""

from __future__ import annotations

import json
import threading

import imageio_ffmpeg
import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.cli import main as cli_main
from napari_sleap.progress import Cancelled
from napari_sleap.sample import (
    NODES,
    TRACKS,
    ensure_sample,
    make_sample,
    render_video,
    simulate_poses,
    train_frames,
)

N, SIZE = 60, 192  # the sample_small fixture (tests/fixtures/sample.py)


def _decode(path, size):
    gen = imageio_ffmpeg.read_frames(str(path), pix_fmt="gray", bpp=1)
    meta = next(gen)
    frames = [np.frombuffer(f, np.uint8).reshape(size, size) for f in gen]
    return meta, np.stack(frames)


def test_files_and_labels(sample_small):
    gt = sio.load_slp(str(sample_small.gt))
    assert len(gt) == N
    assert [t.name for t in gt.tracks] == list(TRACKS)
    skel = gt.skeleton
    assert skel.node_names == list(NODES)
    assert len(skel.edges) == len(NODES) - 1
    assert len(skel.symmetries) == 3
    for lf in gt:
        assert len(lf.user_instances) == 2
        assert {inst.track.name for inst in lf} == set(TRACKS)
        assert all(np.isfinite(inst.numpy()).all() for inst in lf)
    # The video is referred to by its bare name and resolves beside the labels.
    assert gt.video.shape == (N, SIZE, SIZE, 1)
    train = sio.load_slp(str(sample_small.train))
    assert (
        [lf.frame_idx for lf in train] == list(train_frames(N)) == [0, 10, 20, 30, 40]
    )


def test_video_is_exact_size_and_labels_sit_on_the_animals(sample_small):
    meta, frames = _decode(sample_small.video, SIZE)
    assert meta["codec"] == "h264" and meta["size"] == (SIZE, SIZE)
    assert frames.shape == (N, SIZE, SIZE)
    gt = sio.load_slp(str(sample_small.gt))
    poses = np.stack([[inst.numpy() for inst in lf] for lf in gt])
    # Sample the decoded video at the ground-truth points (x = column, y = row).
    cols = np.clip(np.round(poses[..., 0]).astype(int), 0, SIZE - 1)
    rows = np.clip(np.round(poses[..., 1]).astype(int), 0, SIZE - 1)
    at = frames[np.arange(N)[:, None, None], rows, cols].astype(float)
    ears = [NODES.index("ear_left"), NODES.index("ear_right")]
    neck = NODES.index("neck")
    background = np.median(frames)
    # Ears and necks are brighter than the floor; animal_a is brighter than animal_b.
    assert at[:, :, ears].mean() > background + 60
    assert at[:, 0, neck].mean() > at[:, 1, neck].mean() + 25
    assert at[:, 1, neck].mean() > background + 30


def test_deterministic_given_seed():
    a = simulate_poses(30, 96, seed=3)
    assert np.array_equal(a, simulate_poses(30, 96, seed=3))
    assert not np.allclose(a, simulate_poses(30, 96, seed=4))
    f1 = np.stack(list(render_video(a, 96, seed=3)))
    f2 = np.stack(list(render_video(a, 96, seed=3)))
    assert f1.dtype == np.uint8 and np.array_equal(f1, f2)
    # A short sample is exactly the start of a longer one (poses and pixels).
    assert np.array_equal(a[:12], simulate_poses(12, 96, seed=3))
    assert np.array_equal(f1[:12], np.stack(list(render_video(a[:12], 96, seed=3))))


def test_default_motion_turns_crosses_and_stays_in_frame():
    poses = simulate_poses()
    assert poses.shape == (400, 2, len(NODES), 2)
    assert poses.min() > 2 and poses.max() < 384 - 3
    neck, tail = NODES.index("neck"), NODES.index("tail_base")
    body = poses[:, :, neck] - poses[:, :, tail]
    heading = np.arctan2(body[..., 1], body[..., 0])
    for a in range(2):
        octants = np.unique(np.floor((heading[:, a] + np.pi) / (np.pi / 4)))
        assert len(octants) == 8, f"{TRACKS[a]} does not turn through all headings"
    centres = poses.mean(axis=2)
    gap = np.linalg.norm(centres[:, 0] - centres[:, 1], axis=-1)
    body_len = np.linalg.norm(body[:, 0], axis=-1).mean()
    assert gap.min() < body_len, "the animals never cross"
    # animal_a is the larger animal (an identity cue).
    assert (
        np.linalg.norm(body[:, 0], axis=-1).mean()
        > 1.1 * np.linalg.norm(body[:, 1], axis=-1).mean()
    )


def test_bad_size_names_the_field(tmp_path):
    with pytest.raises(ValueError, match="size"):
        make_sample(tmp_path, n_frames=5, size=127)


def test_stop_leaves_no_partial_files(tmp_path):
    stop = threading.Event()
    calls = []

    def progress(done, total):
        calls.append(done)
        if done >= 3:
            stop.set()

    with pytest.raises(Cancelled):
        make_sample(tmp_path, n_frames=50, size=96, progress=progress, stop=stop)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_cli_writes_the_sample(tmp_path, capsys):
    assert (
        cli_main(["sample", "-o", str(tmp_path), "--frames", "12", "--size", "96"]) == 0
    )
    assert {p.name for p in tmp_path.iterdir()} == {
        "sample.mp4",
        "sample_gt.slp",
        "sample_train.slp",
    }
    assert "sample_gt.slp" in capsys.readouterr().out


def test_ensure_sample_reuses_a_matching_folder_and_remakes_others(tmp_path):
    first = ensure_sample(tmp_path, n_frames=12, size=96)
    stamp = json.loads((tmp_path / "sample.json").read_text())
    assert stamp["n_frames"] == 12 and stamp["size"] == [96, 96]
    mtime = first.video.stat().st_mtime_ns
    assert ensure_sample(tmp_path, n_frames=12, size=96) == first
    assert first.video.stat().st_mtime_ns == mtime  # reused, not remade
    ensure_sample(tmp_path, n_frames=14, size=96)
    assert len(sio.load_slp(str(first.gt))) == 14
