"""The Suggestions box offers SLEAP's image features: chosen with the keyboard, the
picks are the core's for that feature, listed, and saved as the file's suggestions.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import sleap_io as sio
from qtpy.QtCore import Qt

from napari_sleap.io.video import open_video
from napari_sleap.labeling import suggestions as sg
from tests.gui.person import click_button, open_in_order


class _Frames:
    def __init__(self, reader) -> None:
        self.reader = reader

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.reader.read(int(i))


@pytest.mark.parametrize("dock_first", [True, False], ids=["dock-first", "slp-first"])
def test_image_feature_suggestions_from_the_box(
    make_napari_viewer, qtbot, sample_small, tmp_path, dock_first
):
    shutil.copy(sample_small.video, tmp_path / "sample.mp4")
    slp = shutil.copy(sample_small.train, tmp_path / "train.slp")
    viewer = make_napari_viewer(show=True)
    labeling = open_in_order(viewer, slp, dock_first)["Labeling"]
    box = labeling.suggestions
    assert not box.feature_combo.isVisibleTo(box)  # uniform first: no feature to choose
    box.method_combo.setFocus()
    qtbot.keyClick(box.method_combo, Qt.Key.Key_End)  # image_features (the last)
    box.feature_combo.setFocus()
    qtbot.keyClick(box.feature_combo, Qt.Key.Key_Down)  # hog -> raw
    assert box.method_combo.currentText() == "image_features"
    assert (
        box.feature_combo.isVisibleTo(box) and box.feature_combo.currentText() == "raw"
    )
    box.count_spin.setFocus()
    box.count_spin.selectAll()
    qtbot.keyClicks(box.count_spin, "4")
    click_button(qtbot, box, "Suggest")
    qtbot.waitUntil(
        lambda: box.worker is None and box.sugg_list.count() > 0, timeout=60_000
    )

    with open_video(tmp_path / "sample.mp4") as reader:
        want = sg.image_features(_Frames(reader), 4, feature="raw")
    shown = [box.sugg_list.item(i).text() for i in range(box.sugg_list.count())]
    assert shown == [f"frame {f}" for f in want]
    click_button(qtbot, labeling, "Save")
    saved = sio.load_slp(str(slp), open_videos=False)
    assert [s.frame_idx for s in saved.suggestions] == want
