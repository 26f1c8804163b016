"""The built wheel carries what an install from it needs: manifest, profiles, licence.

Builds the wheel with pip from a copy of the checkout's package files (so no
stale ``build/`` folder can add modules that are gone; build isolation fetches
setuptools>=77 from the configured index) and reads it as a zip; nothing is
installed. tests/test_wheel_install.py installs it into a fresh environment and
opens a ``.slp`` in a headless viewer.
"""

from __future__ import annotations

import configparser
import email
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def build_wheel(folder: Path) -> Path:
    """Build the wheel into ``folder`` (made) from a copy of the package files."""
    tree = folder / "checkout"
    tree.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, tree / name)
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "src", tree / "src", ignore=skip)
    out = folder / "dist"
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), "."]
    done = subprocess.run(
        cmd, cwd=tree, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (path,) = out.glob("napari_sleap-*.whl")
    return path


@pytest.fixture(scope="module")
def wheel(built_wheel) -> zipfile.ZipFile:
    with zipfile.ZipFile(built_wheel) as z:
        yield z


def _dist_info(z: zipfile.ZipFile) -> str:
    (name,) = {n.split("/")[0] for n in z.namelist() if ".dist-info/" in n}
    return name


def test_manifest_entry_point_and_its_commands(wheel):
    info = _dist_info(wheel)
    points = configparser.ConfigParser()
    points.read_string(wheel.read(f"{info}/entry_points.txt").decode())
    assert dict(points["napari.manifest"]) == {
        "napari-sleap": "napari_sleap.napari:napari.yaml"
    }
    assert points["console_scripts"]["napari-sleap"] == "napari_sleap.cli:main"

    names = set(wheel.namelist())
    manifest = yaml.safe_load(wheel.read("napari_sleap/napari/napari.yaml"))
    assert manifest["name"] == "napari-sleap"
    assert set(manifest["categories"]) <= {
        "Acquisition",
        "Annotation",
        "Dataset",
        "Image Processing",
        "IO",
        "Measurement",
        "Registration",
        "Segmentation",
        "Simulation",
        "Themes",
        "Transformations",
        "Utilities",
        "Visualization",
    }
    # Every command the manifest names is a module inside the wheel.
    for command in manifest["contributions"]["commands"]:
        module = command["python_name"].split(":")[0]
        file = module.replace(".", "/")
        assert f"{file}.py" in names or f"{file}/__init__.py" in names, command


def test_training_profiles_are_in_the_wheel(wheel):
    profiles = sorted(
        n for n in wheel.namelist() if n.startswith("napari_sleap/config/profiles/")
    )
    repo = sorted(
        f"napari_sleap/config/profiles/{p.name}"
        for p in (ROOT / "src/napari_sleap/config/profiles").glob("*.yaml")
    )
    assert repo and profiles == repo


def test_license_and_metadata(wheel):
    info = _dist_info(wheel)
    licence = wheel.read(f"{info}/licenses/LICENSE").decode()
    assert licence == (ROOT / "LICENSE").read_text()
    assert licence.startswith("BSD 3-Clause License")
    meta = email.message_from_bytes(wheel.read(f"{info}/METADATA"))
    assert meta["License-Expression"] == "BSD-3-Clause"
    assert meta["License-File"] == "LICENSE"
    assert meta["Author"] == "napari-sleap developers"
    assert "Framework :: napari" in meta.get_all("Classifier")
    assert "napari" in meta.get_payload()  # the README is the long description
