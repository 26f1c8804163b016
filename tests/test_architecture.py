"""The core never imports the napari face, and light modules never import TensorFlow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "napari_sleap"
GUI = ("napari", "qtpy", "magicgui", "PyQt5", "PyQt6", "PySide2", "PySide6", "vispy")
TF = ("tensorflow", "keras")
CORE = [
    *("config", "io", "nn", "train", "infer", "track", "evaluate", "export", "cli"),
    *("jobs", "labeling", "distributed", "napari/layers"),
    *("progress.py", "sample.py", "demo/render.py"),
]
TF_FREE = [
    *("config", "io", "track", "evaluate", "export", "labeling"),
    *("napari/layers", "progress.py", "sample.py"),
    *("demo/render.py", "nn/model_info.py"),
]


def _modules(rel: str) -> list[Path]:
    path = PKG / rel
    if path.is_file():
        return [path]
    return sorted(path.rglob("*.py")) if path.exists() else []


def _top_level_imports(path: Path) -> set[str]:
    """Names imported at module level (not inside functions)."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body:
        nodes = [node]
        if isinstance(node, ast.If):  # TYPE_CHECKING blocks don't import at runtime
            continue
        if isinstance(node, ast.Try):
            nodes = node.body
        for n in nodes:
            if isinstance(n, ast.Import):
                names.update(a.name.split(".")[0] for a in n.names)
            elif isinstance(n, ast.ImportFrom) and n.module and n.level == 0:
                names.add(n.module.split(".")[0])
    return names


def _all_imports(path: Path) -> set[str]:
    """Every imported top-level name anywhere in the module."""
    names: set[str] = set()
    for n in ast.walk(ast.parse(path.read_text())):
        if isinstance(n, ast.Import):
            names.update(a.name.split(".")[0] for a in n.names)
        elif isinstance(n, ast.ImportFrom) and n.module and n.level == 0:
            names.add(n.module.split(".")[0])
    return names


@pytest.mark.parametrize("rel", CORE)
def test_core_never_imports_gui(rel: str) -> None:
    for path in _modules(rel):
        bad = _all_imports(path) & set(GUI)
        assert not bad, f"{path.relative_to(PKG)} imports {bad}"


@pytest.mark.parametrize("rel", TF_FREE)
def test_light_modules_never_import_tensorflow(rel: str) -> None:
    for path in _modules(rel):
        bad = _all_imports(path) & set(TF)
        assert not bad, f"{path.relative_to(PKG)} imports {bad}"


def test_tensorflow_only_imported_lazily_outside_nn() -> None:
    """Outside nn/ and train/, TensorFlow is imported inside functions only."""
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).parts
        if rel[0] in ("nn", "train", "infer"):
            continue
        bad = _top_level_imports(path) & set(TF)
        assert not bad, f"{path.relative_to(PKG)} imports {bad} at module level"


def test_core_package_import_loads_no_tensorflow_or_qt() -> None:
    """Importing the package and its CLI parser stays light (fast napari start)."""
    import subprocess
    import sys

    code = (
        "import sys, napari_sleap, napari_sleap.cli as c; c.build_parser();"
        "heavy=[m for m in ('tensorflow','keras','napari','qtpy') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"heavy modules loaded: {out.stdout}"
