"""The built wheel installs into a fresh environment and opens a .slp in napari.

What a napari user does: ``pip install`` the wheel (no constraints file, PyPI
only, no cache: nothing of this checkout's environment leaks in), add a Qt
binding, open labels with the plugin's reader in a headless viewer (Xvfb). The
install uses uv: the same install from PyPI took 49-108 s with uv and 270-283 s
with pip on the dev box (bench/bench_wheel_install.py, docs/benchmarks.md), so it
fits the CI budget without a cache kept between runs. Needs PyPI: skipped without
it, failed under CI.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sleap_io as sio

from tests.fixtures.shared_data import in_ci

pytestmark = pytest.mark.slow

#: Run in the fresh environment: open the .slp as File > Open would, report.
OPEN_IN_VIEWER = """
import json, sys
import napari
import numpy as np
viewer = napari.Viewer(show=False)
viewer.open(sys.argv[1], plugin="napari-sleap")
points = [la for la in viewer.layers if type(la).__name__ == "Points"][0]
live = np.asarray(points.features["instance"]) >= 0
pairs = {(int(f), int(i)) for f, i in zip(
    np.asarray(points.data)[live, 0], np.asarray(points.features["instance"])[live]
)}
print(json.dumps({
    "layers": [[type(la).__name__, la.name, list(np.shape(la.data))]
               for la in viewer.layers],
    "instances": len(pairs),
    "first_frame_mean": float(np.asarray(viewer.layers[0].data[0]).mean()),
    "tensorflow": "tensorflow" in sys.modules,
}))
viewer.close()
"""


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(found).exists():
        pytest.fail(
            "uv is missing: it comes with the test extras (pip install .[test])"
        )
    return found


def _run(cmd: list[str], timeout: int, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, check=False, **kw
    )
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_fresh_install_opens_slp_in_headless_viewer(
    tmp_path, sample_small, built_wheel
):
    if not _pypi_reachable():
        if in_ci():
            pytest.fail("CI=true and PyPI (pypi.org:443) is not reachable")
        pytest.skip("PyPI (pypi.org:443) is not reachable: the install needs it")
    wheel = built_wheel  # read only: the session builds it once (tests/fixtures)
    env_dir = tmp_path / "fresh"
    try:
        uv = _uv()
        base = getattr(sys, "_base_executable", sys.executable)
        _run([uv, "venv", "--quiet", "--python", base, str(env_dir)], 120)
        python = env_dir / "bin" / "python"
        start = time.perf_counter()
        # --no-config: no uv.toml or index settings of this machine; --no-cache: every
        # package comes from PyPI; no constraints: what a user's resolver picks.
        _run(
            [uv, "pip", "install", "--quiet", "--no-config", "--no-cache"]
            + ["--python", str(python), str(wheel), "PyQt6"],
            900,
        )
        print(f"fresh install from PyPI: {time.perf_counter() - start:.0f} s")

        shutil.copy(sample_small.video, tmp_path / "sample.mp4")
        slp = Path(shutil.copy(sample_small.train, tmp_path / "sample_train.slp"))
        script = tmp_path / "open_in_viewer.py"
        script.write_text(OPEN_IN_VIEWER)
        done = _run(
            ["xvfb-run", "-a", str(python), str(script), str(slp)], 300, cwd=tmp_path
        )
        report = json.loads(done.stdout.strip().splitlines()[-1])
        kinds = [kind for kind, _, _ in report["layers"]]
        assert kinds == ["Image", "Tracks", "Vectors", "Points"], report
        assert report["layers"][0][1:] == ["sample.mp4", [60, 192, 192]]
        labels = sio.load_slp(str(slp), open_videos=False)
        assert report["instances"] == sum(len(lf.instances) for lf in labels) > 0
        assert report["first_frame_mean"] > 0  # decoded pixels, not a blank layer
        assert report["tensorflow"] is False  # never in the viewer process
    finally:  # ~3 GB: not left for pytest's kept temporary folders
        shutil.rmtree(env_dir, ignore_errors=True)
