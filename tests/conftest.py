"""Shared test set-up: fixtures live in tests/fixtures and load as plugins.

Tests that open a napari viewer live in tests/gui and run in a pytest process of
their own (``pytest tests/gui``; see the Makefile): TensorFlow and napari's software
OpenGL crash when they share a process (STACK-NOTES), the same rule the plugin
follows in napari. Plain ``pytest`` runs everything else.
"""

from __future__ import annotations

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

GUI_DIR = Path(__file__).resolve().parent / "gui"


def _in_gui_dir(path: Path) -> bool:
    return path.resolve().is_relative_to(GUI_DIR)


def _asks_for_gui(config: pytest.Config) -> bool:
    """True when the command line names tests under tests/gui (and only those)."""
    paths = [Path(str(a).split("::")[0]) for a in config.args]
    gui = [p for p in paths if _in_gui_dir(p)]
    if gui and len(gui) != len(paths):
        raise pytest.UsageError(
            "tests/gui opens napari viewers and the other tests load TensorFlow; they "
            "crash in one process (STACK-NOTES). Run them apart: `pytest tests` and "
            "`pytest tests/gui` (as `make test` does)."
        )
    return bool(gui)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Keep the viewer tests (tests/gui) and the rest in separate processes."""
    if _in_gui_dir(collection_path) and not _asks_for_gui(config):
        return True
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/gui as ``gui``."""
    for item in items:
        if _in_gui_dir(Path(item.fspath)):
            item.add_marker(pytest.mark.gui)


def pytest_report_header(config: pytest.Config) -> str:
    if _asks_for_gui(config):
        return "napari-sleap: viewer tests (tests/gui); TensorFlow must stay out"
    return "napari-sleap: tests/gui skipped here; run `pytest tests/gui` apart"
