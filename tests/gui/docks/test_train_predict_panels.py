"""Train, predict and evaluate panels on a real viewer, with real jobs.

One tiny top-down training runs in a spawned process from the train panel; its
models go to the predict panel, whose predictions stream into the viewer and are
then scored by the evaluate panel. This process never imports TensorFlow.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from qtpy.QtCore import Qt

from napari_sleap.napari.docks.evaluate import EvaluatePanel
from napari_sleap.napari.docks.predict import LIVE_ROLE, PredictPanel
from napari_sleap.napari.docks.train import TrainPanel
from napari_sleap.napari.layers.convert import META_KEY
from tests.gui.person import shoot

#: Small enough to train in about half a minute, enough to find some animals.
TINY = {
    "model": {"backbone": {"unet": {"filters": 8, "filters_rate": 1.5}}},
    "data": {"max_input_size": 128},
    "optim": {
        "epochs": 3,
        "steps_per_epoch": 20,
        "batch_size": 2,
        "learning_rate": 1e-3,
    },
}


def _tiny_yaml(panel: TrainPanel, optim: dict | None = None) -> None:
    """Edit the advanced YAML as a user would: shrink every model."""
    full = yaml.safe_load(panel.advanced.toPlainText())
    for cfg in full.values():
        cfg["model"]["backbone"] = {
            "unet": {
                **cfg["model"]["backbone"]["unet"],
                **TINY["model"]["backbone"]["unet"],
            }
        }
        cfg["data"].update(TINY["data"])
        cfg["optim"].update({**TINY["optim"], **(optim or {})})
    panel.advanced_btn.setChecked(True)
    panel.advanced.setPlainText(yaml.safe_dump(full, sort_keys=False))


def _raise_dock(widget):
    """Bring the tab of the dock holding ``widget`` to the front; returns the dock."""
    from qtpy.QtWidgets import QDockWidget

    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    if parent is not None:
        parent.raise_()
    return parent


def _roles(viewer, role: str) -> list:
    return [
        la for la in viewer.layers if la.metadata.get(META_KEY, {}).get("role") == role
    ]


@pytest.mark.slow
def test_train_predict_evaluate_loop(make_napari_viewer, qtbot, sample_small, tmp_path):
    viewer = make_napari_viewer(show=True)
    viewer.open(str(sample_small.train), plugin="napari-sleap")
    train = TrainPanel(viewer)
    predict = PredictPanel(viewer)
    evaluate = EvaluatePanel(viewer)
    for name, w in (("Train", train), ("Predict", predict), ("Evaluate", evaluate)):
        viewer.window.add_dock_widget(w, name=name, tabify=name != "Train")
    assert train.labels_edit.text() == str(sample_small.train)
    train.pipeline_combo.setCurrentText("top-down")
    _tiny_yaml(train)
    train.out_edit.setText(str(tmp_path / "models"))
    qtbot.mouseClick(train.train_btn, Qt.MouseButton.LeftButton)
    assert train.job.running
    qtbot.waitUntil(lambda: not train.job.running, timeout=240_000)
    handle = train.job.handle
    assert handle.status == "done", handle.error + handle.traceback
    assert handle.progress[0] == handle.progress[1] > 0
    assert train.job.bar.value() == train.job.bar.maximum()
    series = train.job.plot.series
    assert {"centroid/loss", "centroid/val_loss", "centered_instance/loss"} <= set(
        series
    )
    # running-loss points every few steps, up to the end of the third epoch
    ci = series["centered_instance/loss"]
    assert len(ci) >= 3 and ci[-1][0] == 3.0
    assert len(series["centered_instance/val_loss"]) == 3
    for role in ("centroid", "centered_instance"):
        assert (tmp_path / "models" / role / "best.keras").exists()
    # the finished models are offered to the predict panel
    assert predict.model_dirs == train.model_dirs and len(predict.model_dirs) == 2
    assert "tensorflow" not in sys.modules

    predict.source_edit.setText(str(sample_small.video))
    predict.frames_combo.setCurrentText("range")
    predict.range_edit.setText("0-19")
    predict.threshold_spin.setValue(0.05)
    predict.output_edit.setText(str(tmp_path / "pred.slp"))
    live_rows: list[int] = []
    add_batch = predict.add_batch

    def watch(batch):
        add_batch(batch)
        layer = predict.live_points
        live_rows.append(0 if layer is None else len(layer.data))

    predict.add_batch = watch
    qtbot.mouseClick(predict.predict_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not predict.job.running, timeout=120_000)
    assert predict.job.handle.status == "done", predict.job.handle.error
    r = predict.result
    assert r["instances"] > 0 and r["frames"] > 0 and 0 < r["mean_score"] <= 1
    assert "instances in" in predict.summary.text()
    # batches streamed in while the job ran, growing the live layer
    assert live_rows and live_rows[-1] > 0 and live_rows == sorted(live_rows)
    assert not _roles(viewer, LIVE_ROLE)  # replaced by the saved result
    shoot(_raise_dock(predict), "predict_panel.png")
    points = _roles(viewer, "instances")[-1]
    assert points.metadata[META_KEY]["source"] == str(tmp_path / "pred.slp")
    frames = np.unique(points.data[:, 0])
    assert frames.min() >= 0 and frames.max() <= 19
    assert _roles(viewer, "tracks"), "tracked predictions give a Tracks layer"

    evaluate.gt_edit.setText(str(sample_small.gt))
    assert evaluate.pred_edit.text() == str(tmp_path / "pred.slp")
    qtbot.mouseClick(evaluate.eval_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not evaluate.job.running, timeout=60_000)
    assert evaluate.job.handle.status == "done", evaluate.job.handle.error
    res = evaluate.result
    assert Path(res["report_path"]).exists() and Path(res["plot_path"]).exists()
    assert "OKS mAP" in evaluate.headline.text() and "MOTA" in evaluate.headline.text()
    assert not evaluate.plot.pixmap().isNull()


@pytest.mark.slow
def test_stop_ends_a_training_cleanly(
    make_napari_viewer, qtbot, sample_small, tmp_path
):
    viewer = make_napari_viewer()
    train = TrainPanel(viewer)
    train.labels_edit.setText(str(sample_small.train))
    train.pipeline_combo.setCurrentText("bottom-up")
    _tiny_yaml(train, {"epochs": 500})
    train.out_edit.setText(str(tmp_path / "models"))
    handle = train.train()
    # stop once the first epoch's losses are drawn
    qtbot.waitUntil(lambda: bool(train.job.plot.series), timeout=120_000)
    stop = next(
        b for b in train.findChildren(type(train.train_btn)) if b.text() == "Stop"
    )
    qtbot.mouseClick(stop, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not train.job.running, timeout=30_000)
    assert handle.status == "stopped"
    # training stopped at a batch boundary and recorded it (Train again resumes)
    from napari_sleap.train.fit import training_status

    assert training_status(tmp_path / "models" / "bottom_up") == "stopped"
    qtbot.waitUntil(lambda: not handle.is_alive(), timeout=20_000)
    assert "stopped" in train.job.status.text()
    assert "resumes" in train.result_label.text()
    assert handle.progress[0] < handle.progress[1]


def test_bad_inputs_are_reported_not_raised(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    train = TrainPanel(viewer)
    train.labels_edit.setText(str(tmp_path / "missing.slp"))
    train.job.guard(train.train)
    assert "not found" in train.job.status.text()
    train.labels_edit.setText(__file__)
    train.advanced_btn.setChecked(True)
    train.advanced.setPlainText("centroid: [oops")
    train.job.guard(train.train)
    assert "advanced YAML" in train.job.status.text()
    predict = PredictPanel(viewer)
    predict.job.guard(predict.predict)
    assert "no model" in predict.job.status.text()
    with pytest.raises(ValueError, match="no model here"):
        predict.add_folder(str(tmp_path))


def test_key_settings_reach_every_model_config(make_napari_viewer):
    from napari_sleap.config.training import pipeline_configs

    train = TrainPanel(make_napari_viewer())
    train.pipeline_combo.setCurrentText("top-down")
    train.backbone_combo.setCurrentText("leap")
    train.scale_spin.setValue(0.5)
    train.sigma_spin.setValue(3.5)
    train.crop_spin.setValue(160)
    train.epochs_spin.setValue(7)
    train.aug_check.setChecked(False)
    configs = pipeline_configs("top-down", train.overrides())
    for role, cfg in configs.items():
        assert cfg.model.backbone.choice == "leap"
        assert cfg.data.input_scale == 0.5 and cfg.optim.epochs == 7
        assert cfg.model.heads.confmaps.sigma == 3.5
        assert not cfg.augment.rotation and cfg.augment.flip_probability == 0
        assert cfg.data.crop_size == (160 if role == "centered_instance" else None)
    # the advanced view shows the same, and editing it wins over the fields
    full = yaml.safe_load(train.advanced.toPlainText())
    assert full["centered_instance"]["data"]["crop_size"] == 160
    full["centroid"]["optim"]["epochs"] = 3
    train.advanced.setPlainText(yaml.safe_dump(full))
    assert pipeline_configs("top-down", train.overrides())["centroid"].optim.epochs == 3
