"""Result parts: packing round trip, names, fingerprints, part folders, readers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_sleap.infer.parts import (
    MANIFEST,
    checked_open,
    open_frames,
    open_parts_folder,
    pack_poses,
    part_name,
    parts_folder,
    run_fingerprint,
    save_part,
    unpack_poses,
)
from napari_sleap.infer.predictor import PredictorOptions
from napari_sleap.infer.results import FramePoses


def _poses(n: int, n_nodes: int = 3, ident: bool = False) -> FramePoses:
    rng = np.random.default_rng(n)
    return FramePoses(
        rng.uniform(0, 100, (n, n_nodes, 2)),
        rng.uniform(0, 1, (n, n_nodes)),
        rng.uniform(0, 1, n),
        np.arange(n) if ident else None,
        rng.uniform(0, 1, n) if ident else None,
    )


def test_pack_and_unpack_round_trip_through_a_saved_part(tmp_path):
    frames = [4, 5, 9]
    poses = [_poses(2), _poses(0), _poses(1)]
    data = pack_poses(frames, poses, 3)
    assert data["counts"].tolist() == [2, 0, 1]
    assert data["points"].shape == (3, 3, 2) and data["points"].dtype == np.float32
    assert data["class_inds"].tolist() == [-1, -1, -1]
    path = tmp_path / part_name(0, 0)
    save_part(path, data)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp left
    back = unpack_poses(dict(np.load(path)))
    assert [f for f, _ in back] == frames
    for (_, got), want in zip(back, poses, strict=True):
        assert len(got) == len(want)
        np.testing.assert_allclose(got.points, want.points, rtol=1e-6)
        np.testing.assert_allclose(got.instance_scores, want.instance_scores, 1e-6)


def test_identity_fields_and_empty_parts():
    data = pack_poses([0], [_poses(2, ident=True)], 3)
    assert data["class_inds"].tolist() == [0, 1]
    empty = pack_poses([], [], 5)
    assert empty["points"].shape == (0, 5, 2) and unpack_poses(empty) == []


def test_part_names_sort_in_video_then_chunk_order():
    names = [part_name(v, c) for v in (0, 1, 12) for c in (0, 3, 250)]
    assert names == sorted(names) and names[0] == "v000-000000.npz"


def test_fingerprint_ignores_speed_only_options_only(tmp_path):
    jobs = [("a.mp4", [0, 1, 2])]
    base = run_fingerprint([tmp_path], jobs, PredictorOptions(), 500)
    faster = PredictorOptions(batch_size=16, prefetch=8)
    assert run_fingerprint([tmp_path], jobs, faster, 500) == base
    other = PredictorOptions(peak_threshold=0.5)
    assert run_fingerprint([tmp_path], jobs, other, 500) != base
    assert run_fingerprint([tmp_path], jobs, PredictorOptions(), 100) != base
    assert (
        run_fingerprint([tmp_path], [("a.mp4", [0, 1])], PredictorOptions(), 500)
        != base
    )


def test_parts_folder_is_kept_for_the_same_run_and_refused_for_another(tmp_path):
    out = tmp_path / "x.slp"
    assert parts_folder(out) == tmp_path / "x.slp.parts"
    folder = open_parts_folder(out, "abc")
    assert json.loads((folder / MANIFEST).read_text()) == {"fingerprint": "abc"}
    assert open_parts_folder(out, "abc") == folder
    with pytest.raises(ValueError, match=r"x\.slp\.parts.*delete that folder"):
        open_parts_folder(out, "other")


def test_unreadable_videos_are_named(tmp_path):
    import sleap_io as sio

    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video\n")
    with pytest.raises(ValueError, match="notes.mp4"):
        open_frames(sio.Video.from_filename(str(fake), grayscale=True))

    def explode(what):
        raise RuntimeError("decoder blew up")

    with pytest.raises(ValueError, match=r"thing\.mp4.*RuntimeError.*re-encode"):
        checked_open(explode, "thing.mp4")


@pytest.mark.shared_data
def test_auto_tta_keys_a_run_as_the_mode_it_stands_for(sleap1_models_dir):
    """Batch mode plans parts before a worker resolves ``auto``: both must agree."""
    dirs = [
        sleap1_models_dir / "minimal_instance.UNet.centroid",
        sleap1_models_dir / "minimal_instance.UNet.centered_instance",
    ]
    jobs = [("a.mp4", [0, 1])]

    def key(tta: str) -> str:
        return run_fingerprint(dirs, jobs, PredictorOptions(tta=tta), 500)

    assert key("auto") == key("rot90") != key("none")
