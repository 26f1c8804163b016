"""Other tools' labels open like a .slp: DeepLabCut, COCO, SLEAP analysis HDF5.

Every foreign file here is written by hand (csv/json/yaml) from the proofread
fly labels, with the labeled frames saved as PNGs the way DeepLabCut and COCO
keep them; loading must give back exactly those points.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.io.formats import ForeignLabelsError, detect_format, is_labels_path
from napari_sleap.io.labels import LabelsFileError, load_labels
from tests.io.foreign_files import by_track, dlc_project, write_images

pytestmark = pytest.mark.shared_data

N_FRAMES = 4


@pytest.fixture(scope="module")
def source(clip_train_slp):
    """The first labeled frames of the fly clip: (labels, [(frame image, lf)])."""
    labels = load_labels(clip_train_slp)
    frames = [(lf.video[lf.frame_idx], lf) for lf in labels.labeled_frames[:N_FRAMES]]
    return labels, frames


def _check_points(got: sio.Labels, frames, animals) -> None:
    assert len(got.labeled_frames) == len(frames)
    want_nodes = frames[0][1].user_instances[0].skeleton.node_names
    assert got.skeletons[0].node_names == want_nodes
    assert got.skeletons[0].name  # NWB and SLEAP need one
    by_image = sorted(got.labeled_frames, key=lambda lf: lf.frame_idx)
    for lf_got, (_, lf) in zip(by_image, frames, strict=True):
        want = by_track(lf)
        if len(animals) > 1:
            have = {i.track.name: i.numpy() for i in lf_got.instances}
        else:
            have = {animals[0]: lf_got.instances[0].numpy()}
        assert set(have) == set(animals)
        for a in animals:
            np.testing.assert_allclose(have[a], want[a], rtol=1e-12)
        # The PNG frames are the video's frames.
        image = np.asarray(lf_got.video[lf_got.frame_idx])
        assert image.shape[:2] == (1024, 1024)


def test_dlc_multi_animal_project_folder_config_and_csv(source, tmp_path):
    labels, frames = source
    root = tmp_path / "flies-tester-2026-12-05"
    dlc_project(root, labels, frames, ["male", "female"])
    csv_path = root / "labeled-data" / "clip" / "CollectedData_tester.csv"
    for path, kind in (
        (root, "dlc_project"),
        (root / "config.yaml", "dlc_project"),
        (csv_path, "dlc"),
    ):
        assert detect_format(path) == kind and is_labels_path(path)
        got = load_labels(path)
        _check_points(got, frames, ["male", "female"])
        assert [t.name for t in got.tracks] == ["male", "female"]
    edges = sorted(tuple(sorted(e)) for e in got.skeletons[0].edge_inds)
    assert edges == sorted(tuple(sorted(e)) for e in labels.skeletons[0].edge_inds)


def test_dlc_single_animal_csv(source, tmp_path):
    labels, frames = source
    root = tmp_path / "single"
    dlc_project(root, labels, frames, ["male"])
    got = load_labels(root / "labeled-data" / "clip" / "CollectedData_tester.csv")
    _check_points(got, frames, ["male"])


def test_coco_keypoints_json(source, tmp_path):
    labels, frames = source
    names = write_images(tmp_path / "images", frames)
    skeleton = labels.skeletons[0]
    nodes = skeleton.node_names
    images, annotations = [], []
    for k, ((_, lf), name) in enumerate(zip(frames, names, strict=True)):
        images.append({"id": k, "file_name": name, "width": 1024, "height": 1024})
        for animal, pts in sorted(by_track(lf).items()):
            kp = []
            for x, y in pts:
                kp += [0.0, 0.0, 0] if np.isnan(x) else [float(x), float(y), 2]
            annotations.append(
                {
                    "id": len(annotations),
                    "image_id": k,
                    "category_id": 1,
                    "keypoints": kp,
                    "num_keypoints": int(np.isfinite(pts[:, 0]).sum()),
                    "animal": animal,
                }
            )
    data = {
        "images": images,
        "annotations": annotations,
        "categories": [
            {
                "id": 1,
                "name": "fly",
                "keypoints": nodes,
                "skeleton": [[a + 1, b + 1] for a, b in skeleton.edge_inds],
            }
        ],
    }
    path = tmp_path / "flies.json"
    path.write_text(json.dumps(data))
    assert detect_format(path) == "coco"
    got = load_labels(path)
    assert len(got.labeled_frames) == N_FRAMES
    assert got.skeletons[0].node_names == nodes
    for lf_got, (_, lf) in zip(
        sorted(got.labeled_frames, key=lambda f: f.frame_idx), frames, strict=True
    ):
        want = sorted(
            (p for p in by_track(lf).values()), key=lambda p: float(np.nanmean(p))
        )
        have = sorted(
            (i.numpy() for i in lf_got.instances), key=lambda p: float(np.nanmean(p))
        )
        for a, b in zip(have, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_analysis_h5_round_trip(source, tmp_path):
    from napari_sleap.export.analysis_h5 import write_analysis_h5

    labels, _ = source
    path = tmp_path / "train.analysis.h5"
    write_analysis_h5(labels, path, video=0, labels_path="train.slp")
    assert detect_format(path) == "analysis_h5"
    got = load_labels(path)
    want = {
        (int(lf.frame_idx), i.track.name): i.numpy()
        for lf in labels
        for i in lf.user_instances
    }
    have = {
        (int(lf.frame_idx), i.track.name): i.numpy() for lf in got for i in lf.instances
    }
    assert set(have) == set(want)
    for key, pts in want.items():
        np.testing.assert_allclose(have[key], pts, rtol=1e-6)


def test_wrong_advice_is_gone_and_unknown_files_list_the_formats(tmp_path):
    notes = tmp_path / "notes.csv"
    notes.write_text("a,b\n1,2\n")
    with pytest.raises(ForeignLabelsError) as err:
        load_labels(notes)
    msg = str(err.value)
    assert "backup" not in msg and "DeepLabCut" in msg and "COCO" in msg
    broken = tmp_path / "bad.json"
    broken.write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    with pytest.raises(ForeignLabelsError, match="COCO keypoint JSON with no labeled"):
        load_labels(broken)
    import h5py

    dlc_h5 = tmp_path / "CollectedData_me.h5"
    with h5py.File(dlc_h5, "w") as f:
        f.create_group("df_with_missing")
    with pytest.raises(ForeignLabelsError, match="CollectedData_.*csv next to it"):
        load_labels(dlc_h5)
    truncated = tmp_path / "x.slp"
    truncated.write_bytes(b"not hdf5")
    with pytest.raises(LabelsFileError, match="restore it from a backup"):
        load_labels(truncated)  # a damaged .slp keeps the backup advice


def test_dlc_project_is_training_data(source, tmp_path):
    """`napari-sleap train` reads labels through load_training_labels."""
    from napari_sleap.train.prepare import check_labels, load_training_labels

    labels, frames = source
    root = tmp_path / "proj"
    dlc_project(root, labels, frames, ["male", "female"])
    got = load_training_labels(root)
    for role in ("centroid", "centered_instance", "centered_instance_id"):
        check_labels(got, role, str(root))
    assert got.skeletons[0].node_names == labels.skeletons[0].node_names
