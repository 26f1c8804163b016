"""Right-click menu on an instance in the canvas: node visibility, delete, tracks.

A right click near a node of the frame on screen opens a menu for that node's
instance: hide or show the node, delete the instance, put it on a track (or a new
one, named in a box first), and exchange tracks with another instance of the
frame (here only, or from this frame on). Each item is one command on the
viewer's undo stack, run through the Labeling dock's layer sync, so the layers
follow and Ctrl+Z undoes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sleap_io as sio
from qtpy.QtCore import QPoint
from qtpy.QtWidgets import QInputDialog, QLineEdit, QMenu

from napari_sleap.labeling import AssignTrack, DeleteInstances, set_node_visible
from napari_sleap.labeling.track_edits import SwapTracks
from napari_sleap.napari.compat import canvas_widget

if TYPE_CHECKING:
    from napari_sleap.napari.docks.labeling import LabelingWidget

#: How near (screen pixels) a right click must be to a node to pick it.
PICK_RADIUS_PX = 14.0
RIGHT_BUTTON = 2


@dataclass
class Hit:
    """The node a right click picked."""

    instance: sio.Instance
    node: int
    row: int


def _track_name(track: sio.Track | None) -> str:
    return "no track" if track is None else track.name


class InstanceMenu:
    """Opens the instance menu on right clicks in the canvas of ``widget.viewer``.

    Args:
        widget: The Labeling dock whose layer sync runs the edits.
    """

    def __init__(self, widget: LabelingWidget) -> None:
        self.widget = widget
        self.viewer = widget.viewer
        #: The menu last opened (tests click its actions).
        self.menu: QMenu | None = None
        #: The name box of the last "New track..." (a new track is named first).
        self.rename_box: QInputDialog | None = None
        self.viewer.mouse_drag_callbacks.append(self._on_press)

    def disconnect(self) -> None:
        """Stop listening to the canvas."""
        if self._on_press in self.viewer.mouse_drag_callbacks:
            self.viewer.mouse_drag_callbacks.remove(self._on_press)

    # ------------------------------------------------------------ picking

    def pick(self, position: Any) -> Hit | None:
        """The shown node nearest ``position`` (world coords) within reach."""
        sync = self.widget.sync
        if sync is None:
            return None
        layer = sync.layer
        data = np.asarray(layer.data)
        if not len(data):
            return None
        pos = np.asarray(position, dtype=float)[-3:]
        inst = np.asarray(layer.features["instance"])
        ok = np.asarray(layer.shown, bool) & (inst >= 0)
        ok &= np.rint(data[:, 0]) == np.rint(pos[0])
        rows = np.nonzero(ok)[0]
        if not len(rows):
            return None
        dist = np.hypot(*(data[rows, 1:] - pos[1:]).T)
        reach = PICK_RADIUS_PX / max(float(self.viewer.camera.zoom), 1e-6)
        best = int(np.argmin(dist))
        if dist[best] > max(reach, float(np.max(layer.size)) / 2):
            return None
        row = int(rows[best])
        instance = sync.instance_at_row(row)
        node = instance.skeleton.node_names.index(str(layer.features["node"].iloc[row]))
        return Hit(instance=instance, node=node, row=row)

    def _on_press(self, viewer: Any, event: Any) -> None:
        if getattr(event, "button", None) != RIGHT_BUTTON:
            return
        hit = self.pick(event.position)
        if hit is None:
            return
        native = canvas_widget(self.viewer)
        x, y = (int(v) for v in np.asarray(event.pos)[:2])
        self.open(hit, native.mapToGlobal(QPoint(x, y)))

    # ------------------------------------------------------------- menu

    def open(self, hit: Hit, where: QPoint) -> QMenu:
        """Build the menu for ``hit`` and show it at ``where`` (global pixels)."""
        if self.menu is not None:
            self.menu.close()
        self.menu = self.build(hit)
        self.menu.popup(where)
        return self.menu

    def build(self, hit: Hit) -> QMenu:
        """The menu of one picked node and its instance."""
        sync = self.widget.sync
        assert sync is not None
        labels = sync.labels
        inst, node = hit.instance, hit.node
        name = inst.skeleton.node_names[node]
        menu = QMenu(self.widget)
        visible = bool(inst.points["visible"][node])
        self._item(
            menu,
            f"{'Hide' if visible else 'Show'} node '{name}'",
            lambda: set_node_visible(labels, inst, node, not visible),
        )
        self._item(
            menu,
            "Delete instance",
            lambda: DeleteInstances(
                labels, instances=[inst], frames=[sync.frame_of(inst)]
            ),
        )
        tracks = menu.addMenu("Set track")
        for track in labels.tracks:
            action = self._item(
                tracks, track.name, lambda t=track: AssignTrack(labels, inst, t)
            )
            action.setCheckable(True)
            action.setChecked(inst.track is track)
        self._item(tracks, "No track", lambda: AssignTrack(labels, inst, None))
        new = tracks.addAction("New track...")
        new.triggered.connect(lambda *_: self.ask_new_track(inst))
        others = [
            o
            for o in sync.frame_of(inst).instances
            if o is not inst and _same_kind(o, inst)
        ]
        for other in others:
            if other.track is inst.track:
                continue
            self._item(
                menu,
                f"Swap track with {_track_name(other.track)} (this frame)",
                lambda o=other: _swap_pair(labels, inst, o),
            )
            if inst.track is not None and other.track is not None:
                frame = sync.frame_of(inst).frame_idx
                self._item(
                    menu,
                    f"Swap {inst.track.name} and {other.track.name} from frame "
                    f"{frame} on",
                    lambda o=other, f=frame: SwapTracks(
                        labels, inst.track, o.track, start=f, video=sync.video
                    ),
                )
        return menu

    def ask_new_track(self, inst: sio.Instance) -> QInputDialog:
        """Open the name box of a new track for ``inst`` (OK: one undo step)."""
        if self.rename_box is not None:
            self.rename_box.close()
        box = QInputDialog(self.widget)
        box.setWindowTitle("New track")
        box.setLabelText("Name of the new track:")
        box.setTextValue(self._new_name())
        labels = self.widget.labels

        def make(name: str) -> AssignTrack:
            if not name.strip():
                raise ValueError("new track: type a name (it is empty)")
            if name.strip() in {t.name for t in labels.tracks}:
                raise ValueError(
                    f"new track: {name.strip()!r} is taken; choose it under Set track "
                    "or type another name"
                )
            return AssignTrack(labels, inst, sio.Track(name.strip()))

        box.textValueSelected.connect(
            lambda name: self._run("New track", lambda: make(name))
        )
        self.rename_box = box
        box.open()
        box.findChild(QLineEdit).selectAll()
        return box

    def _new_name(self) -> str:
        taken = {t.name for t in self.widget.labels.tracks}
        k = len(taken) + 1
        while f"track_{k}" in taken:
            k += 1
        return f"track_{k}"

    def _item(self, menu: QMenu, text: str, make: Callable[[], Any]) -> Any:
        action = menu.addAction(text)
        action.triggered.connect(lambda *_: self._run(text, make))
        return action

    def _run(self, text: str, make: Callable[[], Any]) -> None:
        widget = self.widget
        sync = widget.sync
        if sync is None:
            return
        try:
            sync.push(make())
        except ValueError as err:
            widget.status.setText(str(err))
            return
        widget._fill_tracks()
        widget.status.setText(f"{text.split(' (')[0]}: done (Ctrl+Z undoes)")


def _same_kind(a: sio.Instance, b: sio.Instance) -> bool:
    """Both user instances or both predictions (accepted copies aside)."""
    return isinstance(a, sio.PredictedInstance) == isinstance(b, sio.PredictedInstance)


def _swap_pair(labels: sio.Labels, a: sio.Instance, b: sio.Instance) -> AssignTrack:
    """Exchange the tracks of two instances of one frame (one command)."""
    if b.track is not None:
        return AssignTrack(labels, a, b.track)  # b takes a's old track
    return AssignTrack(labels, b, a.track)
