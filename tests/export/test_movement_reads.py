"""movement itself reads what we write: .slp, analysis HDF5 and per-animal NWB.

movement is too heavy for the test environment (xarray, numba, cartopy, netCDF4,
and a napari plugin of its own that would join the viewer tests), so it is
installed by uv into a throwaway environment, as a scientist's separate analysis
environment would be, and each file is loaded there with movement's defaults.
The arrays it returns must equal the poses we wrote: per track, the user
instance of a frame or else its best prediction (the export rule). Needs PyPI:
skipped without it, failed under CI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from napari_sleap.export._common import representatives, select_frames
from napari_sleap.export.analysis_h5 import write_analysis_h5
from napari_sleap.export.nwb import write_nwb
from napari_sleap.io.labels import load_labels
from tests.fixtures.shared_data import in_ci
from tests.test_wheel_install import _pypi_reachable, _uv

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]

MOVEMENT = "movement==0.15.0"

#: Run in movement's environment: load each file, save position arrays as .npy.
LOAD_WITH_MOVEMENT = """
import json, sys
import numpy as np
from movement.io import load_poses
out = {}
for name, path, software in json.loads(sys.argv[1]):
    ds = load_poses.from_file(path, source_software=software)
    pos = ds.position.transpose("time", "individuals", "keypoints", "space").values
    np.save(sys.argv[2] + "/" + name + ".npy", pos)
    out[name] = {
        "individuals": [str(i) for i in ds.individuals.values],
        "keypoints": [str(k) for k in ds.keypoints.values],
        "fps": None if ds.attrs.get("fps") is None else float(ds.attrs["fps"]),
    }
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def movement_python(tmp_path_factory) -> Path:
    """A fresh environment with movement from PyPI; removed at the end."""
    if not _pypi_reachable():
        if in_ci():
            pytest.fail("CI=true and PyPI (pypi.org:443) is not reachable")
        pytest.skip("PyPI (pypi.org:443) is not reachable: movement comes from it")
    env_dir = tmp_path_factory.mktemp("movement_env")
    uv = _uv()
    base = getattr(sys, "_base_executable", sys.executable)
    for cmd in (
        [uv, "venv", "--quiet", "--python", base, str(env_dir)],
        [uv, "pip", "install", "--quiet", "--no-config"]
        + ["--python", str(env_dir / "bin" / "python"), MOVEMENT],
    ):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{cmd}\n{done.stderr[-3000:]}"
    yield env_dir / "bin" / "python"
    shutil.rmtree(env_dir, ignore_errors=True)


def load_with_movement(python: Path, files: list[tuple[str, Path, str]], out: Path):
    """``{name: (positions (T, individuals, keypoints, 2), info)}`` from movement."""
    script = out / "load_with_movement.py"
    script.write_text(LOAD_WITH_MOVEMENT)
    arg = json.dumps([[n, str(p), s] for n, p, s in files])
    done = subprocess.run(
        [str(python), str(script), arg, str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    info = json.loads(done.stdout.strip().splitlines()[-1])
    return {n: (np.load(out / f"{n}.npy"), info[n]) for n, _, _ in files}


def expected_tracks(labels: sio.Labels) -> dict[int, dict[int, np.ndarray]]:
    """``{track slot: {frame: (nodes, 2)}}`` by the export's representative rule."""
    out: dict[int, dict[int, np.ndarray]] = {}
    for lf in labels:
        chosen, _ = representatives(lf, list(labels.tracks))
        for slot, inst in chosen.items():
            out.setdefault(slot, {})[int(lf.frame_idx)] = inst.numpy()
    return out


def assert_same_poses(pos: np.ndarray, want: dict[int, np.ndarray], slot: int):
    """movement's track ``slot`` equals ``want`` where we wrote it, NaN elsewhere."""
    assert want, "nothing to compare"
    for frame in range(pos.shape[0]):
        got = pos[frame, slot]
        if frame in want:
            np.testing.assert_allclose(got, want[frame], rtol=0, atol=1e-4)
        else:
            assert np.isnan(got).all(), f"frame {frame} has poses we never wrote"


@pytest.fixture(scope="module")
def proofread(clip_all_slp, tmp_path_factory) -> tuple[sio.Labels, Path]:
    """Frames 0..199 of the proofread clip (two named tracks), saved as .slp."""
    labels = select_frames(load_labels(clip_all_slp), range(200))
    path = tmp_path_factory.mktemp("proofread") / "clip_0-199.slp"
    sio.save_slp(labels, str(path))
    return sio.load_slp(str(path), open_videos=False), path


def test_movement_reads_tracked_files(movement_python, proofread, tmp_path):
    labels, slp = proofread
    h5 = tmp_path / "clip_0-199.analysis.h5"
    write_analysis_h5(labels, h5, labels_path=slp)
    nwb_files = write_nwb(labels, tmp_path / "clip_0-199.nwb", flavour="predictions")
    files = [("slp", slp, "SLEAP"), ("h5", h5, "SLEAP")]
    files += [(f"nwb{i}", p, "NWB") for i, p in enumerate(nwb_files)]
    got = load_with_movement(movement_python, files, tmp_path)
    want = expected_tracks(labels)
    names = [t.name for t in labels.tracks]
    nodes = labels.skeletons[0].node_names
    assert sorted(names) == ["female", "male"]
    for key in ("slp", "h5"):
        pos, info = got[key]
        assert info["individuals"] == names and info["keypoints"] == nodes, key
        for slot in range(len(names)):
            assert_same_poses(pos[:200], want[slot], slot)
    assert len(nwb_files) == 2  # one file per animal, movement's NWB layout
    for i, path in enumerate(nwb_files):
        pos, info = got[f"nwb{i}"]
        # pynwb hands the pose series back sorted by name: match keypoints by name.
        assert sorted(info["keypoints"]) == sorted(nodes)
        assert len(info["individuals"]) == 1
        order = [info["keypoints"].index(n) for n in nodes]
        slot = names.index(info["individuals"][0])
        assert path.name == f"clip_0-199.{names[slot]}.nwb"
        assert info["fps"] == pytest.approx(labels.videos[0].fps)  # real timestamps
        assert_same_poses(pos[:200, :, order], want[slot], 0)


def test_movement_reads_untracked_predictions(
    movement_python, sleap1_models_dir, tmp_path
):
    """Untracked predictions, one animal per frame (the best-scored one).

    SLEAP's layout has one untracked slot per frame, and movement reads a .slp
    through it: several untracked animals in a frame come back as one, so the
    guide says to track first (docs/interop.md). One animal per frame is exact.
    """
    name = "minimal_instance.UNet.centroid.labels_pr.val.slp"
    pred = load_labels(sleap1_models_dir / name)
    assert not pred.tracks
    for lf in pred:
        lf.instances = sorted(lf.predicted_instances, key=lambda i: -float(i.score))[:1]
    slp = tmp_path / "untracked.slp"
    sio.save_slp(pred, str(slp))
    got = load_with_movement(movement_python, [("slp", slp, "SLEAP")], tmp_path)
    pos, info = got["slp"]
    assert info["keypoints"] == pred.skeletons[0].node_names
    assert pos.shape[1] == 1
    want = {int(lf.frame_idx): lf.instances[0].numpy() for lf in pred}
    assert_same_poses(pos, want, 0)
