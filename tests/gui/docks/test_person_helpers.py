"""The error-notification fixture (tests/gui/conftest.py) sees a red popup."""

from __future__ import annotations

from qtpy.QtCore import Qt


def test_fixture_records_an_error_raised_from_a_key_press(
    make_napari_viewer,
    qtbot,
    napari_errors,
) -> None:
    import numpy as np

    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.zeros((5, 8, 8), np.uint8))

    def broken(event) -> None:
        raise IndexError("index 9 is out of bounds for axis 0 with size 9")

    viewer.dims.events.current_step.connect(broken)
    canvas = viewer.window._qt_viewer.canvas.native
    qtbot.keyClick(canvas, Qt.Key.Key_Right)  # next frame: the callback raises
    qtbot.wait(20)
    viewer.dims.events.current_step.disconnect(broken)
    errors = [n for n in napari_errors if "out of bounds" in str(n.message)]
    assert len(errors) == 1
    napari_errors.clear()  # seen: the fixture's own check passes
