"""The predict panel's batch mode on a real viewer, with real jobs and models.

Two short real videos (two names for the recording SLEAP 1.x's models were
trained on) and one broken file go through the panel's batch mode in a job
process; this process never imports TensorFlow.
"""

from __future__ import annotations

import sys

import pytest
from qtpy.QtCore import Qt

from napari_sleap.napari.docks.predict import MODES, PredictPanel
from napari_sleap.napari.layers.convert import META_KEY

pytestmark = pytest.mark.shared_data

MODELS = ("minimal_instance.UNet.centroid", "minimal_instance.UNet.centered_instance")
VIDEO = "centered_pair_low_quality.mp4"


@pytest.fixture
def batch_folder(sleap1_models_dir, tmp_path):
    """``a.mp4`` and ``b.mp4`` (the real video) and ``notes.mp4`` (a text file)."""
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        (folder / name).symlink_to(sleap1_models_dir / VIDEO)
    (folder / "notes.mp4").write_text("not a video\n")
    (folder / "readme.txt").write_text("ignored: not a video name\n")
    return folder


def _batch_panel(viewer, sleap1_models_dir) -> PredictPanel:
    panel = PredictPanel(viewer)
    viewer.window.add_dock_widget(panel, name="Predict")
    panel.set_models([str(sleap1_models_dir / m) for m in MODELS])
    panel.mode_combo.setCurrentText(MODES[1])
    return panel


def test_batch_mode_predicts_every_video_and_reports_the_broken_one(
    make_napari_viewer, qtbot, sleap1_models_dir, batch_folder, tmp_path
):
    viewer = make_napari_viewer()
    panel = _batch_panel(viewer, sleap1_models_dir)
    assert panel.single_box.isHidden() and not panel.batch.isHidden()
    assert panel.predict_btn.text() == "Predict all videos"
    panel.batch.add_folder(batch_folder)
    assert [p.split("/")[-1] for p in panel.batch.videos] == [
        "a.mp4",
        "b.mp4",
        "notes.mp4",
    ]
    panel.batch.frames_edit.setText("0-3")
    panel.batch.out_edit.setText(str(tmp_path / "out"))
    panel.tracker_combo.setCurrentText("simple")
    snapshots: list[list[dict]] = []
    show = panel.batch.show_rows

    def watch(rows):
        snapshots.append([dict(r) for r in rows])
        show(rows)

    panel.batch.show_rows = watch
    qtbot.mouseClick(panel.predict_btn, Qt.MouseButton.LeftButton)
    assert panel.job.running
    qtbot.waitUntil(lambda: not panel.job.running, timeout=180_000)
    handle = panel.job.handle
    assert handle.status == "done", handle.error + handle.traceback
    r = panel.batch_result
    out = tmp_path / "out"
    assert r["written"] == [
        str(out / "a.predictions.slp"),
        str(out / "b.predictions.slp"),
    ]
    assert all((out / f"{v}.predictions.slp").exists() for v in "ab")
    assert list(r["failed"]) == [str(batch_folder / "notes.mp4")]
    # Progress per video: a snapshot with the first video done while the second
    # was still waiting or running.
    assert any(
        [row["state"] for row in rows[:2]] in (["done", "queued"], ["done", "running"])
        for rows in snapshots
    ), snapshots
    table = panel.batch.table
    assert table.rowCount() == 3
    states = [table.item(i, 2).text() for i in range(3)]
    assert states == ["done", "done", "failed"]
    assert table.item(0, 1).text() == "4/4"
    assert table.item(1, 3).text() == "b.predictions.slp"
    assert "cannot open" in table.item(2, 0).toolTip()
    text = panel.summary.text()
    assert "2 written, 0 already done, 1 failed; 8 frames" in text
    assert "a.predictions.slp" in text and "failed: cannot open" in text
    assert panel.batch.outputs() == r["written"]
    # Double-clicking a finished video opens its predictions in the viewer.
    layers = panel.open_batch_output(1)
    points = [la for la in layers if la.metadata[META_KEY].get("role") == "instances"]
    assert points and points[0].metadata[META_KEY]["source"] == r["written"][1]
    assert len(points[0].data) > 0
    with pytest.raises(ValueError, match="no predictions"):
        panel.open_batch_output(2)
    assert "tensorflow" not in sys.modules
    # Back to one input: the single-video fields are back.
    panel.mode_combo.setCurrentText(MODES[0])
    assert not panel.single_box.isHidden() and panel.batch.isHidden()
    assert panel.predict_btn.text() == "Predict"


def test_batch_inputs_are_checked_before_a_job_starts(
    make_napari_viewer, sleap1_models_dir, tmp_path
):
    panel = _batch_panel(make_napari_viewer(), sleap1_models_dir)
    panel.job.guard(panel.predict)
    assert "no videos" in panel.job.status.text()
    assert panel.job.handle is None
    with pytest.raises(ValueError, match="no video files"):
        panel.batch.add_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        panel.batch.add_videos([str(tmp_path / "missing.mp4")])


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 1], ids=["in-job", "local-cluster"])
def test_stop_ends_a_batch_and_keeps_finished_parts(
    make_napari_viewer, qtbot, sleap1_models_dir, batch_folder, tmp_path, workers
):
    """Stop works in the job process and on a LocalCluster the job started."""
    panel = _batch_panel(make_napari_viewer(), sleap1_models_dir)
    panel.batch.workers_spin.setValue(workers)
    panel.batch.add_videos([str(batch_folder / "a.mp4"), str(batch_folder / "b.mp4")])
    panel.batch.frames_edit.setText("0-299")
    panel.batch.out_edit.setText(str(tmp_path / "out"))
    panel.tracker_combo.setCurrentText("none")
    handle = panel.predict()
    qtbot.waitUntil(
        lambda: any(r["frames_done"] > 0 for r in panel.batch.rows), timeout=120_000
    )
    panel.job.stop()
    qtbot.waitUntil(lambda: not panel.job.running, timeout=60_000)
    assert handle.status == "stopped", handle.error
    # A LocalCluster's dashboard link is shown while it runs.
    assert panel.batch.dashboard.isHidden() == (workers == 0)
    if workers:
        assert "http" in panel.batch.dashboard.text()
    assert "Predict again resumes" in panel.summary.text()
    assert not list((tmp_path / "out").glob("*.slp"))
    assert (tmp_path / "out" / "a.predictions.slp.parts").is_dir()
    qtbot.waitUntil(lambda: not handle.is_alive(), timeout=20_000)
    assert handle.exitcode == 0  # it ended by itself, not terminated
