"""Viewer tests: napari and Qt in this process, TensorFlow never."""

from __future__ import annotations

import sys

import pytest

HEAVY = ("tensorflow", "keras")


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
