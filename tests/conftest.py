"""Shared test set-up: fixtures live in tests/fixtures and load as plugins.

Tests that open a napari viewer live in tests/gui and run in a pytest process of
their own (``pytest tests/gui``; see the Makefile): TensorFlow and napari's software
OpenGL crash when they share a process (STACK-NOTES), the same rule the plugin
follows in napari. Plain ``pytest`` runs everything else.
"""

from __future__ import annotations

from collections.abc import Iterator
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
    "tests.fixtures.wheel",
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


_SHARED_KEY = pytest.StashKey[dict]()


def shared_listing() -> dict[str, tuple[int, int]]:
    """Every file under ../shared/data with its size and modification time."""
    from tests.fixtures.shared_data import SHARED_DATA  # loaded as a plugin first

    if not SHARED_DATA.is_dir():
        return {}
    return {
        str(p.relative_to(SHARED_DATA)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(SHARED_DATA.rglob("*"))
        if p.is_file()
    }


def shared_changes(before: dict, after: dict) -> list[str]:
    """Files of ../shared/data added, changed or removed between two listings."""
    added = [f"added {n}" for n in after if n not in before]
    changed = [f"changed {n}" for n in after if n in before and after[n] != before[n]]
    removed = [f"removed {n}" for n in before if n not in after]
    return added + changed + removed


SHARED_RULE = (
    "tests must leave ../shared/data as it is: copy a shared file to tmp_path before "
    "opening it in the Labeling dock (it autosaves beside the opened .slp, and a later "
    "test then hangs on the 'Recover?' dialog) or writing next to it"
)


@pytest.fixture(autouse=True)
def _shared_data_untouched() -> Iterator[None]:
    """Fail the test after which a file of ../shared/data was added or changed."""
    before = shared_listing()
    yield
    changes = shared_changes(before, shared_listing())
    if changes:
        pytest.fail(
            f"../shared/data: {', '.join(changes)} during this test (or by another "
            f"process running meanwhile); {SHARED_RULE}",
            pytrace=False,
        )


def pytest_sessionstart(session: pytest.Session) -> None:
    """Record ../shared/data's listing to compare at the end of the session."""
    session.config.stash[_SHARED_KEY] = shared_listing()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the session if ../shared/data changed (session fixtures included)."""
    before = session.config.stash.get(_SHARED_KEY, None)
    if before is None:
        return
    changes = shared_changes(before, shared_listing())
    if changes:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = (
            f"../shared/data: {', '.join(changes)} during the session; {SHARED_RULE}"
        )
        if reporter is not None:
            reporter.write_sep("=", "shared data changed", red=True)
            reporter.write_line(message)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/gui as ``gui``."""
    for item in items:
        if _in_gui_dir(Path(item.fspath)):
            item.add_marker(pytest.mark.gui)


def pytest_report_header(config: pytest.Config) -> str:
    if _asks_for_gui(config):
        return "napari-sleap: viewer tests (tests/gui); TensorFlow must stay out"
    return "napari-sleap: tests/gui skipped here; run `pytest tests/gui` apart"
