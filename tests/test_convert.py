"""Labels <-> layer data round trips, without a viewer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.io.labels import compare_labels, load_labels
from napari_sleap.napari.layers.convert import (
    META_KEY,
    decode_rows,
    edge_vectors,
    edges_layer,
    labels_to_layers,
    labels_to_points,
    labels_to_tracks,
)
from napari_sleap.napari.layers.edits import layers_to_labels, points_to_labels
from napari_sleap.napari.layers.styles import DEFAULT_STYLE


def _labels(n_frames: int = 4, *, predicted: bool = True) -> sio.Labels:
    """Two animals a frame (user + predicted), a hidden NaN node, an untracked one."""
    skel = sio.Skeleton(
        ["head", "thorax", "tail"],
        edges=[("head", "thorax"), ("thorax", "tail")],
        symmetries=[],
    )
    video = sio.Video(filename="fake.mp4", open_backend=False)
    tracks = [sio.Track("a"), sio.Track("b")]
    rng = np.random.default_rng(1)
    lfs = []
    for f in range(n_frames):
        pts = rng.uniform(10, 90, size=(3, 2))
        pts[2] = np.nan
        user = sio.Instance.from_numpy(pts, skeleton=skel, track=tracks[0])
        insts = [user]
        if predicted:
            pred = sio.PredictedInstance.from_numpy(
                rng.uniform(10, 90, size=(3, 2)),
                point_scores=np.array([0.9, 0.8, 0.7]),
                score=0.5,
                skeleton=skel,
                track=tracks[1] if f % 2 else None,
            )
            insts.append(pred)
        lfs.append(sio.LabeledFrame(video=video, frame_idx=2 * f, instances=insts))
    # an invisible node with finite stored coordinates
    lfs[0].instances[0].points["visible"][1] = False
    return sio.Labels(lfs, videos=[video], skeletons=[skel], tracks=tracks)


def _roundtrip(layer):
    data, kwargs, _ = layer
    return points_to_labels(data, kwargs["features"], kwargs["metadata"])


def test_points_layer_contents() -> None:
    labels = _labels()
    data, kwargs, kind = labels_to_points(labels)
    assert kind == "points" and data.shape == (4 * 2 * 3, 3)
    assert np.isfinite(data).all()
    f = kwargs["features"]
    assert set(f) == {
        "frame",
        "instance",
        "node",
        "track",
        "visible",
        "predicted",
        "score",
    }
    assert list(f["node"][:3]) == ["head", "thorax", "tail"]
    # frame 0: user instance: head visible, thorax hidden (finite), tail NaN (hidden)
    assert list(f["visible"][:3]) == [True, False, False]
    # a hidden node that has a position stays drawn (dimmed) so it can be shown
    # again; a user instance's never-placed node is drawn parked beside it
    assert list(kwargs["shown"][:3]) == [True, True, True]
    assert data[2, 2] > data[:2, 2].max()  # right of the placed nodes
    head = labels[0].instances[0].numpy()[0]
    assert np.allclose(data[0], [0, head[1], head[0]])
    assert f["predicted"][3] and not f["predicted"][0]
    assert np.allclose(f["score"][3:6], [0.9, 0.8, 0.7]) and np.isnan(f["score"][0])
    assert f["track"][0] == "a" and f["track"][3] == "" and f["track"][9] == "b"
    # colors: face by node, border by track
    nodes = DEFAULT_STYLE.points.node_colors(3)
    assert np.allclose(kwargs["face_color"][0], nodes[0])
    assert np.allclose(kwargs["face_color"][4, :3], nodes[1, :3])
    assert kwargs["face_color"][4, 3] == pytest.approx(
        DEFAULT_STYLE.points.predicted_alpha
    )
    tracks = DEFAULT_STYLE.tracks.track_colors(2)
    assert np.allclose(kwargs["border_color"][0], tracks[0])
    assert np.allclose(kwargs["border_color"][3], DEFAULT_STYLE.tracks.untracked)
    assert kwargs["metadata"][META_KEY]["labels"] is labels


def test_unchanged_round_trip_is_exact() -> None:
    labels = _labels()
    again = _roundtrip(labels_to_points(labels))
    assert compare_labels(labels, again) == []
    assert again is not labels


def test_move_one_point_changes_only_that_point() -> None:
    labels = _labels()
    data, kwargs, _ = labels_to_points(labels)
    data = data.copy()
    data[4, 1:] += [3.5, -2.25]  # thorax of the predicted instance, frame 0
    again = points_to_labels(data, kwargs["features"], kwargs["metadata"])
    diffs = compare_labels(labels, again)
    assert (
        len(diffs) == 1 and "instance 1 (video 0, frame 0): points differ" in diffs[0]
    )
    moved = again[0].instances[1]
    assert isinstance(moved, sio.PredictedInstance) and moved.score == 0.5
    assert np.allclose(
        moved.numpy()[1], labels[0].instances[1].numpy()[1] + [-2.25, 3.5]
    )
    assert moved.points["score"][1] == pytest.approx(0.8)
    # invisible stays invisible (NaN and finite-hidden alike), original untouched
    user = again[0].instances[0]
    assert list(user.points["visible"]) == [True, False, False]
    assert np.array_equal(
        user.points["xy"], labels[0].instances[0].points["xy"], equal_nan=True
    )
    assert labels[0].instances[1].numpy()[1][0] != moved.numpy()[1][0]


def test_delete_rows_hides_nodes_and_removes_instances() -> None:
    labels = _labels()
    data, kwargs, _ = labels_to_points(labels)
    f = {k: np.asarray(v) for k, v in kwargs["features"].items()}
    keep = np.ones(len(data), bool)
    keep[0] = False  # head of the user instance on frame 0
    keep[f["instance"] == 3] = False  # the whole predicted instance on frame 2
    feats = {k: v[keep] for k, v in f.items()}
    again = points_to_labels(data[keep], feats, kwargs["metadata"])
    assert not again[0].instances[0].points["visible"][0]
    assert len(again[1].instances) == 1 and type(again[1].instances[0]) is sio.Instance
    assert len(list(again.instances)) == len(list(labels.instances)) - 1
    assert labels[0].instances[0].points["visible"][0]  # original untouched
    # deleting every instance of a frame drops the frame
    gone = f["frame"] != 0
    again = points_to_labels(
        data[gone], {k: v[gone] for k, v in f.items()}, kwargs["metadata"]
    )
    assert len(again) == len(labels) - 1 and again.find(again.video, 0) == []


def test_added_rows_become_a_new_user_instance() -> None:
    labels = _labels()
    data, kwargs, _ = labels_to_points(labels)
    f = {k: np.asarray(v) for k, v in kwargs["features"].items()}
    new = np.array([[6.0, 40.0, 30.0], [6.0, 50.0, 31.0], [100.0, 5.0, 5.0]])
    feats = {
        "frame": np.r_[f["frame"], [6, 6, 100]],
        "instance": np.r_[f["instance"], [-1, -1, -1]],
        "node": np.r_[f["node"], ["head", "tail", "thorax"]],
        "track": np.r_[f["track"], ["c", "c", ""]],
        "visible": np.r_[f["visible"], [True, True, True]],
        "predicted": np.r_[f["predicted"], [False, False, False]],
        "score": np.r_[f["score"], [np.nan] * 3],
    }
    again = points_to_labels(np.vstack([data, new]), feats, kwargs["metadata"])
    lf6 = again.find(again.video, 6)[0]
    assert len(lf6.instances) == 3
    added = lf6.instances[-1]
    assert type(added) is sio.Instance and added.track.name == "c"
    assert np.allclose(added.numpy()[[0, 2]], [[30, 40], [31, 50]])
    assert not added.points["visible"][1]
    lf100 = again.find(again.video, 100)[0]
    assert np.allclose(lf100.instances[0].numpy()[1], [5, 5])
    assert "c" in [t.name for t in again.tracks]


def test_track_reassignment_from_features() -> None:
    labels = _labels()
    data, kwargs, _ = labels_to_points(labels)
    f = {k: np.array(v) for k, v in kwargs["features"].items()}
    f["track"][f["instance"] == 0] = "b"
    again = points_to_labels(data, f, kwargs["metadata"])
    assert again[0].instances[0].track.name == "b"
    assert labels[0].instances[0].track.name == "a"  # original untouched
    assert again[1].instances[0].track.name == "a"


def test_edges_follow_rows() -> None:
    labels = _labels()
    points = labels_to_points(labels)
    vectors, kw, kind = edges_layer(points)
    assert kind == "vectors"
    # user instances: head-thorax only where thorax visible; thorax-tail never (NaN)
    data, kwargs, _ = points
    keys = decode_rows(data, kwargs["features"], kwargs["metadata"][META_KEY])
    v, src, dst = edge_vectors(data, keys, kwargs["metadata"][META_KEY])
    assert np.allclose(v[:, 0], data[src]) and np.allclose(v[:, 0] + v[:, 1], data[dst])
    assert len(v) == 3 + 4 * 2  # user frames 1..3 one edge each; predicted two each
    assert (v[:, 1, 0] == 0).all()
    tracks = DEFAULT_STYLE.tracks.track_colors(2)
    first_a = np.nonzero(keys.instance[src] == 2)[0][0]  # user, track a
    assert np.allclose(kw["edge_color"][first_a], tracks[0])
    first_untracked = np.nonzero(keys.instance[src] == 1)[0][0]
    assert np.allclose(
        kw["edge_color"][first_untracked], DEFAULT_STYLE.tracks.untracked
    )


def test_tracks_layer() -> None:
    labels = _labels()
    data, kw, kind = labels_to_tracks(labels)
    assert kind == "tracks"
    # track a: 4 user instances (centroids); track b: predicted on odd frames
    assert (data[:, 0] == 0).sum() == 4 and (data[:, 0] == 1).sum() == 2
    inst = labels[1].instances[0]
    c = np.nanmean(inst.numpy()[inst.points["visible"]], axis=0)
    row = data[(data[:, 0] == 0) & (data[:, 1] == 2)][0]
    assert np.allclose(row[2:], [c[1], c[0]])
    head, _, _ = labels_to_tracks(labels, node="head")
    assert np.allclose(head[0, 2:], labels[0].instances[0].numpy()[0][::-1])
    untracked = _labels()
    for inst in untracked.instances:
        inst.track = None
    assert labels_to_tracks(untracked) is None


@pytest.mark.shared_data
def test_real_labels_round_trip(clip_all_slp: Path) -> None:
    labels = load_labels(clip_all_slp)
    layers = labels_to_layers(labels)
    assert [k for _, _, k in layers] == ["tracks", "vectors", "points"]
    data, kwargs, _ = layers[-1]
    assert len(data) == 2500 * 13
    assert compare_labels(labels, layers_to_labels(layers)) == []
    data = data.copy()
    data[1000, 1:] = [500.0, 600.0]
    again = layers_to_labels([(data, kwargs, "points")])
    diffs = compare_labels(labels, again)
    assert len(diffs) == 1, diffs
    inst_id = kwargs["features"]["instance"][1000]
    lf = again.labeled_frames[kwargs["metadata"][META_KEY]["table"].lf[inst_id]]
    assert lf.frame_idx == kwargs["features"]["frame"][1000]


@pytest.mark.shared_data
def test_sleap1_predictions_round_trip(sleap1_models_dir: Path) -> None:
    for path in sorted(sleap1_models_dir.glob("*.labels_pr.*.slp")):
        labels = load_labels(path)
        layers = labels_to_layers(labels)
        assert compare_labels(labels, layers_to_labels(layers)) == [], path.name
        assert layers[-1][1]["features"]["predicted"].all()


def _big_labels(n_frames: int) -> sio.Labels:
    skel = sio.Skeleton(
        [f"n{i}" for i in range(13)], edges=[(i, i + 1) for i in range(12)]
    )
    video = sio.Video(filename="big.mp4", open_backend=False)
    tracks = [sio.Track("a"), sio.Track("b")]
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 1000, size=(n_frames, 2, 13, 2))
    lfs = [
        sio.LabeledFrame(
            video=video,
            frame_idx=f,
            instances=[
                sio.PredictedInstance.from_numpy(
                    xy[f, a],
                    point_scores=np.ones(13),
                    score=1.0,
                    skeleton=skel,
                    track=tracks[a],
                )
                for a in range(2)
            ],
        )
        for f in range(n_frames)
    ]
    return sio.Labels(lfs, videos=[video], skeletons=[skel], tracks=tracks)


@pytest.mark.slow
def test_scale_10k_frames() -> None:
    """10k frames convert and come back with exactly the one edit.

    Speed is measured by ``bench/bench_layers.py convert`` (docs/benchmarks.md),
    not asserted here: a wall-clock bound on a shared machine either flakes or
    is too loose to catch anything.
    """
    labels = _big_labels(10_000)
    layers = labels_to_layers(labels, window_min_rows=None)
    data, kwargs, _ = layers[-1]
    assert len(data) == 10_000 * 2 * 13
    data = data.copy()
    data[12345, 1] += 1
    again = layers_to_labels([(data, kwargs, "points")])
    diffs = compare_labels(labels, again)
    assert len(diffs) == 1 and "points differ" in diffs[0], diffs


def test_labeling_from_scratch() -> None:
    """An empty Labels (video + skeleton) gets its instances from added rows."""
    skel = sio.Skeleton(["head", "tail"], edges=[("head", "tail")])
    video = sio.Video(filename="new.mp4", open_backend=False)
    empty = sio.Labels(videos=[video], skeletons=[skel])
    data, kwargs, _ = labels_to_points(empty)
    assert data.shape == (0, 3)
    rows = np.array([[5.0, 10.0, 20.0], [5.0, 30.0, 40.0], [5.0, 50.0, 60.0]])
    feats = {
        "frame": np.array([5, 5, 5]),
        "instance": np.array([0, 0, 1]),  # ids beyond the (empty) table: new
        "node": np.array(["head", "tail", "head"], dtype=object),
        "track": np.array(["", None, np.nan], dtype=object),  # missing: untracked
        "visible": np.ones(3, bool),
        "predicted": np.zeros(3, bool),
        "score": np.full(3, np.nan),
    }
    labels = points_to_labels(rows, feats, kwargs["metadata"])
    (lf,) = labels.labeled_frames
    assert lf.frame_idx == 5 and len(lf.instances) == 2
    assert np.allclose(lf.instances[0].numpy(), [[20, 10], [40, 30]])
    assert list(lf.instances[1].points["visible"]) == [True, False]
    assert labels.tracks == [] and lf.instances[1].track is None
    assert len(empty) == 0  # the original stays empty


def test_from_predicted_link_survives_an_edit(tmp_path: Path) -> None:
    from napari_sleap.io.labels import save_labels

    labels = _labels()
    pred = labels[0].instances[1]
    labels[0].instances[0].from_predicted = pred
    data, kwargs, _ = labels_to_points(labels)
    data = data.copy()
    data[3, 1] += 2.0  # a node of that prediction
    again = points_to_labels(data, kwargs["features"], kwargs["metadata"])
    assert again[0].instances[0].from_predicted is again[0].instances[1]
    assert labels[0].instances[0].from_predicted is pred  # original untouched
    saved = load_labels(save_labels(again, tmp_path / "x.slp"), missing_videos="ignore")
    assert saved[0].instances[0].from_predicted is saved[0].instances[1]
    assert len(compare_labels(labels, again)) == 1


def test_writer_needs_napari_sleap_layers() -> None:
    with pytest.raises(ValueError, match=r"open a \.slp file"):
        layers_to_labels([(np.zeros((1, 3)), {"metadata": {}}, "points")])
    a = labels_to_points(_labels())
    b = labels_to_points(_labels())
    with pytest.raises(ValueError, match="several .slp files"):
        layers_to_labels([a, b])


def test_windowed_layer_holds_one_frame_and_saves_every_row() -> None:
    """Past the row threshold the layer holds one frame; the writer takes them all."""
    labels = _big_labels(300)
    layers = labels_to_layers(labels, window_min_rows=1000)
    data, kwargs, _ = layers[-1]
    meta = kwargs["metadata"][META_KEY]
    assert meta["windowed"] and len(meta["store"]) == 300 * 2 * 13
    rows = meta["window_rows"]
    assert len(data) == 2 * 13 + 2  # frame 0's rows plus two hidden anchors
    assert set(data[rows >= 0, 0]) == {0.0} and not kwargs["shown"][rows < 0].any()
    assert data[rows < 0, 0].tolist() == [0.0, 299.0]  # the slider keeps its range
    assert np.allclose(data[rows >= 0], meta["store"].data[rows[rows >= 0]])
    # unchanged: the saved labels equal the original, every frame included
    assert compare_labels(labels, layers_to_labels([layers[-1]])) == []
    # a point moved in the window changes that point only
    moved = data.copy()
    moved[3, 1] += 2.0
    again = layers_to_labels([(moved, kwargs, "points")])
    assert len(compare_labels(labels, again)) == 1
    # a point moved in the store (another frame) is saved as well
    store = meta["store"]
    frame_rows = store.frame_rows(150)
    assert len(frame_rows) == 26
    store.data[frame_rows[0], 2] += 3.0
    again = layers_to_labels([(data, kwargs, "points")])
    inst = next(lf for lf in again if lf.frame_idx == 150).instances[0]
    orig = next(lf for lf in labels if lf.frame_idx == 150).instances[0]
    assert np.isclose(inst.numpy()[0, 0], orig.numpy()[0, 0] + 3.0)
    assert len(compare_labels(labels, again)) == 1
