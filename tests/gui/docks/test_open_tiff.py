"""TIFF stacks and image folders open through the plugin as videos, like a person.

File > Open with a multi-page TIFF: napari asks which reader to use (several
plugins read ``*.tif``); the user picks napari-sleap and clicks OK, and frames
step like a video's. A single-page TIFF is left to napari's own reader.
"""

from __future__ import annotations

import numpy as np
import tifffile
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import QApplication, QDialogButtonBox, QRadioButton

from napari_sleap.napari._reader import get_reader, read_video


def _frames(n: int, h: int = 48, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.integers(0, 255, (n, h, w), dtype=np.uint8)


def _pick_reader(qtbot, name: str, seen: list[str]) -> None:
    """Answer napari's "Choose reader" dialog: click ``name``, then OK."""
    dialog = next(
        (
            w
            for w in QApplication.topLevelWidgets()
            if w.objectName() == "Choose reader"
        ),
        None,
    )
    if dialog is None or not dialog.isVisible():
        QTimer.singleShot(50, lambda: _pick_reader(qtbot, name, seen))
        return
    buttons = {b.text(): b for b in dialog.findChildren(QRadioButton)}
    seen.extend(buttons)
    qtbot.mouseClick(buttons[name], Qt.MouseButton.LeftButton)
    ok = dialog.btn_box.button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)


def test_file_open_a_tiff_stack_as_a_video(
    make_napari_viewer, qtbot, tmp_path, monkeypatch
):
    frames = _frames(12)
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, frames)
    viewer = make_napari_viewer(show=True)
    qt_viewer = viewer.window._qt_viewer
    monkeypatch.setattr(
        type(qt_viewer), "_open_file_dialog_uni", lambda *a: [str(path)]
    )
    seen: list[str] = []
    QTimer.singleShot(50, lambda: _pick_reader(qtbot, "napari-sleap", seen))
    qt_viewer._open_files_dialog()  # what File > Open File(s)... runs
    assert "napari-sleap" in seen and len(seen) >= 2  # napari asked, we chose
    for w in QApplication.topLevelWidgets():  # napari leaves its dialog behind
        if w.objectName() == "Choose reader":
            w.setParent(None)
            w.deleteLater()
    qtbot.wait(10)
    (layer,) = viewer.layers
    assert type(layer).__name__ == "Image" and layer.data.shape == (12, 48, 64)
    for step in (0, 7, 11, 3):
        viewer.dims.set_current_step(0, step)
        np.testing.assert_array_equal(np.asarray(layer.data[step]), frames[step])
    assert viewer.dims.nsteps[0] == 12


def test_single_page_tiff_is_left_to_napari(make_napari_viewer, tmp_path):
    path = tmp_path / "one.tif"
    tifffile.imwrite(path, _frames(1)[0])
    assert get_reader(str(path)) is None
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(path), plugin="napari")
    assert layer.data.shape == (48, 64)


def test_rgb_stack_and_image_folder_open_as_videos(make_napari_viewer, tmp_path):
    import cv2

    rgb = np.stack([_frames(5)] * 3, axis=-1)
    rgb[..., 0] //= 2  # a real color stack
    tifffile.imwrite(tmp_path / "rgb.tiff", rgb, photometric="rgb")
    assert get_reader(str(tmp_path / "rgb.tiff")) is read_video
    folder = tmp_path / "frames"
    folder.mkdir()
    gray = _frames(6)
    for i, frame in enumerate(gray):
        cv2.imwrite(str(folder / f"img_{i:03d}.png"), frame)
    viewer = make_napari_viewer()
    (stack,) = viewer.open(str(tmp_path / "rgb.tiff"), plugin="napari-sleap")
    assert stack.rgb and stack.data.shape == (5, 48, 64, 3)
    np.testing.assert_array_equal(np.asarray(stack.data[4]), rgb[4])
    (seq,) = viewer.open(str(folder), plugin="napari-sleap")
    assert seq.data.shape == (6, 48, 64)
    np.testing.assert_array_equal(np.asarray(seq.data[5]), gray[5])
