"""The whole loop in a real napari window, driven like a user, with screenshots.

Run headless with ``xvfb-run -a .venv/bin/python scripts/walkthrough.py``. On the
synthetic two-animal sample it opens the labels, trains a small top-down model
from the Train dock, predicts and tracks from the Predict dock (streaming into
the viewer), walks the likely swaps in the Proofread dock (one swap, undone),
and scores the predictions in the Evaluate dock. Each dock is photographed to
``docs/images/{train,predict,proofread,evaluate}_panel.png``; the numbers go to
``out/walkthrough/summary.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

#: A small model that still finds the animals after about two minutes on 2 cores.
SMALL = {
    "model": {"backbone": {"unet": {"filters": 16, "filters_rate": 1.5}}},
    "data": {"max_input_size": 192},
    "optim": {"steps_per_epoch": 30, "batch_size": 4, "learning_rate": 1e-3},
}


def _wait(panel, timeout: float) -> str:
    """Let Qt run until the panel's job ends; returns the job status."""
    from qtpy.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while panel.job.running and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.05)
    handle = panel.job.handle
    if handle.status != "done":
        raise RuntimeError(f"{handle.target} {handle.status}: {handle.error}")
    return handle.status


def _settle(seconds: float = 0.5) -> None:
    from qtpy.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def _show_only(docks: dict, name: str) -> None:
    for key, dock in docks.items():
        dock.setVisible(key == name)
    _settle()


def _shot(viewer, path: Path) -> None:
    _settle(0.8)
    viewer.screenshot(str(path), canvas_only=False)
    print(f"  screenshot {path.relative_to(ROOT)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the walkthrough; returns the exit code."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "walkthrough")
    ap.add_argument("--images", type=Path, default=ROOT / "docs" / "images")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--frames", default="0-199", help="frames to predict")
    args = ap.parse_args(argv)

    import napari

    from napari_sleap.napari.docks.evaluate import EvaluatePanel
    from napari_sleap.napari.docks.predict import PredictPanel
    from napari_sleap.napari.docks.proofread import ProofreadPanel
    from napari_sleap.napari.docks.train import TrainPanel
    from napari_sleap.napari.layers.convert import META_KEY
    from napari_sleap.sample import ensure_sample

    args.out.mkdir(parents=True, exist_ok=True)
    args.images.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    summary: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S")}
    sample = ensure_sample(args.out / "sample")
    print(f"sample: {sample.folder}", flush=True)

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1600, 1000)
    viewer.open(str(sample.train), plugin="napari-sleap")
    panels = {
        "train": TrainPanel(viewer),
        "predict": PredictPanel(viewer),
        "proofread": ProofreadPanel(viewer),
        "evaluate": EvaluatePanel(viewer),
    }
    for p in panels.values():
        p.setMinimumWidth(420)
    docks = {
        name: viewer.window.add_dock_widget(p, name=name.capitalize(), area="right")
        for name, p in panels.items()
    }

    # 1. Train: top-down with a few settings, a smaller network in the YAML.
    _show_only(docks, "train")
    train = panels["train"]
    train.pipeline_combo.setCurrentText("top-down")
    train.epochs_spin.setValue(args.epochs)
    full = yaml.safe_load(train.advanced.toPlainText())
    for cfg in full.values():
        unet = cfg["model"]["backbone"]["unet"]
        unet.update(SMALL["model"]["backbone"]["unet"])
        cfg["data"].update(SMALL["data"])
        cfg["optim"].update(SMALL["optim"])
    train.advanced_btn.setChecked(True)
    train.advanced.setPlainText(yaml.safe_dump(full, sort_keys=False))
    train.out_edit.setText(str(args.out / "models"))
    train.restart_check.setChecked(True)
    t = time.monotonic()
    train.train()
    _wait(train, 1200)
    train.advanced_btn.setChecked(False)
    summary["train_s"] = time.monotonic() - t
    summary["models"] = train.model_dirs
    print(f"trained in {summary['train_s']:.0f} s: {train.model_dirs}", flush=True)
    _shot(viewer, args.images / "train_panel.png")

    # 2. Predict and track: the models arrived in the predict dock by themselves.
    _show_only(docks, "predict")
    predict = panels["predict"]
    predict.source_edit.setText(str(sample.video))
    predict.frames_combo.setCurrentText("range")
    predict.range_edit.setText(args.frames)
    predict.threshold_spin.setValue(0.1)
    predict.output_edit.setText(str(args.out / "predictions.slp"))
    before = list(viewer.layers)
    t = time.monotonic()
    predict.predict()
    _wait(predict, 900)
    summary["predict_s"] = time.monotonic() - t
    summary["predict"] = predict.result
    print(f"predicted: {predict.summary.text()}", flush=True)
    viewer.dims.set_current_step(0, 40)
    for layer in before:  # the training labels' layers would crowd the picture
        role = (layer.metadata.get(META_KEY) or {}).get("role")
        if role in ("instances", "edges", "tracks"):
            layer.visible = False
    _shot(viewer, args.images / "predict_panel.png")

    # 3. Proofread: rank likely swaps, jump to the first, swap and undo.
    _show_only(docks, "proofread")
    proof = panels["proofread"]
    proof.refresh()
    events = proof.find_swaps()
    summary["likely_swaps"] = len(events)
    if events:
        proof.next_swap(1)
        before = proof.stack.can_undo
        try:
            proof.swap_from_here()
            proof.undo()
        except ValueError as err:
            print(f"  swap skipped: {err}", flush=True)
        summary["swap_undone"] = proof.stack.can_redo and not before
    _shot(viewer, args.images / "proofread_panel.png")

    # 4. Evaluate against the sample's exact ground truth.
    _show_only(docks, "evaluate")
    ev = panels["evaluate"]
    ev.gt_edit.setText(str(sample.gt))
    ev.pred_edit.setText(str(args.out / "predictions.slp"))
    ev.evaluate()
    _wait(ev, 600)
    summary["evaluate"] = {
        k: ev.result[k] for k in ("oks_map", "mota", "idf1", "id_switches")
    }
    print(f"evaluated: {ev.headline.text()}", flush=True)
    _shot(viewer, args.images / "evaluate_panel.png")

    summary["total_s"] = time.monotonic() - t0
    summary["loadavg"] = list(os.getloadavg())
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    print(json.dumps(summary, indent=1, default=str))
    viewer.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
