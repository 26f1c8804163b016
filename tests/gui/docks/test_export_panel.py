"""The Export dock used like a person: pick a format and a file, click Export.

The open labels are exported with an unsaved edit (a dragged node) and the files
are read back: SLEAP analysis HDF5 with h5py, CSV with the csv module, NWB with
sleap-io. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import csv

import h5py
import numpy as np
import pytest
import sleap_io as sio
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFileDialog, QPushButton

from napari_sleap.napari.docks.export import CHOICES, ExportPanel
from tests.gui.person import drag_point, shoot

PLUGIN = "napari-sleap"


def _format(panel: ExportPanel, key: str) -> None:
    panel.format_combo.setCurrentText(next(k for k, v in CHOICES.items() if v == key))


def _export(qtbot, panel: ExportPanel, monkeypatch, path) -> str:
    """Choose ``path`` in the file chooser, click Export, wait for the message."""
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), ""))
    )
    browse = panel.out_edit.parentWidget().findChild(QPushButton, "browse")
    qtbot.mouseClick(browse, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.export_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    return panel.status.text()


@pytest.mark.parametrize("order", ["dock first", "labels first"])
def test_export_the_open_labels_in_every_format(
    make_napari_viewer, qtbot, sample_small, tmp_path, monkeypatch, order
):
    viewer = make_napari_viewer(show=True)
    panel = ExportPanel(viewer)
    if order == "dock first":
        viewer.window.add_dock_widget(panel, name="Export")
    viewer.open(str(sample_small.gt), plugin=PLUGIN)
    if order == "labels first":
        viewer.window.add_dock_widget(panel, name="Export")
    points = next(la for la in viewer.layers if type(la).__name__ == "Points")
    assert panel.layer() is points
    # the default output sits beside the labels
    _format(panel, "csv")
    assert panel.out_edit.text() == str(sample_small.gt.with_name("sample_gt.csv"))
    # an unsaved edit: node 0 of the first instance on frame 0 moves by (+5, -3)
    row = int(np.flatnonzero(points.data[:, 0] == 0)[0])
    before = points.data[row].copy()
    drag_point(points, row, (-3.0, 5.0))  # (y, x)
    truth = sio.load_slp(str(sample_small.gt))
    lf0 = truth.labeled_frames[0]
    n_nodes = len(truth.skeletons[0].nodes)

    text = _export(qtbot, panel, monkeypatch, tmp_path / "poses")
    out = tmp_path / "poses.csv"
    assert text.startswith("Done: wrote poses.csv (") and str(tmp_path) in text
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == sum(len(lf.instances) for lf in truth) * n_nodes
    first = next(
        r for r in rows if r["frame_idx"] == "0" and r["track"] == lf0[0].track.name
    )
    assert float(first["x"]) == pytest.approx(before[2] + 5.0)
    assert float(first["y"]) == pytest.approx(before[1] - 3.0)

    _format(panel, "analysis-h5")
    # the chosen file keeps its name and takes the new format's ending
    assert panel.out_edit.text() == str(tmp_path / "poses.analysis.h5")
    text = _export(qtbot, panel, monkeypatch, tmp_path / "poses")
    out = tmp_path / "poses.analysis.h5"
    assert text.startswith("Done: wrote poses.analysis.h5 (1 file, 2 tracks)")
    with h5py.File(out) as f:
        tracks = f["tracks"][:]  # (track, xy, node, frame)
        names = [n.decode() for n in f["track_names"][:]]
        nodes = [n.decode() for n in f["node_names"][:]]
    assert tracks.shape == (2, 2, n_nodes, 60)
    assert nodes == list(truth.skeletons[0].node_names)
    k = names.index(lf0[0].track.name)
    assert tracks[k, 0, 0, 0] == pytest.approx(before[2] + 5.0)
    inst = lf0[1]
    np.testing.assert_allclose(
        tracks[names.index(inst.track.name), :, :, 0].T, inst.numpy(), atol=1e-4
    )

    _format(panel, "nwb")
    text = _export(qtbot, panel, monkeypatch, tmp_path / "poses")
    assert text.startswith("Done: wrote ") and ".nwb" in text
    if order == "dock first":
        shoot(panel, "export_panel.png")
    # one pose file per animal, read back as movement and ndx-pose read them
    assert sorted(panel.written) == sorted(
        str(tmp_path / f"poses.{t.name}.nwb") for t in truth.tracks
    )
    from pynwb import NWBHDF5IO

    node0 = truth.skeletons[0].node_names[0]
    with NWBHDF5IO(str(tmp_path / f"poses.{lf0[0].track.name}.nwb"), "r") as io:
        pose = io.read().processing["behavior"]["PoseEstimation"]
        first = np.asarray(pose.pose_estimation_series[node0].data)
    assert first.shape == (60, 2)
    np.testing.assert_allclose(first[0], [before[2] + 5.0, before[1] - 3.0])


def test_export_without_labels_says_what_to_do(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    panel = ExportPanel(viewer)
    qtbot.mouseClick(panel.export_btn, Qt.MouseButton.LeftButton)
    assert "open a .slp" in panel.status.text()
    assert not panel.written
