"""labeling/ is core: no napari, Qt or TensorFlow imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "src" / "napari_sleap"
BANNED = {
    "napari",
    "qtpy",
    "magicgui",
    "PyQt5",
    "PyQt6",
    "vispy",
    "tensorflow",
    "keras",
}


@pytest.mark.parametrize("path", [*sorted((PKG / "labeling").glob("*.py"))])
def test_no_gui_or_tensorflow(path: Path) -> None:
    names = set()
    for n in ast.walk(ast.parse(path.read_text())):
        if isinstance(n, ast.Import):
            names.update(a.name.split(".")[0] for a in n.names)
        elif isinstance(n, ast.ImportFrom) and n.module:
            names.add(n.module.split(".")[0])
    assert not names & BANNED, f"{path.name} imports {names & BANNED}"
