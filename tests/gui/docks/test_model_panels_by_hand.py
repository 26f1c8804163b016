"""Train and Predict used like a person: clicks, file choosers, Stop mid-training.

A real tiny top-down training runs in a job process from the Train dock and is
stopped by a click on Stop while its second model trains: both models must be
usable best checkpoints, said so on the result line, offered to Predict, and a
prediction with them must run. This process never imports TensorFlow.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFileDialog, QLineEdit, QPushButton

from napari_sleap.napari.docks.predict import PredictPanel
from napari_sleap.napari.docks.train import TrainPanel
from tests.gui.person import shoot

PLUGIN = "napari-sleap"
LEFT = Qt.MouseButton.LeftButton


def click(qtbot, button: QPushButton) -> None:
    """A real left click on a visible, enabled button."""
    assert button.isVisible() and button.isEnabled(), button.text()
    qtbot.mouseClick(button, LEFT)


def browse_button(edit: QLineEdit) -> QPushButton:
    """The "..." file-chooser button beside a path field."""
    return edit.parentWidget().findChild(QPushButton, "browse")


def choose(monkeypatch, method: str, path: str) -> None:
    """Answer the next file dialogs of kind ``method`` with ``path``."""
    if method == "getExistingDirectory":
        answer = staticmethod(lambda *a, **k: path)
    else:
        answer = staticmethod(lambda *a, **k: (path, ""))
    monkeypatch.setattr(QFileDialog, method, answer)


def tiny_yaml(panel: TrainPanel, epochs: dict[str, int]) -> None:
    """Shrink every model in the Advanced YAML, as a user would type it."""
    full = yaml.safe_load(panel.advanced.toPlainText())
    for role, cfg in full.items():
        cfg["model"]["backbone"]["unet"].update(filters=8, filters_rate=1.5)
        cfg["data"]["max_input_size"] = 128
        cfg["optim"].update(
            epochs=epochs[role], steps_per_epoch=10, batch_size=2, learning_rate=1e-3
        )
    panel.advanced_btn.setChecked(True)
    panel.advanced.setPlainText(yaml.safe_dump(full, sort_keys=False))


def docks(viewer):
    train, predict = TrainPanel(viewer), PredictPanel(viewer)
    viewer.window.add_dock_widget(train, name="Train")
    viewer.window.add_dock_widget(predict, name="Predict", tabify=True)
    return train, predict


def to_front(widget) -> None:
    """Pick the tab of the dock holding ``widget``, as a person clicks it."""
    from qtpy.QtWidgets import QApplication, QDockWidget

    dock = widget.parentWidget()
    while not isinstance(dock, QDockWidget):
        dock = dock.parentWidget()
    dock.raise_()
    QApplication.processEvents()


@pytest.mark.slow
@pytest.mark.parametrize("order", ["docks first", "labels first"])
def test_stop_keeps_both_models_usable_and_offers_them(
    make_napari_viewer, qtbot, sample_small, tmp_path, monkeypatch, order
):
    viewer = make_napari_viewer(show=True)
    if order == "docks first":
        train, predict = docks(viewer)
        viewer.open(str(sample_small.train), plugin=PLUGIN)
    else:
        viewer.open(str(sample_small.train), plugin=PLUGIN)
        train, predict = docks(viewer)
    # the open labels are the default of both panels
    assert train.labels_edit.text() == str(sample_small.train)
    assert predict.source_edit.text() == str(sample_small.train)
    if order == "labels first":
        return  # the training below runs once (and once in the next test)
    to_front(train)
    tiny_yaml(train, {"centroid": 1, "centered_instance": 300})
    choose(monkeypatch, "getExistingDirectory", str(tmp_path / "models"))
    click(qtbot, browse_button(train.out_edit))
    assert train.out_edit.text() == str(tmp_path / "models")
    click(qtbot, train.train_btn)
    plot = train.job.plot
    # the loss curve moves within an epoch, and the progress line follows
    qtbot.waitUntil(
        lambda: len(plot.series.get("centered_instance/loss", [])) >= 3,
        timeout=240_000,
    )
    ci = plot.series["centered_instance/loss"]
    assert ci[0][0] < 1.0  # a point before the first epoch ended
    assert len(plot.series["centroid/loss"]) >= 2
    line = train.job.progress_line.text()
    assert line.startswith("centered_instance (2/2): step ") and "loss" in line
    if train.job.running:
        click(qtbot, train.job.stop_btn)
    qtbot.waitUntil(lambda: not train.job.running, timeout=150_000)
    assert train.job.handle.status == "stopped", train.job.handle.error
    result = train.result_label.text()
    assert "centroid: usable, finished" in result
    assert "centered_instance: usable, stopped, best so far" in result
    assert "offered to Predict" in result
    dirs = [str(tmp_path / "models" / r) for r in ("centroid", "centered_instance")]
    for d in dirs:
        assert (Path(d) / "best.keras").exists() and (
            Path(d) / "model_info.json"
        ).exists()
    assert predict.model_dirs == dirs
    line = train.job.progress_line.text()
    assert line.startswith("centered_instance (2/2): step ")
    assert line.endswith("(last report; stopped)")
    to_front(train)
    click(qtbot, train.advanced_btn)  # fold the YAML away, as after editing it
    assert not train.advanced.isVisible()
    to_front(train)
    shoot(train, "train_panel.png")
    # the stopped models predict: one frame, from the open labels
    to_front(predict)
    predict.frames_combo.setCurrentText("current")
    predict.tracker_combo.setCurrentText("none")
    choose(monkeypatch, "getSaveFileName", str(tmp_path / "pred"))
    click(qtbot, browse_button(predict.output_edit))
    assert predict.output_edit.text() == str(tmp_path / "pred.slp")
    click(qtbot, predict.predict_btn)
    qtbot.waitUntil(lambda: not predict.job.running, timeout=120_000)
    assert predict.job.handle.status == "done", predict.job.handle.error
    assert (tmp_path / "pred.slp").exists()
    summary = predict.summary.text()  # a model of a few steps may find nobody
    assert "instances in 1 frames" in summary or "No animal found" in summary
    assert "tensorflow" not in sys.modules


@pytest.mark.slow
def test_a_stop_that_had_to_kill_the_job_still_says_what_is_usable(
    make_napari_viewer, qtbot, sample_small, tmp_path
):
    """Stop ends the job by force after its grace: the panel reads the folders."""
    viewer = make_napari_viewer(show=True)
    viewer.open(str(sample_small.train), plugin=PLUGIN)
    train, predict = docks(viewer)
    train.job.stop_grace_s = 0.2  # a machine too slow to finish the step in time
    to_front(train)
    tiny_yaml(train, {"centroid": 300, "centered_instance": 2})
    train.out_edit.setText(str(tmp_path / "models"))
    click(qtbot, train.train_btn)
    # stop once the first model has a checkpoint (its first epoch ended)
    qtbot.waitUntil(
        lambda: len(train.job.plot.series.get("centroid/val_loss", [])) >= 1,
        timeout=240_000,
    )
    click(qtbot, train.job.stop_btn)
    qtbot.waitUntil(lambda: not train.job.running, timeout=60_000)
    assert train.job.handle.status in ("killed", "stopped")
    result = train.result_label.text()
    assert "centroid: usable, stopped, best so far (best epoch" in result
    assert "centered_instance: not started (Train again trains it)" in result
    assert "Predict needs every model of the pipeline" in result
    assert predict.model_dirs == []  # a centroid alone predicts nothing


def _model(folder: Path, role: str) -> Path:
    """A model folder as training leaves it (only what the panel reads)."""
    folder.mkdir(parents=True)
    (folder / "model_info.json").write_text(f'{{"role": "{role}"}}')
    return folder


def test_add_folder_adds_a_model_or_a_confirmed_pipeline_never_a_parent(
    make_napari_viewer, qtbot, sample_small, tmp_path, monkeypatch
):
    viewer = make_napari_viewer(show=True)
    viewer.open(str(sample_small.video), plugin=PLUGIN)
    _, predict = docks(viewer)
    to_front(predict)
    # a bare video is the default input
    assert predict.source_edit.text() == str(sample_small.video)
    run = tmp_path / "top-down-1"
    centroid = _model(run / "centroid", "centroid")
    ci = _model(run / "centered_instance", "centered_instance")
    _model(tmp_path / "other" / "bottom_up", "bottom_up")
    # a parent of unrelated models: refused, nothing added, the error is shown
    choose(monkeypatch, "getExistingDirectory", str(tmp_path))
    click(qtbot, predict.add_btn)
    assert predict.model_dirs == []
    assert "not a model folder" in predict.job.status.text() or "no model here" in (
        predict.job.status.text()
    )
    assert predict.job.has_error
    # a pipeline's folder: its models are listed and added once confirmed
    choose(monkeypatch, "getExistingDirectory", str(run))
    click(qtbot, predict.add_btn)
    assert not predict.job.has_error  # the old error is gone
    assert "top-down pipeline: centered_instance, centroid" in (
        predict.confirm_label.text()
    )
    assert predict.model_dirs == []
    click(qtbot, predict.confirm_yes)
    assert predict.model_dirs == [str(ci), str(centroid)]
    assert predict.job.status.text().startswith("added centered_instance, centroid")
    assert not predict.confirm_box.isVisible()
    # one model folder is added at once and said so
    click(qtbot, predict.clear_btn)
    choose(monkeypatch, "getExistingDirectory", str(centroid))
    click(qtbot, predict.add_btn)
    assert predict.model_dirs == [str(centroid)]
    assert predict.job.status.text() == "added centroid (centroid)"
    # Cancel adds nothing
    click(qtbot, predict.clear_btn)
    choose(monkeypatch, "getExistingDirectory", str(run))
    click(qtbot, predict.add_btn)
    click(qtbot, predict.confirm_no)
    assert predict.model_dirs == []
    # Input has a file chooser too
    choose(monkeypatch, "getOpenFileName", str(sample_small.train))
    click(qtbot, browse_button(predict.source_edit))
    assert predict.source_edit.text() == str(sample_small.train)
