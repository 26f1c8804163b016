"""The Labeling dock's Suggestions box: make frame suggestions, list them, jump.

Image-feature suggestions read hundreds of frames, so they run in a worker thread
with a progress bar and Stop (a second press of Suggest); the other methods are
instant. Suggestions are an undoable edit (:class:`SetSuggestions`) of the labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
)

from napari_sleap.labeling import SetSuggestions
from napari_sleap.labeling import suggestions as sg
from napari_sleap.labeling.frame_features import FEATURES
from napari_sleap.napari.docks.buttons import button

if TYPE_CHECKING:
    from napari_sleap.napari.docks.labeling import LabelingWidget


class SuggestionsBox(QGroupBox):
    """Method, count, Suggest button and the list of suggested frames.

    Args:
        dock: The Labeling dock whose labels, layer sync and frame it uses.
    """

    def __init__(self, dock: LabelingWidget) -> None:
        super().__init__("Suggestions")
        self.dock = dock
        self.worker: Any = None
        self._stop: Any = None
        grid = QGridLayout(self)
        self.method_combo = QComboBox()
        self.method_combo.addItems(list(sg.METHODS))
        self.count_spin = QSpinBox()
        self.count_spin.setRange(1, 10000)
        self.count_spin.setValue(20)
        grid.addWidget(self.method_combo, 0, 0)
        grid.addWidget(self.count_spin, 0, 1)
        grid.addWidget(button("Suggest", "Make frame suggestions", self.suggest), 0, 2)
        # image_features only: what each frame is described by (HOG by default)
        self.feature_label = QLabel("described by")
        self.feature_combo = QComboBox()
        self.feature_combo.addItems(list(FEATURES))
        self.feature_combo.setToolTip(
            "hog: edge directions (postures); raw: pixels; orb: keypoint patterns"
        )
        grid.addWidget(self.feature_label, 1, 0)
        grid.addWidget(self.feature_combo, 1, 1, 1, 2)
        self.method_combo.currentTextChanged.connect(self._show_feature)
        self._show_feature(self.method_combo.currentText())
        self.sugg_list = QListWidget()
        self.sugg_list.setMaximumHeight(140)
        self.sugg_list.itemClicked.connect(self._on_clicked)
        grid.addWidget(self.sugg_list, 2, 0, 1, 3)

    def _show_feature(self, method: str) -> None:
        for w in (self.feature_label, self.feature_combo):
            w.setVisible(method == "image_features")

    def suggest(
        self, method: str | None = None, k: int | None = None, *, wait: bool = True
    ) -> list[int] | None:
        """Make suggestions for this video and list them.

        With ``wait`` an image-feature run returns once its frames are in.
        Returns the frames (None while a worker still runs).
        """
        self.dock._require()
        method = method or self.method_combo.currentText()
        k = k or self.count_spin.value()
        if method != "image_features":
            n = int(self.dock.viewer.dims.range[0].stop) + 1
            return self._apply(sg.suggest(method, n, k), method)
        if self.worker is not None:  # second press: stop it
            self._stop.set()
            return None
        feature = self.feature_combo.currentText()
        return self._in_thread(self._image_frames(), k, wait, feature)

    def _apply(self, picks: list[int], method: str) -> list[int]:
        sync = self.dock._require()
        sync.push(
            SetSuggestions(
                self.dock.labels, video=sync.video, frames=picks, method=method
            )
        )
        self.fill()
        self.dock.status.setText(f"{len(picks)} {method.replace('_', ' ')} suggestions")
        return picks

    def _in_thread(
        self, frames: Any, k: int, wait: bool, feature: str
    ) -> list[int] | None:
        from napari_sleap.napari.docks.background import start_job, wait_until

        out: dict[str, Any] = {}

        def returned(picks: list[int]) -> None:
            out["picks"] = self._apply(picks, "image_features")

        def errored(err: Exception) -> None:
            self.dock.status.setText(f"suggestions stopped: {err}")

        def finished() -> None:
            self.worker = None

        worker, self._stop = start_job(
            self.dock,
            lambda progress, stop: sg.image_features(
                frames, k, feature=feature, progress=progress, stop=stop
            ),
            desc="Suggesting frames",
            on_result=returned,
            on_error=errored,
            on_finished=finished,
        )
        self.worker = worker
        self.dock.status.setText(
            "Reading frames for suggestions (press Suggest to stop)"
        )
        if wait:
            wait_until(lambda: self.worker is not worker)
            return out.get("picks")
        return None

    def _image_frames(self) -> Any:
        for layer in self.dock.viewer.layers:
            if type(layer).__name__ == "Image":
                return _Frames(layer.data)
        raise ValueError("image-feature suggestions need the video's Image layer")

    def fill(self) -> None:
        """List the suggestions of the dock's video (none without labels)."""
        self.sugg_list.clear()
        sync = self.dock.sync
        if sync is None:
            return
        for s in self.dock.labels.suggestions:
            if s.video is sync.video:
                item = QListWidgetItem(f"frame {s.frame_idx}")
                item.setData(Qt.ItemDataRole.UserRole, int(s.frame_idx))
                self.sugg_list.addItem(item)

    def _on_clicked(self, item: QListWidgetItem) -> None:
        self.dock.set_frame(int(item.data(Qt.ItemDataRole.UserRole)))


class _Frames:
    """Frame access for suggestions over an Image layer's (lazy) array."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def __getitem__(self, index: int) -> np.ndarray:
        return np.asarray(self.data[index])
