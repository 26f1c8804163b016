"""The skeleton dock in a real viewer: edit nodes, edges and pairs; labels follow."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QPushButton

from napari_sleap.io.labels import load_labels
from napari_sleap.labeling.skeleton_io import load_skeleton
from napari_sleap.napari.docks.labeling import LabelingWidget
from napari_sleap.napari.docks.skeleton import SkeletonWidget
from napari_sleap.sample import make_sample
from tests.gui.person import labels_of, open_labels


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return make_sample(tmp_path_factory.mktemp("ssample"), n_frames=30, size=128)


def _click(qtbot, widget, text: str) -> None:
    button = next(b for b in widget.findChildren(QPushButton) if b.text() == text)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _select_node(qtbot, widget: SkeletonWidget, name: str) -> None:
    lst = widget.node_list
    item = lst.findItems(name, Qt.MatchFlag.MatchExactly)[0]
    qtbot.mouseClick(
        lst.viewport(), Qt.MouseButton.LeftButton, pos=lst.visualItemRect(item).center()
    )
    assert lst.currentItem().text() == name


def test_edit_project_skeleton_keeps_labels(
    make_napari_viewer, qtbot, sample, tmp_path
) -> None:
    viewer = make_napari_viewer()
    points, edges = open_labels(viewer, sample.train)
    labeling = LabelingWidget(viewer)
    widget = SkeletonWidget(viewer)
    labels = labels_of(points)
    inst = labels.labeled_frames[0].instances[0]
    nose = inst.numpy()[0].copy()
    n_inst = sum(len(lf.instances) for lf in labels.labeled_frames)
    assert widget.node_list.count() == 10

    # rename: points stay, the layer's node names follow
    _select_node(qtbot, widget, "nose")
    widget.name_edit.setText("snout")
    _click(qtbot, widget, "Rename")
    assert labels.skeletons[0].node_names[0] == "snout"
    assert np.allclose(inst.numpy()[0], nose)
    assert "snout" in set(points.features["node"]) and "nose" not in set(
        points.features["node"]
    )

    # add a node: every instance gets an unlabeled (hidden) point
    widget.name_edit.setText("tail_mid")
    _click(qtbot, widget, "Add")
    assert len(points.data) == n_inst * 11
    new_rows = np.asarray(points.features["node"]) == "tail_mid"
    assert new_rows.sum() == n_inst
    # not visible (hidden nodes may still be drawn dimmed, to be clickable)
    assert not np.asarray(points.features["visible"])[new_rows].any()

    # delete a labeled node: declined keeps it, confirmed drops it
    asked = []
    widget.confirm = lambda title, text: asked.append(text) or False
    _select_node(qtbot, widget, "ear_left")
    _click(qtbot, widget, "Delete")
    assert asked and "ear_left" in labels.skeletons[0].node_names
    widget.confirm = lambda title, text: True
    _click(qtbot, widget, "Delete")
    assert "ear_left" not in labels.skeletons[0].node_names
    assert len(points.data) == n_inst * 10
    assert np.allclose(inst.numpy()[0], nose)

    # an edge and a symmetric pair through the combo boxes
    n_edges = len(edges.data)
    widget.src_combo.setCurrentText("snout")
    widget.dst_combo.setCurrentText("tail_mid")
    _click(qtbot, widget, "Add edge")
    assert ("snout", "tail_mid") in labels.skeletons[0].edge_names
    widget.src_combo.setCurrentText("forepaw_left")
    widget.dst_combo.setCurrentText("forepaw_right")
    _click(qtbot, widget, "Remove pair")
    _click(qtbot, widget, "Add L/R pair")
    assert any(
        "L/R" in widget.edge_list.item(i).text()
        for i in range(widget.edge_list.count())
    )
    # the new edge joins hidden tail_mid points: nothing drawn for it yet
    assert len(edges.data) == n_edges - n_inst * 0  # unchanged count of drawn edges

    # the edited project saves and reopens with its points
    out = labeling.save(tmp_path / "edited.slp")
    back = load_labels(out)
    assert back.skeletons[0].node_names == labels.skeletons[0].node_names
    assert np.allclose(back.labeled_frames[0].instances[0].numpy()[0], nose)

    # skeleton file round trip
    path = widget.save(tmp_path / "skel.json")
    assert load_skeleton(path).node_names == labels.skeletons[0].node_names


def test_new_labels_from_a_video(make_napari_viewer, qtbot, sample, tmp_path) -> None:
    viewer = make_napari_viewer()
    viewer.open(str(sample.video), plugin="napari-sleap")
    widget = SkeletonWidget(viewer)
    labeling = LabelingWidget(viewer)
    for name in ("head", "thorax", "tail"):
        widget.name_edit.setText(name)
        _click(qtbot, widget, "Add")
    widget.src_combo.setCurrentText("head")
    widget.dst_combo.setCurrentText("thorax")
    _click(qtbot, widget, "Add edge")
    _click(qtbot, widget, "New labels")
    assert labeling.sync is not None
    inst = labeling.add_instance(60.0, 40.0, frame=3)
    assert inst.numpy().shape == (3, 2)
    assert np.allclose(inst.numpy().mean(axis=0), (60.0, 40.0))
    out = labeling.save(tmp_path / "fresh.slp")
    back = load_labels(out)
    assert back.skeletons[0].node_names == ["head", "thorax", "tail"]
    assert back.labeled_frames[0].frame_idx == 3
    # a loaded skeleton file replaces the free one
    viewer2 = make_napari_viewer()
    w2 = SkeletonWidget(viewer2)
    w2.load(sample.train)
    assert w2.node_list.count() == 10
