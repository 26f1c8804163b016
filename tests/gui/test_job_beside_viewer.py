"""A TensorFlow job runs in its own process while a shown viewer keeps drawing."""

from __future__ import annotations

from napari_sleap.jobs import start_job


def test_tensorflow_job_beside_a_shown_viewer(make_napari_viewer, qtbot):
    """The reason for the runner: a viewer draws while TensorFlow runs elsewhere."""
    import numpy as np

    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.random.default_rng(0).integers(0, 255, (4, 64, 64), np.uint8))
    handle = start_job(
        "napari_sleap.jobs.selftest:tensorflow_probe",
        {"size": 16},
        env={"TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    frames_drawn = 0

    def poll_and_draw() -> bool:
        # What a QTimer in a widget does: read events, keep the viewer moving.
        nonlocal frames_drawn
        handle.poll()
        viewer.dims.set_current_step(0, frames_drawn % 4)
        frames_drawn += 1
        return handle.done

    qtbot.waitUntil(poll_and_draw, timeout=120_000)
    assert handle.status == "done", handle.error
    assert handle.result["sum"] == 16.0**3
    shot = viewer.screenshot(canvas_only=True, flash=False)
    assert shot[..., :3].max() > 0 and frames_drawn > 1


def test_a_job_started_from_a_dock_yields_the_cpu_to_the_viewer(qtbot):
    """The docks' job view starts jobs niced: frame steps come first on a busy CPU."""
    import os

    import pytest

    from napari_sleap.jobs import BACKGROUND_NICE
    from napari_sleap.napari.docks.job_view import JobView

    if not hasattr(os, "nice"):
        pytest.skip("POSIX niceness only")
    view = JobView()
    qtbot.addWidget(view)
    ended = []
    handle = view.start(
        "napari_sleap.jobs.selftest:niceness", {}, on_end=ended.append, what="probe"
    )
    qtbot.waitUntil(lambda: bool(ended), timeout=60_000)
    assert handle.status == "done", handle.error
    assert handle.result == min(19, os.nice(0) + BACKGROUND_NICE)
