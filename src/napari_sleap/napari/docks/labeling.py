"""The labeling dock: add, move, hide, delete, track, accept, navigate, suggest, undo.

The widget holds no labeling logic: every edit is a :mod:`napari_sleap.labeling`
command pushed through :class:`~napari_sleap.napari.sync.instances.InstancesSync`,
which updates only the touched rows of the layer. Autosave runs from a Qt timer.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sleap_io as sio
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from napari_sleap.io.labels import load_labels, save_labels
from napari_sleap.labeling import (
    AcceptPrediction,
    AddInstance,
    AssignTrack,
    Autosaver,
    CopyPrevious,
    DeleteInstances,
    FrameSets,
    find_recovery,
    set_node_visible,
)
from napari_sleap.labeling.autosave import discard
from napari_sleap.labeling.commands import used_predictions
from napari_sleap.labeling.placement import Placement, placement_for
from napari_sleap.napari.compat import unproxied
from napari_sleap.napari.docks.buttons import button
from napari_sleap.napari.docks.display import DisplayPanel
from napari_sleap.napari.docks.edit_history import (
    history_step,
    live_syncs,
    register_dock,
    undo_stack,
)
from napari_sleap.napari.docks.instance_menu import InstanceMenu
from napari_sleap.napari.docks.predict_add import PredictOnAdd
from napari_sleap.napari.docks.shortcuts import SHORTCUTS, help_text
from napari_sleap.napari.docks.skeleton_picker import SkeletonPicker
from napari_sleap.napari.docks.suggestions_box import SuggestionsBox
from napari_sleap.napari.layers.convert import META_KEY, labels_to_layers, layer_meta
from napari_sleap.napari.sync.instances import InstancesSync
from napari_sleap.napari.sync.tracks_follow import follow_tracks

if TYPE_CHECKING:
    import napari
    from napari.layers import Points


def _role(layer: Any) -> str | None:
    return layer_meta(layer).get("role")


class LabelingWidget(QWidget):
    """Dock widget for labeling poses on the instances layer of a .slp file.

    Args:
        napari_viewer: The viewer (napari passes it).
        autosave_interval: Least seconds between autosaves.
    """

    def __init__(
        self, napari_viewer: napari.Viewer, autosave_interval: float = 30.0
    ) -> None:
        super().__init__()
        napari_viewer = unproxied(napari_viewer)  # one identity for every registry
        self.viewer = napari_viewer
        self.stack = undo_stack(napari_viewer)
        self.sync: InstancesSync | None = None
        self.autosaver: Autosaver | None = None
        self.autosave_interval = autosave_interval
        self._sets: FrameSets | None = None
        #: Asks the user yes/no (tests replace it): ``confirm(title, text) -> bool``.
        self.confirm: Callable[[str, str], bool] = self._ask
        self._placing = False
        self._recovering = False
        #: Add predicts the frame where a trained model is at hand.
        self.predict_add = PredictOnAdd(self, self._place)
        register_dock(self)
        self._build()
        self._bind_keys()
        self.stack.listeners.append(self._on_command)
        napari_viewer.layers.events.inserted.connect(lambda e: self.attach())
        napari_viewer.layers.events.removed.connect(self._on_removed)
        napari_viewer.mouse_drag_callbacks.append(self._on_click)
        self.instance_menu = InstanceMenu(self)  # right click on an instance
        self._timer = QTimer(self)
        self._timer.setInterval(2000)
        self._timer.timeout.connect(self.autosave)
        self._timer.start()
        self.attach()

    # ------------------------------------------------------------------ UI

    def _build(self) -> None:
        root = QVBoxLayout(self)
        self.status = QLabel(
            "Open a video or a .slp file (File > Open) to start labeling."
        )
        self.status.setWordWrap(True)
        root.addWidget(self.status)
        self.picker = SkeletonPicker(self.viewer)  # shown for a video without labels
        root.addWidget(self.picker)
        row = QHBoxLayout()
        row.addWidget(button("Save", "Save the labels (.slp)", self.save))
        row.addWidget(button("Save as...", "Save to another .slp", self.save_as))
        self.undo_btn = button("Undo", "Ctrl+Z", self.undo)
        self.redo_btn = button("Redo", "Ctrl+Shift+Z", self.redo)
        row.addWidget(self.undo_btn)
        row.addWidget(self.redo_btn)
        root.addLayout(row)

        inst = QGroupBox("Instances")
        grid = QGridLayout(inst)
        self.add_btn = button(
            "Add (click)", "Click in the image to place an instance", self.arm_add
        )
        self.add_btn.setCheckable(True)
        grid.addWidget(self.add_btn, 0, 0)
        grid.addWidget(button("Copy previous", "Shift+C", self.copy_previous), 0, 1)
        grid.addWidget(button("Delete", "Ctrl+Backspace", self.delete_selected), 1, 0)
        grid.addWidget(
            button("Accept prediction", "Ctrl+Enter", self.accept_selected), 1, 1
        )
        grid.addWidget(button("Show/hide node", "H", self.toggle_visibility), 2, 0)
        grid.addWidget(self.predict_add.enabled, 2, 1)
        self.track_combo = QComboBox()
        self.track_combo.setEditable(True)
        self.track_combo.setToolTip("Track for the selected instance (type a new name)")
        grid.addWidget(self.track_combo, 3, 0)
        grid.addWidget(button("Assign track", "Ctrl+1..9", self.assign_track), 3, 1)
        root.addWidget(inst)

        nav = QGroupBox("Go to frame")
        ngrid = QGridLayout(nav)
        for r, (kind, text) in enumerate(
            [
                ("labeled", "labeled"),
                ("unlabeled", "unlabeled"),
                ("suggested", "suggested"),
                ("low_score", "low score"),
            ]
        ):
            ngrid.addWidget(
                button(f"< {text}", f"previous {text}", lambda k=kind: self.go(k, -1)),
                r,
                0,
            )
            ngrid.addWidget(
                button(f"{text} >", f"next {text}", lambda k=kind: self.go(k, 1)), r, 1
            )
        ngrid.addWidget(QLabel("low score below"), 4, 0)
        self.score_spin = QDoubleSpinBox()
        self.score_spin.setRange(0.0, 1.0)
        self.score_spin.setSingleStep(0.05)
        self.score_spin.setValue(0.5)
        self.score_spin.valueChanged.connect(lambda *_: self._invalidate())
        ngrid.addWidget(self.score_spin, 4, 1)
        root.addWidget(nav)

        self.suggestions = SuggestionsBox(self)
        self.method_combo = self.suggestions.method_combo
        self.count_spin = self.suggestions.count_spin
        self.sugg_list = self.suggestions.sugg_list
        root.addWidget(self.suggestions)

        self.display = DisplayPanel(self.viewer)  # names, tails, node legend
        root.addWidget(self.display)

        self.help = QTextBrowser()
        self.help.setHtml(help_text())
        self.help.setVisible(False)
        help_btn = button(
            "Shortcuts...", "Show the keyboard shortcuts", self.toggle_help
        )
        root.addWidget(help_btn)
        root.addWidget(self.help)
        root.addStretch(1)
        self._update_buttons()

    def toggle_help(self) -> None:
        """Show or hide the shortcut list."""
        self.help.setVisible(not self.help.isVisible())

    def _bind_keys(self) -> None:
        for s in SHORTCUTS:
            self.viewer.bind_key(s.key, self._key_handler(s.action), overwrite=True)

    def _key_handler(self, action: str) -> Callable[[Any], None]:
        def handler(_: Any) -> None:
            self.run_action(action)

        handler.__name__ = f"napari_sleap_{action}"
        return handler

    def run_action(self, action: str) -> None:
        """Run a shortcut's action by name; errors go to the status line."""
        if action.startswith("assign_track_"):
            self._guard(self.assign_track, int(action.rsplit("_", 1)[1]) - 1)
        elif action.startswith(("next_", "prev_")):
            direction, kind = action.split("_", 1)
            self._guard(self.go, kind, 1 if direction == "next" else -1)
        else:
            self._guard(getattr(self, action))

    def _guard(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except ValueError as err:
            self.status.setText(str(err))
            return None

    @staticmethod
    def _ask(title: str, text: str) -> bool:
        answer = QMessageBox.question(None, title, text)
        return answer == QMessageBox.StandardButton.Yes

    # ------------------------------------------------------------ attaching

    def _instances_layer(self) -> Points | None:
        for layer in reversed(list(self.viewer.layers)):
            if _role(layer) == "instances":
                return layer
        return None

    def _edges_layer(self, points: Points) -> Any:
        link = points.metadata[META_KEY]["link"]
        for layer in self.viewer.layers:
            meta = layer_meta(layer)
            if meta.get("role") == "edges" and meta.get("link") == link:
                return layer
        return None

    def attach(self) -> None:
        """Bind to the newest instances layer in the viewer (if not bound yet)."""
        points = self._instances_layer()
        if points is None or (self.sync is not None and self.sync.layer is points):
            return
        if self.sync is not None:
            self.sync.disconnect()
        # a second Labeling dock (e.g. the workbench's) shares the layer's sync:
        # two syncs would record every edit twice
        shared = [s for s in live_syncs(self.viewer) if s.layer is points]
        self.sync = (
            shared[0]
            if shared
            else InstancesSync(
                points, self._edges_layer(points), self.stack, dims=self.viewer.dims
            )
        )
        self.sync.edited.append(self._on_edit)
        self.sync.notices.append(self.status.setText)
        follow_tracks(self.viewer, points)  # labeling edits move the tracks too
        points.bind_key("Delete", self._key_handler("hide_selected"), overwrite=True)
        points.bind_key("Backspace", self._key_handler("hide_selected"), overwrite=True)
        source = points.metadata[META_KEY].get("source")
        self.autosaver = None
        if source:
            labels = self.sync.labels
            self.autosaver = Autosaver(
                lambda: labels, source, interval=self.autosave_interval
            )
        self._invalidate()
        self._fill_tracks()
        self.suggestions.fill()
        name = Path(source).name if source else points.name
        self.status.setText(f"Labeling {name}")
        if source and not self._recovering:
            self._offer_recovery(Path(source))

    def _on_removed(self, event: Any) -> None:
        if self.sync is not None and event.value is self.sync.layer:
            if self.autosaver is not None:  # closing unsaved: keep the edits
                self.autosave(force=True)
                self.autosaver = None
            self.sync.disconnect()
            self.sync = None
            self.attach()

    @property
    def labels(self) -> sio.Labels:
        """The labels being edited."""
        if self.sync is None:
            raise ValueError("no labels open: open a .slp file first (File > Open)")
        return self.sync.labels

    @property
    def frame(self) -> int:
        """The current frame index."""
        return int(self.viewer.dims.current_step[0])

    def set_frame(self, frame: int) -> None:
        """Go to ``frame``."""
        self.viewer.dims.set_current_step(0, int(frame))

    # -------------------------------------------------------------- editing

    def _on_command(self, command: Any) -> None:
        self._on_edit()

    def _on_edit(self) -> None:
        self._sets = None
        if self.sync is not None and [t.name for t in self.labels.tracks] != [
            self.track_combo.itemText(i) for i in range(self.track_combo.count() - 1)
        ]:
            self._fill_tracks()  # a track added, removed or renamed
        if self.autosaver is not None:
            self.autosaver.mark_dirty()
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.undo_btn.setEnabled(self.stack.can_undo)
        self.redo_btn.setEnabled(self.stack.can_redo)
        last = self.stack.last_done
        if last is not None:
            self.undo_btn.setToolTip(f"Undo {last.label} (Ctrl+Z)")

    def undo(self) -> None:
        """Undo the viewer's last edit (from this dock or any other)."""
        history_step(self.viewer, said=self.status.setText)

    def redo(self) -> None:
        """Redo the last undone edit."""
        history_step(self.viewer, redo=True, said=self.status.setText)

    def _require(self) -> InstancesSync:
        if self.sync is None:
            raise ValueError("no labels open: open a .slp file first (File > Open)")
        return self.sync

    def arm_add(self) -> None:
        """The next click in the image places a new instance."""
        if self.sync is None:  # nothing to add to: say how to start, stay unpressed
            self.add_btn.setChecked(False)
            self._placing = False
            self.status.setText(
                "No labels yet: choose a skeleton under 'Start labeling this video' "
                "and press Start (or open a .slp)"
            )
            return
        self._placing = self.add_btn.isChecked()
        self.status.setText(
            "Click where the animal is" if self._placing else "Add cancelled"
        )

    def _on_click(self, viewer: Any, event: Any) -> None:
        if not self._placing or self.sync is None:
            return
        self._placing = False
        self.add_btn.setChecked(False)
        y, x = np.asarray(event.position)[-2:]
        self._guard(self.add_instance, float(x), float(y))

    def add_instance(self, x: float, y: float, frame: int | None = None) -> Any:
        """Add an instance at ``(x, y)`` on ``frame`` (default: current).

        Placed as SLEAP places it, prediction first: a prediction there is
        accepted; else, with a trained model at hand, the frame is predicted in a
        job (:class:`PredictOnAdd`; returns None, the instance comes when the
        answer does); else the nearest animal of the previous labeled frame is
        moved here, else the mean pose turned to the animal.
        """
        self._require()
        f = self.frame if frame is None else frame
        if self.predict_add.start(x, y, f):
            return None
        return self._place(x, y, f, None, "")

    def _place(
        self, x: float, y: float, f: int, place: Placement | None, note: str
    ) -> Any:
        """Add the instance at ``(x, y)`` on frame ``f`` as ``place`` says.

        ``place`` None: :func:`placement_for` chooses; ``note`` says why.
        """
        sync = self._require()
        if place is None:
            place = placement_for(
                self.labels,
                sync.video,
                f,
                (x, y),
                image=lambda: self._frame_image(f),
                read_frame=self._frame_image,
            )
        if place.prediction is not None:
            pred = place.prediction
            cmd = sync.push(
                AcceptPrediction(
                    self.labels, instances=[pred], frames=[sync.frame_of(pred)]
                )
            )
            instance = cmd.accepted[0]
        else:
            cmd = sync.push(
                AddInstance(self.labels, video=sync.video, frame_idx=f, xy=place.xy)
            )
            instance = cmd.instance
        why = f"; {note}" if note else ""
        self.status.setText(
            f"Added an instance on frame {f} ({place.description}{why}); drag its nodes"
        )
        return instance

    def _frame_image(self, frame: int) -> np.ndarray | None:
        """The video frame under the labels (None: no video layer)."""
        sync = self.sync
        vi = None if sync is None else layer_meta(sync.layer).get("video_index", 0)
        images = [la for la in self.viewer.layers if type(la).__name__ == "Image"]
        mine = [la for la in images if layer_meta(la).get("video_index") == vi]
        for layer in mine or images:
            if layer.data.ndim >= 3 and frame < layer.data.shape[0]:
                return np.asarray(layer.data[frame])
        return None

    def add_at_cursor(self) -> None:
        """Add an instance where the mouse cursor is."""
        y, x = np.asarray(self.viewer.cursor.position)[-2:]
        self.add_instance(float(x), float(y))

    def copy_previous(self) -> None:
        """Copy the closest earlier labeled frame's instances to this frame."""
        sync = self._require()
        cmd = sync.push(
            CopyPrevious(self.labels, video=sync.video, frame_idx=self.frame)
        )
        self.status.setText(f"Copied {len(cmd.copies)} from frame {cmd.source_frame}")

    def selected_instances(self) -> list[sio.Instance]:
        """Instances with a selected node, in row order."""
        return self._require().selected_instances()

    def delete_selected(self) -> None:
        """Delete the selected instance(s)."""
        sync = self._require()
        insts = self.selected_instances()
        if not insts:
            raise ValueError("delete: select a node of the instance first")
        frames = [sync.frame_of(i) for i in insts]
        sync.push(DeleteInstances(self.labels, instances=insts, frames=frames))

    def accept_selected(self) -> None:
        """Accept the selected predictions (or every prediction on this frame)."""
        sync = self._require()
        insts = [
            i for i in self.selected_instances() if isinstance(i, sio.PredictedInstance)
        ]
        if not insts:
            insts = [
                i
                for i in sync.frame_instances(self.frame)
                if isinstance(i, sio.PredictedInstance)
            ]
        if insts:
            used = used_predictions(sync.frame_of(insts[0]))
            insts = [i for i in insts if id(i) not in used]
        if not insts:
            raise ValueError(f"accept: no predictions on frame {self.frame}")
        frames = [sync.frame_of(i) for i in insts]
        sync.push(AcceptPrediction(self.labels, instances=insts, frames=frames))
        self.status.setText(f"Accepted {len(insts)} prediction(s)")

    def _selected_nodes(self) -> list[tuple[sio.Instance, int]]:
        sync = self._require()
        nodes = np.asarray(sync.layer.features["node"])
        out = []
        for row in sorted(sync.layer.selected_data):
            inst = sync.instance_at_row(row)
            out.append((inst, inst.skeleton.node_names.index(nodes[row])))
        if not out:
            raise ValueError("select a node first (select mode, click a point)")
        return out

    def toggle_visibility(self) -> None:
        """Flip the visibility of the selected node(s)."""
        sync = self._require()
        for inst, node in self._selected_nodes():
            visible = not bool(inst.points["visible"][node])
            sync.push(set_node_visible(self.labels, inst, node, visible))

    def hide_selected(self) -> None:
        """Mark the selected node(s) as not visible."""
        sync = self._require()
        for inst, node in self._selected_nodes():
            if inst.points["visible"][node]:
                sync.push(set_node_visible(self.labels, inst, node, False))

    def _fill_tracks(self) -> None:
        current = self.track_combo.currentText()
        self.track_combo.clear()
        names = [t.name for t in self.labels.tracks] if self.sync else []
        self.track_combo.addItems(names + ["(none)"])
        if current:
            self.track_combo.setCurrentText(current)

    def assign_track(self, index: int | None = None) -> None:
        """Put the selected instance on the chosen (or ``index``-th) track."""
        sync = self._require()
        insts = self.selected_instances()
        if len(insts) != 1:
            raise ValueError("assign track: select a node of exactly one instance")
        if index is not None:
            if index >= len(self.labels.tracks):
                raise ValueError(
                    f"assign track: there is no track {index + 1} "
                    f"({len(self.labels.tracks)} tracks)"
                )
            track = self.labels.tracks[index]
        else:
            name = self.track_combo.currentText().strip()
            track = None
            if name and name != "(none)":
                track = next((t for t in self.labels.tracks if t.name == name), None)
                track = track or sio.Track(name)
        sync.push(AssignTrack(self.labels, instance=insts[0], track=track))
        self._fill_tracks()

    # ----------------------------------------------------------- navigation

    def _invalidate(self) -> None:
        self._sets = None

    def frame_sets(self) -> FrameSets:
        """Frame sets for navigation (recomputed after edits)."""
        sync = self._require()
        if self._sets is None:
            n = self.viewer.dims.range[0].stop
            self._sets = FrameSets.from_labels(
                self.labels,
                sync.video,
                score_threshold=self.score_spin.value(),
                n_frames=int(n) + 1,
            )
        return self._sets

    def go(self, kind: str, direction: int = 1) -> int | None:
        """Move to the next/previous frame of ``kind``; returns it (None: none)."""
        target = self.frame_sets().step(kind, self.frame, direction)
        if target is None:
            self.status.setText(f"No {kind.replace('_', ' ')} frame that way")
            return None
        self.set_frame(target)
        return target

    # ---------------------------------------------------------- suggestions

    def suggest(
        self, method: str | None = None, k: int | None = None, *, wait: bool = True
    ) -> list[int] | None:
        """Make suggestions for this video and list them (see :class:`SuggestionsBox`).

        Returns the frames (None while an image-feature worker still runs).
        """
        return self.suggestions.suggest(method, k, wait=wait)

    # -------------------------------------------------------- save, recover

    def save(self, path: str | Path | None = None) -> Path:
        """Save the labels to their file (or to ``path``, which becomes their file).

        The autosave side file is removed: nothing unsaved is left.
        """
        sync = self._require()
        meta = sync.layer.metadata[META_KEY]
        path = Path(path or meta.get("source") or "")
        if not path.name:
            return self.save_as()
        out = save_labels(self.labels, path)
        if self.autosaver is not None:
            self.autosaver.saved()  # the edits are safe: drop the old side file
        if Path(meta.get("source") or "") != out:
            # saved elsewhere: that file is the project from now on
            meta["source"] = str(out)
            labels = self.labels
            self.autosaver = Autosaver(
                lambda: labels, out, interval=self.autosave_interval
            )
        self.status.setText(f"Saved {out.name}")
        return out

    def save_as(self) -> Path | None:
        """Ask for a file name and save there."""
        name, _ = QFileDialog.getSaveFileName(self, "Save labels", "", "SLEAP (*.slp)")
        return self.save(name) if name else None

    def autosave(self, force: bool = False) -> Path | None:
        """Write the autosave side file if there are unsaved edits and it is due."""
        if self.autosaver is None:
            return None
        try:
            return self.autosaver.maybe_save(force=force)
        except Exception as err:  # a timer slot must never raise
            warnings.warn(f"autosave failed: {err}", stacklevel=2)
            return None

    def _offer_recovery(self, source: Path) -> None:
        side = find_recovery(source)
        if side is None:
            return
        if self.confirm(
            "Recover unsaved labels?",
            f"{side.name} holds edits newer than {source.name} (napari closed "
            "without saving). Recover them?",
        ):
            self.recover(source, side)
        else:
            discard(source)

    def recover(self, source: Path, side: Path) -> None:
        """Replace the open labels with those of the autosave file."""
        from napari.layers import Layer

        from napari_sleap.napari.colormaps import tracks_colormap

        labels = load_labels(side, missing_videos="ignore")
        old = [
            layer
            for layer in list(self.viewer.layers)
            if _role(layer) in ("instances", "edges", "tracks")
        ]
        self._recovering = True
        try:
            for layer in old:
                self.viewer.layers.remove(layer)
            for data, kwargs, kind in labels_to_layers(labels):
                kwargs["metadata"][META_KEY]["source"] = str(source)
                if kind == "tracks":
                    kwargs = tracks_colormap(kwargs)
                self.viewer.add_layer(Layer.create(data, kwargs, kind))
            from napari_sleap.napari.sync.skeleton_link import install

            install(self.viewer)
            self.attach()
        finally:
            self._recovering = False
        if self.autosaver is not None:
            self.autosaver.mark_dirty()
        self.status.setText(f"Recovered the edits from {side.name}; save to keep them")
