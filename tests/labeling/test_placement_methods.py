"""Where a new instance goes: prediction, previous frame, or the mean pose turned
to the animal in the image."""

from __future__ import annotations

import numpy as np
import sleap_io as sio

from napari_sleap.labeling.placement import (
    axis_angle,
    body_axis,
    mean_pose,
    placement_for,
)

BODY = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [30.0, 0.0], [15.0, 4.0]])


def _rot(xy: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return xy @ np.array([[c, s], [-s, c]])


def _project(frames: dict[int, list[np.ndarray]], preds=None) -> sio.Labels:
    skeleton = sio.Skeleton(["a", "b", "c", "d", "e"], edges=[(0, 1), (1, 2), (2, 3)])
    video = sio.Video(filename="v.mp4", open_backend=False)
    labels = sio.Labels(videos=[video], skeletons=[skeleton])
    for f, poses in sorted(frames.items()):
        insts = [sio.Instance.from_numpy(p, skeleton=skeleton) for p in poses]
        for p in (preds or {}).get(f, []):
            insts.append(
                sio.PredictedInstance.from_numpy(
                    p, skeleton=skeleton, point_scores=np.ones(5), score=0.9
                )
            )
        labels.append(sio.LabeledFrame(video=video, frame_idx=f, instances=insts))
    return labels


def test_a_prediction_on_the_frame_is_accepted_nearest_first() -> None:
    near, far = BODY + [100, 100], BODY + [300, 300]
    labels = _project({0: [BODY + 50], 7: []}, preds={7: [far, near]})
    place = placement_for(labels, labels.videos[0], 7, (110.0, 105.0))
    assert place.method == "prediction"
    assert np.allclose(place.prediction.numpy(), near)
    # once accepted (a user instance made from it) the other one is next
    lf = labels.labeled_frames[1]
    user = sio.Instance.from_numpy(near, skeleton=labels.skeletons[0])
    user.from_predicted = place.prediction
    lf.instances.append(user)
    again = placement_for(labels, labels.videos[0], 7, (110.0, 105.0))
    assert np.allclose(again.prediction.numpy(), far)


def test_else_the_nearest_animal_of_the_previous_labeled_frame_moved_here() -> None:
    a = _rot(BODY, 0.7) + [100, 100]
    b = BODY + [400, 400]
    labels = _project({2: [BODY + 10], 5: [b, a], 9: [BODY]})
    place = placement_for(labels, labels.videos[0], 8, (120.0, 90.0))
    assert place.method == "previous" and place.source_frame == 5
    assert np.allclose(place.xy.mean(axis=0), [120.0, 90.0])
    assert np.allclose(place.xy - place.xy.mean(axis=0), a - a.mean(axis=0))
    assert "frame 5" in place.description


def _ellipse_image(centre, angle, size=200, a=22.0, b=6.0) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size].astype(float)
    dx, dy = xx - centre[0], yy - centre[1]
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    img = np.full((size, size), 200.0)
    img[(u / a) ** 2 + (v / b) ** 2 <= 1] = 40.0  # a dark animal on light ground
    rng = np.random.default_rng(0)
    return (img + rng.normal(0, 3, img.shape)).clip(0, 255).astype(np.uint8)


def test_else_the_mean_pose_turned_to_the_animal_in_the_image() -> None:
    # labeled later only (no earlier frame), animals facing several ways
    poses = [_rot(BODY, t) + [60 + 40 * k, 60] for k, t in enumerate([0, 1, 2.5])]
    labels = _project({10: poses})
    for angle in (np.radians(60), np.radians(-20), np.radians(100)):
        image = _ellipse_image((100.0, 90.0), angle)
        assert abs(_axis_diff(body_axis(image, (100.0, 90.0), 40.0), angle)) < 0.06
        place = placement_for(
            labels, labels.videos[0], 3, (100.0, 90.0), image=lambda i=image: i
        )
        assert place.method == "mean_pose"
        assert np.allclose(place.xy.mean(axis=0), [100.0, 90.0])
        got, _ = axis_angle(place.xy)
        assert abs(_axis_diff(got, angle)) < 0.06, (np.degrees(got), angle)
        assert "turned" in place.description
    # a round blob (no axis): the pose is left as it is
    flat = np.full((200, 200), 200, np.uint8)
    yy, xx = np.mgrid[:200, :200]
    flat[(xx - 100) ** 2 + (yy - 90) ** 2 < 100] = 30
    assert body_axis(flat, (100.0, 90.0), 40.0) is None
    place = placement_for(labels, labels.videos[0], 3, (100.0, 90.0), image=flat)
    assert place.turn == 0.0


def _axis_diff(a: float, b: float) -> float:
    return (a - b + np.pi / 2) % np.pi - np.pi / 2


def test_aligned_mean_pose_keeps_the_shape_of_animals_facing_every_way() -> None:
    poses = [_rot(BODY, t) for t in np.linspace(0, 2 * np.pi, 8, endpoint=False)]
    labels = _project({0: poses})
    naive = mean_pose(labels)
    aligned = mean_pose(labels, aligned=True)
    length = np.linalg.norm(BODY[3] - BODY[0])
    assert np.linalg.norm(naive[3] - naive[0]) < 0.2 * length  # a blob
    assert np.isclose(np.linalg.norm(aligned[3] - aligned[0]), length)


def test_nothing_labeled_gives_the_default_layout_at_the_click() -> None:
    labels = _project({})
    place = placement_for(labels, labels.videos[0], 0, (5.0, 5.0))
    assert place.method == "layout" and np.allclose(place.xy.mean(axis=0), (5, 5))


def test_nodes_the_copied_animal_lacks_come_from_the_mean_pose() -> None:
    gap = BODY.copy()
    gap[4] = np.nan  # never placed on the previous frame
    turned = _rot(BODY, 1.2) + [200, 200]
    labels = _project({0: [turned], 1: [BODY + [300, 0]], 4: [gap + [100, 100]]})
    place = placement_for(labels, labels.videos[0], 6, (100.0, 100.0))
    assert place.method == "previous" and np.isfinite(place.xy).all()
    # the filled node sits where the animal's own shape puts it
    want = gap + [100, 100]
    want = want - np.nanmean(want, axis=0) + [100.0, 100.0]
    assert np.allclose(place.xy[:4], want[:4])
    body = BODY - BODY[:4].mean(axis=0) + want[:4].mean(axis=0)
    assert np.allclose(place.xy[4], body[4], atol=0.5)  # a mean of mixed shapes
