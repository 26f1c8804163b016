from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.track.candidates import FlowCandidates
from napari_sleap.track.frames import SequentialVideoReader, open_frames, to_gray
from tests.fixtures.degrade import degrade_labels


def poses_by_track(labels: sio.Labels) -> dict[str, dict[int, np.ndarray]]:
    out: dict[str, dict[int, np.ndarray]] = {}
    for lf in labels.labeled_frames:
        for inst in lf.instances:
            out.setdefault(inst.track.name, {})[lf.frame_idx] = inst.numpy()
    return out


def mean_dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.nanmean(np.linalg.norm(a - b, axis=1)))


@pytest.mark.parametrize("start", [1040, 1070])
def test_flow_follows_walking_flies_without_detections(
    clip_gt: sio.Labels, start: int
) -> None:
    truth = poses_by_track(clip_gt)
    reader = open_frames(clip_gt.video)
    assert isinstance(reader, SequentialVideoReader)
    try:
        for name, poses in truth.items():
            model = FlowCandidates(13, reader, window=20)
            model.predict(start)
            model.update(start, {0: poses[start]})
            for t in range(start + 1, start + 11):
                carried, owners = model.predict(t)
                model.update(t, {})
            assert owners.tolist() == [0]
            static = mean_dist(poses[start], poses[start + 10])
            assert static > 10, "the fly should walk in this stretch"
            assert mean_dist(carried[0], poses[start + 10]) < 0.5 * static, name
    finally:
        reader.close()


def test_reader_is_frame_exact_forward_backward_and_after_jumps(
    clip_gt: sio.Labels,
) -> None:
    reader = open_frames(clip_gt.video)
    try:
        a = reader(300).copy()
        reader(301)
        b = reader(700).copy()  # a long jump seeks
        assert np.array_equal(reader(300), a)  # backwards seeks
        for i in range(301, 305):  # short forward steps read on
            reader(i)
        assert np.array_equal(reader(700), b)
        assert a.shape == (1024, 1024) and a.dtype == np.uint8
    finally:
        reader.close()
    assert to_gray(np.zeros((4, 5, 3), np.float32)).shape == (4, 5)


def test_luma_frames_match_converted_gray(clip_mp4) -> None:
    luma = SequentialVideoReader(clip_mp4)
    converted = SequentialVideoReader(clip_mp4, luma=False)
    try:
        assert luma.luma and not converted.luma
        for idx in (0, 1, 2, 1100, 1101):
            a, b = luma(idx), converted(idx)
            assert a.shape == b.shape == (1024, 1024) and a.dtype == np.uint8
            assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.999
    finally:
        luma.close()
        converted.close()


def test_missing_video_error_names_the_file_and_the_fix(tmp_path) -> None:
    video = sio.Video(filename=str(tmp_path / "gone.mp4"), open_backend=False)
    with pytest.raises(FileNotFoundError, match=r"gone\.mp4.*--tracker simple"):
        open_frames(video)


def test_degradation_is_seeded_and_does_what_it_says(clip_gt: sio.Labels) -> None:
    rng = (1000, 1200)
    a = degrade_labels(clip_gt, seed=7, frame_range=rng)
    b = degrade_labels(clip_gt, seed=7, frame_range=rng)
    c = degrade_labels(clip_gt, seed=8, frame_range=rng)
    pa = [i.numpy() for lf in a.labeled_frames for i in lf.instances]
    pb = [i.numpy() for lf in b.labeled_frames for i in lf.instances]
    pc = [i.numpy() for lf in c.labeled_frames for i in lf.instances]
    assert all(
        np.array_equal(x, y, equal_nan=True) for x, y in zip(pa, pb, strict=True)
    )
    assert len(pa) != len(pc) or not all(
        np.array_equal(x, y, equal_nan=True) for x, y in zip(pa, pc, strict=True)
    )
    assert len(a.labeled_frames) == 200 and not a.tracks
    insts = [i for lf in a.labeled_frames for i in lf.instances]
    assert all(isinstance(i, sio.PredictedInstance) and i.track is None for i in insts)
    assert all(i.identity is None for i in insts)
    counts = [len(lf.instances) for lf in a.labeled_frames]
    assert min(counts) < 2 < max(counts) + 1  # misses happen
    spurious = [i for i in insts if i.score < 0.5]
    real = [i for i in insts if i.score >= 0.5]
    assert 0 < len(spurious) < 20 and len(real) > 350
    gt_nan = np.mean([np.isnan(i.numpy()[:, 0]).mean() for i in clip_gt.instances])
    dropped = np.mean([np.isnan(i.numpy()[:, 0]).mean() for i in real])
    assert 0.05 < dropped - gt_nan < 0.15
    gt_frames = {lf.frame_idx: lf for lf in clip_gt.labeled_frames}
    errors = []
    for lf in a.labeled_frames:
        truth = [g.numpy() for g in gt_frames[lf.frame_idx].instances]
        for inst in lf.instances:
            if inst.score >= 0.5:
                d = [np.nanmean(np.abs(inst.numpy() - t)) for t in truth]
                errors.append(min(d))
    # Mean |N(0, 5)| is 5 * sqrt(2 / pi), about 4.
    assert 3.0 < np.mean(errors) < 5.0
    strong = degrade_labels(clip_gt, seed=7, strength=3.0, frame_range=rng)
    n_strong = sum(len(lf.instances) for lf in strong.labeled_frames)
    assert n_strong != len(insts)


@pytest.mark.parametrize("far", [False, True])
def test_flow_moves_each_group_on_shared_or_separate_crops(far: bool) -> None:
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(0)
    img0 = gaussian_filter(rng.uniform(0, 255, (600, 600)), 2).astype(np.uint8)
    img1 = np.roll(img0, (2, 3), axis=(0, 1))  # moves by x=3, y=2
    a = np.array([[150.0, 150.0], [160.0, 170.0]])
    b = a + (300.0 if far else 40.0)
    model = FlowCandidates(2, frames=lambda i: img0)
    union = model._box(np.concatenate([a, b]), img0.shape)
    area = (union[2] - union[0]) * (union[3] - union[1])
    apart = sum(
        (x1 - x0) * (y1 - y0)
        for x0, y0, x1, y1 in (model._box(g, img0.shape) for g in (a, b))
    )
    assert (area > apart) == far
    moved = model._flow_groups(img0, img1, [a, b])
    for before, after in zip((a, b), moved, strict=True):
        np.testing.assert_allclose(after - before, [[3, 2], [3, 2]], atol=0.3)


def test_an_undecodable_frame_is_reported_and_tracked_without_flow(
    clip_gt: sio.Labels, degraded_clip
) -> None:
    from napari_sleap.evaluate.tracking import evaluate_tracking
    from napari_sleap.track import track_labels

    reader = open_frames(clip_gt.video)

    def frames(idx: int) -> np.ndarray:
        if idx == 1020:
            raise ValueError(f"clip.mp4: frame {idx} could not be decoded")
        return reader(idx)

    rng = (1000, 1060)
    det = degraded_clip(seed=3, frame_range=rng)
    try:
        with pytest.warns(UserWarning, match="frame 1020.*without optical flow"):
            out = track_labels(det, "flow", 2, frames=frames)
    finally:
        reader.close()
    m = evaluate_tracking(clip_gt, out, frame_range=rng)
    assert m.id_switches == 0 and m.frames == 60
