"""Real napari viewer: reader -> layers -> edit -> writer -> reopen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from napari_sleap.io.labels import compare_labels, load_labels
from napari_sleap.napari.layers.convert import META_KEY

PLUGIN = "napari-sleap"


def _by_type(viewer, kind: str):
    return [layer for layer in viewer.layers if type(layer).__name__ == kind]


def _open_slp(viewer, path: Path):
    viewer.open(str(path), plugin=PLUGIN)
    (points,) = _by_type(viewer, "Points")
    (edges,) = _by_type(viewer, "Vectors")
    # the viewer opens on the first labeled frame
    assert viewer.dims.point[0] == points.data[:, 0].min()
    return points, edges


def _drag(points, row: int, delta: tuple[float, float]) -> None:
    """Move one point the way a mouse drag does (select, drag start, move)."""
    points.selected_data = {row}
    start = np.array(points.data[row], dtype=float)
    points._set_drag_start({row}, start)
    points._move({row}, start + np.array([0.0, *delta]))
    points._drag_start = None


def test_reader_builds_lazy_layers(make_napari_viewer, clip_train_slp: Path) -> None:
    from napari_sleap.io.video_base import LazyFrames

    viewer = make_napari_viewer()
    viewer.open(str(clip_train_slp), plugin=PLUGIN)
    kinds = [type(layer).__name__ for layer in viewer.layers]
    assert kinds == ["Image", "Tracks", "Vectors", "Points"]
    image = viewer.layers[0]
    assert isinstance(image.data, LazyFrames) and image.data.shape == (1500, 1024, 1024)
    # only the frames on screen were decoded, not the video
    assert 0 < image.data.reader.reads <= 3
    points = viewer.layers[-1]
    assert points.data.shape == (100 * 2 * 13, 3)
    assert set(points.features.columns) >= {
        "frame",
        "instance",
        "node",
        "track",
        "visible",
        "predicted",
        "score",
    }
    assert set(points.features["track"]) == {"male", "female"}
    tracks = viewer.layers[1]
    assert tracks.data.shape == (200, 4) and tracks.color_by == "track_color"
    assert viewer.dims.range[0].stop >= 1499


def test_napari_picks_this_reader_for_slp(
    make_napari_viewer, clip_train_slp: Path
) -> None:
    """File > Open (no plugin named): the .slp goes to napari-sleap by itself."""
    viewer = make_napari_viewer()
    viewer.open(str(clip_train_slp), plugin=None)
    assert [type(x).__name__ for x in viewer.layers][-1] == "Points"


def test_edges_follow_a_dragged_point(make_napari_viewer, clip_train_slp: Path) -> None:
    viewer = make_napari_viewer()
    points, edges = _open_slp(viewer, clip_train_slp)
    row = 1  # thorax of the first instance: hub of most edges
    before = np.array(edges.data)
    _drag(points, row, (7.0, -4.0))
    after = np.array(edges.data)
    changed = np.any(before != after, axis=(1, 2))
    assert changed.sum() >= 3
    # every edge still starts and ends on its points
    starts = after[:, 0]
    ends = after[:, 0] + after[:, 1]
    rows = points.data
    assert np.isclose(starts[:, None, :], rows[None, :, :]).all(-1).any(1).all()
    assert np.isclose(ends[:, None, :], rows[None, :, :]).all(-1).any(1).all()
    assert np.allclose(points.data[row, 1:], rows[row, 1:])


def test_edges_window_follows_the_frame_slider(
    make_napari_viewer, clip_train_slp: Path
) -> None:
    viewer = make_napari_viewer()
    points, edges = _open_slp(viewer, clip_train_slp)
    # 2 flies x 12 edges, less one to the female's midlegL4, never placed (NaN)
    assert (np.asarray(edges.data)[:, 0, 0] == 0).all() and len(edges.data) == 23
    viewer.dims.set_point(0, 1100)
    assert (np.asarray(edges.data)[:, 0, 0] == 1100).all() and len(edges.data) > 0
    viewer.dims.set_point(0, 1101)  # unlabeled frame: no edges
    assert len(edges.data) == 0
    viewer.layers.remove(viewer.layers[0])  # (the image would decode every frame)
    viewer.dims.order = (1, 0, 2)  # frames on screen: every edge is drawn
    labels = points.metadata["napari_sleap"]["labels"]
    placed = 0  # edges whose two nodes are placed (12 per fly, a few NaN nodes)
    for inst in (i for lf in labels for i in lf.instances):
        ok = np.isfinite(inst.numpy()).all(axis=1) & inst.points["visible"]
        placed += sum(bool(ok[a] and ok[b]) for a, b in inst.skeleton.edge_inds)
    assert placed == 2380 and len(edges.data) == placed


def test_removing_a_layer_unlinks(make_napari_viewer, clip_train_slp: Path) -> None:
    from napari_sleap.napari.sync.skeleton_link import _LINKS

    viewer = make_napari_viewer()
    points, edges = _open_slp(viewer, clip_train_slp)
    assert points in _LINKS
    viewer.layers.remove(edges)
    assert points not in _LINKS
    shown = np.array(edges.data)
    viewer.dims.set_point(0, 1100)  # the detached edges layer no longer follows
    assert np.array_equal(shown, edges.data)


def test_delete_point_updates_edges(make_napari_viewer, clip_train_slp: Path) -> None:
    from napari_sleap.napari.sync.skeleton_link import _LINKS

    viewer = make_napari_viewer()
    points, edges = _open_slp(viewer, clip_train_slp)
    n_before = len(edges.data)
    points.selected_data = {0, 13}  # both heads on frame 0 (3 edges each)
    points.remove_selected()
    assert len(edges.data) == n_before - 6
    incremental = np.array(edges.data)
    colors = np.array(edges.edge_color)
    _LINKS[points].rebuild()  # from scratch: same edges, same colors
    assert np.array_equal(incremental, edges.data)
    assert np.allclose(colors, edges.edge_color)
    # and a drag after the delete still moves the right edges
    before = np.array(edges.data)
    _drag(points, 0, (5.0, 5.0))
    dragged = np.array(edges.data)
    assert np.any(before != dragged)
    _LINKS[points].rebuild()
    assert np.array_equal(dragged, edges.data)


def test_added_point_joins_its_instance(
    make_napari_viewer, clip_train_slp: Path
) -> None:
    viewer = make_napari_viewer()
    points, edges = _open_slp(viewer, clip_train_slp)
    n_before = len(edges.data)
    points.selected_data = {0}
    points.remove_selected()  # head of instance 0 gone: 3 edges less
    assert len(edges.data) == n_before - 3
    points.feature_defaults = points.features.iloc[[0]].assign(node="head")
    points.add([[0.0, 300.0, 300.0]])
    assert len(edges.data) == n_before
    ends = np.array(edges.data)[:, 0] + np.array(edges.data)[:, 1]
    starts = np.array(edges.data)[:, 0]
    new = np.array([0.0, 300.0, 300.0])
    assert np.isclose(np.r_[starts, ends], new).all(axis=1).sum() == 3


def test_open_edit_save_reopen(
    make_napari_viewer, clip_train_slp: Path, tmp_path: Path
) -> None:
    viewer = make_napari_viewer()
    points, _ = _open_slp(viewer, clip_train_slp)
    original = load_labels(clip_train_slp)
    row = 40  # a node of the 4th instance
    inst_id = int(points.features["instance"][row])
    node = points.features["node"][row]
    old = points.data[row].copy()
    _drag(points, row, (12.5, -3.25))

    out = tmp_path / "edited.slp"
    viewer.layers.save(str(out), plugin=PLUGIN)
    again = load_labels(out)
    diffs = compare_labels(original, again)
    assert len(diffs) == 1 and "points differ" in diffs[0], diffs

    table = points.metadata[META_KEY]["table"]
    lf = again.labeled_frames[table.lf[inst_id]]
    inst = lf.instances[table.pos[inst_id]]
    k = inst.skeleton.node_names.index(node)
    assert np.allclose(inst.numpy()[k], [old[2] - 3.25, old[1] + 12.5])
    orig_inst = original.labeled_frames[table.lf[inst_id]].instances[table.pos[inst_id]]
    others = np.arange(len(inst.skeleton.nodes)) != k
    assert np.array_equal(
        inst.numpy()[others], orig_inst.numpy()[others], equal_nan=True
    )

    # reopening the saved file in a fresh viewer shows the moved point
    viewer2 = make_napari_viewer()
    points2, _ = _open_slp(viewer2, out)
    assert np.allclose(points2.data[row], points.data[row])
    assert np.array_equal(
        np.delete(points2.data, row, 0), np.delete(points.data, row, 0)
    )


def test_predictions_stay_predicted(
    make_napari_viewer, sleap1_models_dir: Path, tmp_path: Path
) -> None:
    src = sleap1_models_dir / "minimal_instance.UNet.centroid.labels_pr.train.slp"
    viewer = make_napari_viewer()
    points, _ = _open_slp(viewer, src)
    assert points.features["predicted"].all()
    _drag(points, 0, (1.0, 1.0))
    out = tmp_path / "pred.slp"
    viewer.layers.save(str(out), plugin=PLUGIN)
    original, again = load_labels(src), load_labels(out)
    assert len(compare_labels(original, again)) == 1
    inst = again.labeled_frames[0].instances[0]
    assert type(inst).__name__ == "PredictedInstance"
    assert inst.score == pytest.approx(original.labeled_frames[0].instances[0].score)


def test_video_alone_opens_as_lazy_image(make_napari_viewer, clip_mp4: Path) -> None:
    from napari_sleap.io.video_base import LazyFrames

    viewer = make_napari_viewer()
    viewer.open(str(clip_mp4), plugin=PLUGIN)
    (image,) = viewer.layers
    assert isinstance(image.data, LazyFrames) and image.data.shape == (1500, 1024, 1024)
    # only the frames on screen were decoded, not the video
    assert 0 < image.data.reader.reads <= 3
    viewer.dims.set_point(0, 700)
    assert image.data[700].shape == (1024, 1024)


def test_zarr_store_and_image_folder_open(make_napari_viewer, tmp_path: Path) -> None:
    import imageio.v3 as iio
    import zarr

    frames = (np.arange(6 * 16 * 20) % 251).astype(np.uint8).reshape(6, 16, 20)
    store = tmp_path / "frames.zarr"
    arr = zarr.create_array(
        str(store), shape=frames.shape, chunks=(1, 16, 20), dtype="u1"
    )
    arr[:] = frames
    folder = tmp_path / "images"
    folder.mkdir()
    for i, frame in enumerate(frames):
        iio.imwrite(folder / f"img{i:03d}.png", frame)
    viewer = make_napari_viewer()
    viewer.open(str(store), plugin=PLUGIN)
    viewer.open(str(folder), plugin=PLUGIN)
    assert len(viewer.layers) == 2
    for layer in viewer.layers:
        assert layer.data.shape == (6, 16, 20)
        assert np.array_equal(np.asarray(layer.data[3]), frames[3])


def test_missing_video_still_opens_labels(
    make_napari_viewer, clip_train_slp: Path, tmp_path: Path
) -> None:
    import shutil

    slp = Path(shutil.copy(clip_train_slp, tmp_path / "alone.slp"))
    viewer = make_napari_viewer()
    with pytest.warns(UserWarning, match="(?s)clip.mp4.*Missing videos panel") as seen:
        viewer.open(str(slp), plugin=PLUGIN)
    assert [type(x).__name__ for x in viewer.layers] == ["Tracks", "Vectors", "Points"]
    # The fix named is the viewer's, not Python arguments or command options.
    assert not any("video_search_paths" in str(w.message) for w in seen)
    assert "Missing videos (napari-sleap)" in viewer.window.dock_widgets


def test_get_reader_declines_other_files(tmp_path: Path) -> None:
    from napari_sleap.napari._reader import get_reader

    (tmp_path / "notes.txt").write_text("x")
    assert get_reader(str(tmp_path / "notes.txt")) is None
    assert get_reader(str(tmp_path)) is None  # a folder without images
    assert get_reader(["a.slp", "b.slp"]) is None
    assert get_reader("x.slp") is not None and get_reader("x.MP4") is not None


def test_manifest_valid_and_plugin_listed() -> None:
    out = subprocess.run(
        [str(Path(sys.executable).parent / "npe2"), "validate", PLUGIN, "--imports"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and "valid" in out.stdout, out.stdout + out.stderr

    import npe2

    pm = npe2.PluginManager.instance()
    pm.discover()
    manifest = pm.get_manifest(PLUGIN)
    assert manifest.name == PLUGIN
    commands = {c.id: c.python_name for c in manifest.contributions.commands}
    assert (
        commands["napari-sleap.get_reader"] == "napari_sleap.napari._reader:get_reader"
    )
    assert commands["napari-sleap.write_slp"] == "napari_sleap.napari._writer:write_slp"
    from npe2.manifest.utils import import_python_name

    for cid in ("napari-sleap.get_reader", "napari-sleap.write_slp"):
        assert callable(import_python_name(commands[cid]))
    assert any(
        r.command == "napari-sleap.get_reader" for r in manifest.contributions.readers
    )


def test_pkg_slp_opens_with_embedded_frames(
    make_napari_viewer, clip_train_slp: Path, tmp_path: Path
) -> None:
    import sleap_io as sio

    from napari_sleap.io.labels import save_labels

    labels = load_labels(clip_train_slp)
    small = sio.Labels(
        labels.labeled_frames[:2],
        videos=labels.videos,
        skeletons=labels.skeletons,
        tracks=labels.tracks,
    )
    pkg = save_labels(small, tmp_path / "two.pkg.slp", embed="user")
    viewer = make_napari_viewer()
    points, _ = _open_slp(viewer, pkg)
    image = viewer.layers[0]
    frame = small.labeled_frames[1].frame_idx
    assert np.array_equal(np.asarray(image.data[frame]), small.videos[0][frame][..., 0])
    _drag(points, 0, (2.0, 2.0))
    out = tmp_path / "edited.pkg.slp"
    viewer.layers.save(str(out), plugin=PLUGIN)
    again = load_labels(out)
    assert len(compare_labels(small, again)) == 1
    assert np.array_equal(again.videos[0][frame], small.videos[0][frame])


def test_several_videos_open_one_shown(
    make_napari_viewer, clip_train_slp: Path, sleap1_models_dir: Path, tmp_path: Path
) -> None:
    import sleap_io as sio

    from napari_sleap.io.labels import save_labels

    clip = load_labels(clip_train_slp)
    robot = load_labels(
        sleap1_models_dir / "minimal_robot.UNet.single_instance.labels_gt.train.slp"
    )
    lf = robot.labeled_frames[0]
    inst = sio.Instance.from_numpy(np.full((13, 2), 50.0), skeleton=clip.skeletons[0])
    both = sio.Labels(
        [
            *clip.labeled_frames[:2],
            sio.LabeledFrame(robot.videos[0], lf.frame_idx, [inst]),
        ],
        videos=[clip.videos[0], robot.videos[0]],
        skeletons=clip.skeletons,
        tracks=clip.tracks,
    )
    slp = save_labels(both, tmp_path / "two_videos.slp")
    viewer = make_napari_viewer()
    viewer.open(str(slp), plugin=PLUGIN)
    assert len(_by_type(viewer, "Image")) == 2 and len(_by_type(viewer, "Points")) == 2
    shown = [layer.name for layer in viewer.layers if layer.visible]
    assert all("clip.mp4" in name for name in shown), shown
    robot_points = [p for p in _by_type(viewer, "Points") if not p.visible][0]
    moved = robot_points.data.copy()
    moved[0, 1:] += 1.0
    robot_points.data = moved
    out = tmp_path / "saved.slp"
    viewer.layers.save(str(out), plugin=PLUGIN)
    diffs = compare_labels(both, load_labels(out))
    assert len(diffs) == 1 and "video 1" in diffs[0], diffs
