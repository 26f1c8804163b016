"""The skeleton dock: nodes, edges, symmetric pairs, load/save, new labels.

Edits go through :class:`napari_sleap.labeling.skeleton_io.SkeletonEditor`, so the
instances of an open project follow (renamed nodes keep their points; removing
labeled nodes asks first). Without an open project the widget edits a free
skeleton, which "New labels" uses to start labeling a video from scratch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sleap_io as sio
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from napari_sleap.labeling.skeleton_io import (
    ConfirmationNeeded,
    SkeletonEditor,
    load_skeleton,
    save_skeleton,
)
from napari_sleap.napari.docks.buttons import button
from napari_sleap.napari.docks.skeleton_picker import (
    real,
    remember,
    remembered,
    start_labels,
)
from napari_sleap.napari.layers.convert import META_KEY, layer_meta

if TYPE_CHECKING:
    import napari


class SkeletonWidget(QWidget):
    """Dock widget to build and edit the skeleton of the open labels.

    Args:
        napari_viewer: The viewer (napari passes it).
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer = real(napari_viewer)
        #: Asks the user yes/no (tests replace it): ``confirm(title, text) -> bool``.
        self.confirm: Callable[[str, str], bool] = self._ask
        self._build()
        napari_viewer.layers.events.inserted.connect(lambda e: self.refresh())
        napari_viewer.layers.events.removed.connect(lambda e: self.refresh())
        self.refresh()

    # ------------------------------------------------------------------ UI

    def _build(self) -> None:
        root = QVBoxLayout(self)
        self.status = QLabel()
        self.status.setWordWrap(True)
        root.addWidget(self.status)

        nodes = QGroupBox("Nodes")
        ng = QGridLayout(nodes)
        self.node_list = QListWidget()
        self.node_list.currentTextChanged.connect(self._on_node_selected)
        ng.addWidget(self.node_list, 0, 0, 1, 3)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("node name")
        self.name_edit.returnPressed.connect(lambda: self._guard(self.add_node))
        ng.addWidget(self.name_edit, 1, 0, 1, 3)
        ng.addWidget(
            button("Add", "Add a node", lambda: self._guard(self.add_node)), 2, 0
        )
        ng.addWidget(
            button(
                "Rename",
                "Rename the selected node",
                lambda: self._guard(self.rename_node),
            ),
            2,
            1,
        )
        ng.addWidget(
            button(
                "Delete",
                "Delete the selected node",
                lambda: self._guard(self.delete_node),
            ),
            2,
            2,
        )
        root.addWidget(nodes)

        edges = QGroupBox("Edges and symmetric pairs")
        eg = QGridLayout(edges)
        self.src_combo, self.dst_combo = QComboBox(), QComboBox()
        eg.addWidget(self.src_combo, 0, 0)
        eg.addWidget(self.dst_combo, 0, 1)
        eg.addWidget(
            button(
                "Add edge", "Connect the two nodes", lambda: self._guard(self.add_edge)
            ),
            1,
            0,
        )
        eg.addWidget(
            button(
                "Remove edge",
                "Disconnect the two nodes",
                lambda: self._guard(self.remove_edge),
            ),
            1,
            1,
        )
        eg.addWidget(
            button(
                "Add L/R pair",
                "Mark the two nodes symmetric",
                lambda: self._guard(self.add_symmetry),
            ),
            2,
            0,
        )
        eg.addWidget(
            button(
                "Remove pair",
                "Unmark the pair",
                lambda: self._guard(self.remove_symmetry),
            ),
            2,
            1,
        )
        self.edge_list = QListWidget()
        self.edge_list.setMaximumHeight(160)
        eg.addWidget(self.edge_list, 3, 0, 1, 2)
        root.addWidget(edges)

        files = QHBoxLayout()
        files.addWidget(
            button("Load...", "Load a skeleton (.json or any .slp)", self.load_dialog)
        )
        files.addWidget(
            button("Save...", "Save the skeleton as SLEAP JSON", self.save_dialog)
        )
        files.addWidget(
            button(
                "New labels",
                "Start labels on the open video with this skeleton",
                lambda: self._guard(self.new_labels),
            )
        )
        root.addLayout(files)
        root.addStretch(1)

    @staticmethod
    def _ask(title: str, text: str) -> bool:
        answer = QMessageBox.question(None, title, text)
        return answer == QMessageBox.StandardButton.Yes

    def _guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except ValueError as err:
            self.status.setText(str(err))
            return None

    # --------------------------------------------------------------- model

    def _points(self) -> Any:
        for layer in reversed(list(self.viewer.layers)):
            meta = layer_meta(layer)
            if meta.get("role") == "instances":
                return layer
        return None

    @property
    def free(self) -> sio.Skeleton:
        """The skeleton edited without open labels: the viewer's last one, kept."""
        skel = remembered(self.viewer)
        if skel is None:
            skel = sio.Skeleton(nodes=[], name="skeleton")
            remember(self.viewer, skel)
        return skel

    @free.setter
    def free(self, skeleton: sio.Skeleton) -> None:
        remember(self.viewer, skeleton)

    @property
    def labels(self) -> sio.Labels | None:
        """The open project's labels (None when no .slp is open)."""
        points = self._points()
        return None if points is None else points.metadata[META_KEY]["labels"]

    @property
    def skeleton(self) -> sio.Skeleton:
        """The skeleton edited: the project's first, or the free one."""
        labels = self.labels
        return (
            labels.skeletons[0]
            if labels is not None and labels.skeletons
            else self.free
        )

    def editor(self) -> SkeletonEditor:
        """An editor on the project (or on a scratch project of the free skeleton)."""
        labels = self.labels
        if labels is None:
            return SkeletonEditor(sio.Labels(skeletons=[self.free]), self.free)
        return SkeletonEditor(labels, self.skeleton)

    def refresh(self) -> None:
        """Redraw the lists from the skeleton (and remember it for this viewer)."""
        skel = self.skeleton
        remember(self.viewer, skel)
        current = self.node_list.currentRow()
        self.node_list.clear()
        self.node_list.addItems(skel.node_names)
        if 0 <= current < len(skel.nodes):
            self.node_list.setCurrentRow(current)
        for combo in (self.src_combo, self.dst_combo):
            keep = combo.currentText()
            combo.clear()
            combo.addItems(skel.node_names)
            if keep in skel.node_names:
                combo.setCurrentText(keep)
        self.edge_list.clear()
        self.edge_list.addItems([f"{a} - {b}" for a, b in skel.edge_names])
        self.edge_list.addItems(
            [
                f"{a} <-> {b} (L/R)"
                for a, b in (sorted(n.name for n in s.nodes) for s in skel.symmetries)
            ]
        )
        where = "project" if self.labels is not None else "new skeleton"
        self.status.setText(
            f"{where}: {len(skel.nodes)} nodes, {len(skel.edges)} edges, "
            f"{len(skel.symmetries)} pairs"
        )

    def _changed(self, rows_changed: bool) -> None:
        """Refresh lists and, for a project, its layers."""
        from napari_sleap.napari.docks.edit_history import undo_stack

        if self.labels is not None:
            points = self._points()
            if rows_changed:
                # commands recorded points of the old node layout: drop the history
                stack = undo_stack(self.viewer)
                stack.clear()
            self._resync(points)
        self.refresh()

    def _resync(self, points: Any) -> None:
        from napari_sleap.napari.sync.instances import InstancesSync

        for dock_sync in _syncs(self.viewer):
            if dock_sync.layer is points:
                dock_sync.reload()
                return
        temporary = InstancesSync(points)
        temporary.reload()
        temporary.disconnect()

    # ------------------------------------------------------------- actions

    def _selected(self) -> str:
        item = self.node_list.currentItem()
        if item is None:
            raise ValueError("select a node in the list first")
        return item.text()

    def _on_node_selected(self, name: str) -> None:
        if name:
            self.name_edit.setText(name)

    def add_node(self, name: str | None = None) -> None:
        """Add a node (name from the text box by default)."""
        self.editor().add_node(name or self.name_edit.text())
        self.name_edit.clear()
        self._changed(rows_changed=True)

    def rename_node(self, old: str | None = None, new: str | None = None) -> None:
        """Rename the selected node; its points stay."""
        self.editor().rename_node(old or self._selected(), new or self.name_edit.text())
        self._changed(rows_changed=False)

    def delete_node(self, name: str | None = None) -> None:
        """Delete the selected node; asks first when it holds labeled points."""
        name = name or self._selected()
        ed = self.editor()
        try:
            ed.remove_nodes([name])
        except ConfirmationNeeded as err:
            if not self.confirm("Delete node?", f"{err}. Delete the node?"):
                self.status.setText(f"kept {name!r}")
                return
            ed.remove_nodes([name], confirm=True)
        self._changed(rows_changed=True)

    def _pair(self) -> tuple[str, str]:
        return self.src_combo.currentText(), self.dst_combo.currentText()

    def add_edge(self, a: str | None = None, b: str | None = None) -> None:
        """Connect two nodes (the two combo boxes by default)."""
        a, b = (a, b) if a else self._pair()
        self.editor().add_edge(a, b)
        self._changed(rows_changed=False)

    def remove_edge(self, a: str | None = None, b: str | None = None) -> None:
        """Disconnect two nodes."""
        a, b = (a, b) if a else self._pair()
        self.editor().remove_edge(a, b)
        self._changed(rows_changed=False)

    def add_symmetry(self, a: str | None = None, b: str | None = None) -> None:
        """Mark two nodes as a left/right pair."""
        a, b = (a, b) if a else self._pair()
        self.editor().add_symmetry(a, b)
        self._changed(rows_changed=False)

    def remove_symmetry(self, a: str | None = None, b: str | None = None) -> None:
        """Unmark a left/right pair."""
        a, b = (a, b) if a else self._pair()
        self.editor().remove_symmetry(a, b)
        self._changed(rows_changed=False)

    # --------------------------------------------------------------- files

    def load(self, path: str | Path) -> sio.Skeleton:
        """Load a skeleton file (JSON or .slp) into the project or as the free one."""
        new = load_skeleton(path)
        if self.labels is None:
            self.free = new
            self.refresh()
            return new
        ed = self.editor()
        try:
            ed.replace(new)
        except ConfirmationNeeded as err:
            if not self.confirm("Replace skeleton?", f"{err}. Replace it?"):
                return self.skeleton
            ed.replace(new, confirm=True)
        self._changed(rows_changed=True)
        return new

    def save(self, path: str | Path) -> Path:
        """Save the skeleton as SLEAP JSON."""
        out = save_skeleton(self.skeleton, path)
        self.status.setText(f"Saved {Path(out).name}")
        return out

    def load_dialog(self) -> None:
        """Ask for a skeleton file and load it."""
        name, _ = QFileDialog.getOpenFileName(
            self, "Load skeleton", "", "Skeleton (*.json *.slp)"
        )
        if name:
            self._guard(lambda: self.load(name))

    def save_dialog(self) -> None:
        """Ask for a file name and save the skeleton."""
        name, _ = QFileDialog.getSaveFileName(
            self, "Save skeleton", "", "JSON (*.json)"
        )
        if name:
            self._guard(lambda: self.save(name))

    def new_labels(self) -> sio.Labels:
        """Start empty labels on the open video with this skeleton.

        The skeleton stays this dock's (and the viewer's remembered) skeleton.
        """
        if self.labels is not None:
            raise ValueError("labels are already open: edit their skeleton here")
        if len(self.free.nodes) == 0:
            raise ValueError("add nodes to the skeleton first")
        labels = start_labels(self.viewer, self.free)
        self.refresh()
        return labels


def _syncs(viewer: Any) -> list:
    """InstancesSync objects of the labeling docks open in ``viewer``."""
    from napari_sleap.napari.docks.edit_history import live_syncs

    return live_syncs(viewer)
