"""The import rules hold, and importing the package stays light.

The rules themselves (layers, forbidden imports, no cycles) are import-linter
contracts in pyproject.toml, drawn in docs/architecture.md; ``make lint`` runs
them, and so does this test, so plain ``pytest`` cannot pass with them broken.
The runtime checks below catch what a static graph cannot: what an import
really loads.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "napari_sleap"
#: Packages whose modules may import TensorFlow at module level.
MODEL_PACKAGES = ("nn", "train", "infer")


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_contracts_catch_lazy_imports_and_cycles(tmp_path: Path) -> None:
    """The contracts are not vacuous: planted breaks in a copy are each reported."""
    import shutil

    copy = tmp_path / "src" / "napari_sleap"
    shutil.copytree(PKG, copy, ignore=shutil.ignore_patterns("__pycache__"))
    plants = {  # each inside a function: lazy imports count too
        "track/poses.py": "from napari_sleap.nn import model",
        "io/video_base.py": "import napari",
        "evaluate/oks.py": "import tensorflow",
        "napari/layers/flat.py": "from napari_sleap.napari.layers import convert",
    }
    for rel, line in plants.items():
        with open(copy / rel, "a") as f:
            f.write(f"\n\ndef _planted():\n    {line}\n")
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(copy.parent)}
    done = subprocess.run(
        [str(lint), "--no-cache"], capture_output=True, text=True, cwd=ROOT, env=env
    )
    out = done.stdout
    assert done.returncode != 0, out[-3000:]
    assert "napari_sleap.track is not allowed to import napari_sleap.nn" in out
    assert "napari_sleap.io.video_base -> napari" in out
    assert "napari_sleap.evaluate.oks -> tensorflow" in out
    assert "No cycles are allowed in napari_sleap.napari.layers" in out


def test_core_package_import_loads_no_tensorflow_or_qt() -> None:
    """Importing the package and its CLI parser stays light (fast napari start)."""
    code = (
        "import sys, napari_sleap, napari_sleap.cli as c; c.build_parser();"
        "heavy=[m for m in ('tensorflow','keras','napari','qtpy') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    assert _run(code) == "", "heavy modules loaded"


def test_tensorflow_loads_only_with_model_code() -> None:
    """Every module outside nn/, train/ and infer/ imports without TensorFlow.

    A module-level TensorFlow import anywhere else (or one reached through a
    module-level import of model code) would load it in the viewer's process.
    """
    names = []
    for path in sorted(PKG.rglob("*.py")):
        parts = path.relative_to(PKG.parent).with_suffix("").parts
        if parts[1] in MODEL_PACKAGES or parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    assert len(names) > 50, names
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "    tf = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
        "    if tf:\n"
        "        print(name, tf)\n"
        "        break\n"
    )
    assert _run(code) == "", "importing this module loaded TensorFlow"
