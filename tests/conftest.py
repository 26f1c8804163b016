"""Shared test set-up: fixtures live in tests/fixtures and load as plugins.

Tests that open a napari viewer are marked ``gui`` and run in a pytest process of
their own (see the Makefile): TensorFlow and napari's software OpenGL crash when
they share a process (STACK-NOTES), the same rule the plugin follows in napari.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.shared_data",
    "tests.fixtures.training",
    "tests.fixtures.degrade",
    "tests.fixtures.video",
    "tests.fixtures.sample",
    "tests.fixtures.broken_videos",
    "tests.fixtures.trained_sample",
]

GUI_FIXTURES = {"make_napari_viewer", "make_napari_viewer_proxy", "qtbot", "qapp"}
GUI_SOURCE = re.compile(
    r"napari\.Viewer|^\s*import napari\b(?!_)|^\s*from napari(\.| import)"
    r"|make_napari_viewer|qtbot|mark\.gui",
    re.M,
)


@cache
def _module_opens_viewer(path: Path) -> bool:
    return bool(GUI_SOURCE.search(path.read_text()))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """In the ``-m gui`` run, skip importing test modules without GUI tests.

    Collecting a module imports it, and some import TensorFlow at the top: that
    alone makes the first viewer draw crash (STACK-NOTES).
    """
    if config.getoption("markexpr", "") != "gui":
        return None
    if collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        return not _module_opens_viewer(collection_path)
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses Qt or a napari viewer as ``gui``."""
    for item in items:
        uses_gui = bool(GUI_FIXTURES & set(getattr(item, "fixturenames", ())))
        if uses_gui or _module_opens_viewer(Path(item.fspath)):
            item.add_marker(pytest.mark.gui)
