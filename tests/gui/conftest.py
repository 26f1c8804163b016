"""Viewer tests: napari and Qt in this process, TensorFlow never; no error popups."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

HEAVY = ("tensorflow", "keras")
ALLOW_ERRORS = "allow_napari_errors"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{ALLOW_ERRORS}(reason): the test may leave napari error notifications "
        "(name the bug in the reason); every other viewer test fails on one",
    )


@pytest.fixture(autouse=True)
def _no_tensorflow_beside_the_viewer():
    """Fail at once where TensorFlow got into the viewer's process (it crashes here)."""
    loaded = [m for m in HEAVY if m in sys.modules]
    if loaded:
        pytest.fail(
            f"{', '.join(loaded)} is loaded in the viewer test process; a test module "
            "or fixture imported it. Move that import into a job "
            "(napari_sleap.jobs.start_job) or the test out of tests/gui."
        )
    yield


@pytest.fixture(autouse=True)
def napari_errors(request: pytest.FixtureRequest) -> Iterator[list[Any]]:
    """Every notification napari shows during the test; any error fails it.

    Exceptions are routed the way napari's application routes them (into its
    notification manager, where a user sees a red popup). A test that expects an
    error reads it from the yielded list and removes it; a test carrying the
    ``allow_napari_errors`` marker is not failed.
    """
    from napari.utils.notifications import NotificationSeverity, notification_manager

    seen: list[Any] = []
    notification_manager.notification_ready.connect(seen.append)
    notification_manager.install_hooks()
    try:
        yield seen
    finally:
        notification_manager.restore_hooks()
        notification_manager.notification_ready.disconnect(seen.append)
    errors = [
        str(n.message)
        for n in seen
        if getattr(n, "severity", None) is not None
        and n.severity >= NotificationSeverity.ERROR
    ]
    if errors and request.node.get_closest_marker(ALLOW_ERRORS) is None:
        pytest.fail(f"napari showed error notifications: {errors}", pytrace=False)
