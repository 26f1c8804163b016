"""The proofreading panel: fix identities with undoable track edits.

Swap two tracks over a frame range (or from the current frame on) in one undo
step, confirmed on screen; put the selected instance on a
track, delete predicted instances in a frame range, and walk a ranked list of
likely identity swaps (:mod:`napari_sleap.track.swaps`) with one key (J next,
K previous). Every edit is a command on the viewer's shared undo stack (the one
the labeling dock uses), so Ctrl+Z undoes it; the instances layer changes only
the touched rows and the Tracks layer is recomputed from the row arrays after each
edit (:mod:`napari_sleap.napari.sync.tracks_follow`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import sleap_io as sio
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from napari_sleap.labeling import AssignTrack, DeleteInstances
from napari_sleap.labeling.track_edits import RenameTrack, SwapTracks
from napari_sleap.napari.compat import unproxied
from napari_sleap.napari.docks.edit_history import (
    bind_history_keys,
    history_step,
    live_syncs,
    undo_stack,
)
from napari_sleap.napari.layers.convert import layer_meta
from napari_sleap.napari.sync.instances import InstancesSync
from napari_sleap.napari.sync.tracks_follow import follow_tracks
from napari_sleap.track.swaps import SwapEvent, describe, likely_swaps

if TYPE_CHECKING:
    import napari

ALL_TRACKS = "(all tracks)"
#: Keys of the swap list (napari key strings).
NEXT_KEY, PREV_KEY = "j", "k"


def instance_tracks_data(sync: InstancesSync) -> tuple[np.ndarray, np.ndarray]:
    """Tracks layer rows ``(track, frame, y, x)`` and their track, from the store.

    Centroids of each instance's shown rows, read from the row arrays (no pass
    over the Labels), so it stays fast for long recordings.
    """
    return sync.store.tracks_data()


class ProofreadPanel(QWidget):
    """Dock widget for identity proofreading of the newest instances layer.

    Args:
        napari_viewer: The viewer (napari passes it).
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        napari_viewer = unproxied(napari_viewer)  # the same viewer the others see
        self.viewer = napari_viewer
        self.stack = undo_stack(napari_viewer)
        self._own_sync: InstancesSync | None = None
        self.events: list[SwapEvent] = []
        self._cursor = -1
        self._build()
        self.stack.listeners.append(self._on_command)
        napari_viewer.layers.events.inserted.connect(lambda e: self.refresh())
        bind_history_keys(napari_viewer)  # Ctrl+Z undoes any dock's edit
        napari_viewer.bind_key(NEXT_KEY, lambda v: self.next_swap(1), overwrite=True)
        napari_viewer.bind_key(PREV_KEY, lambda v: self.next_swap(-1), overwrite=True)
        self.refresh()

    # ------------------------------------------------------------------ UI

    def _build(self) -> None:
        root = QVBoxLayout(self)
        self.status = QLabel("Open or predict a .slp to proofread.")
        self.status.setWordWrap(True)
        root.addWidget(self.status)
        row = QHBoxLayout()
        self.undo_btn = _button("Undo", "Ctrl+Z", self.undo)
        self.redo_btn = _button("Redo", "Ctrl+Shift+Z", self.redo)
        row.addWidget(self.undo_btn)
        row.addWidget(self.redo_btn)
        root.addLayout(row)

        swap = QGroupBox("Swap identities")
        grid = QGridLayout(swap)
        self.track_a = QComboBox()
        self.track_b = QComboBox()
        grid.addWidget(self.track_a, 0, 0)
        grid.addWidget(self.track_b, 0, 1)
        self.swap_start = QSpinBox()
        self.swap_stop = QSpinBox()
        for spin in (self.swap_start, self.swap_stop):
            spin.setRange(0, 10_000_000)
        self.swap_to_end = QCheckBox("to the end")
        self.swap_to_end.setChecked(True)
        self.swap_to_end.toggled.connect(lambda on: self.swap_stop.setEnabled(not on))
        self.swap_stop.setEnabled(False)
        grid.addWidget(QLabel("frames"), 1, 0)
        grid.addWidget(self.swap_start, 1, 1)
        grid.addWidget(
            _button("here", "Start the range at this frame", self._start_here), 1, 2
        )
        grid.addWidget(self.swap_to_end, 2, 0)
        grid.addWidget(self.swap_stop, 2, 1)
        grid.addWidget(
            _button("here", "End the range at this frame", self._stop_here), 2, 2
        )
        grid.addWidget(
            _button(
                "Swap frames",
                "Exchange the two tracks over the frame range (one undo step)",
                self.swap_range,
            ),
            3,
            0,
            1,
            3,
        )
        grid.addWidget(
            _button(
                "Swap from this frame on",
                "Exchange the two tracks from the current frame to the end",
                self.swap_from_here,
            ),
            4,
            0,
            1,
            3,
        )
        root.addWidget(swap)

        assign = QGroupBox("Assign track")
        agrid = QGridLayout(assign)
        self.assign_combo = QComboBox()
        self.assign_combo.setEditable(True)
        self.assign_combo.setToolTip(
            "Track for the selected instance (type a new name)"
        )
        agrid.addWidget(self.assign_combo, 0, 0)
        agrid.addWidget(
            _button("Assign selected", "Selected points' instance", self.assign), 0, 1
        )
        root.addWidget(assign)

        rename = QGroupBox("Rename track")
        rgrid = QGridLayout(rename)
        self.rename_combo = QComboBox()
        self.rename_edit = QLineEdit()
        self.rename_edit.setPlaceholderText("new name")
        self.rename_edit.returnPressed.connect(lambda: self._guard(self.rename))
        rgrid.addWidget(self.rename_combo, 0, 0)
        rgrid.addWidget(self.rename_edit, 0, 1)
        rgrid.addWidget(
            _button("Rename", "Rename the track (one undo step)", self.rename), 0, 2
        )
        root.addWidget(rename)

        delete = QGroupBox("Delete predicted instances")
        form = QFormLayout(delete)
        self.start_spin = QSpinBox()
        self.stop_spin = QSpinBox()
        for spin in (self.start_spin, self.stop_spin):
            spin.setRange(0, 10_000_000)
        form.addRow("From frame", self.start_spin)
        form.addRow("To frame (incl.)", self.stop_spin)
        self.delete_track = QComboBox()
        form.addRow("Track", self.delete_track)
        form.addRow(_button("Delete", "Predicted only; undoable", self.delete_range))
        root.addWidget(delete)

        swaps = QGroupBox(
            f"Likely swaps ({NEXT_KEY.upper()} next, {PREV_KEY.upper()} previous)"
        )
        sbox = QVBoxLayout(swaps)
        sbox.addWidget(
            _button(
                "Find likely swaps",
                "Rank jumps, crossings, low scores",
                self.find_swaps,
            )
        )
        self.swap_list = QListWidget()
        self.swap_list.setMinimumHeight(140)
        self.swap_list.itemClicked.connect(self._on_item)
        sbox.addWidget(self.swap_list)
        root.addWidget(swaps)
        root.addStretch(1)
        self._update_buttons()

    def _guard(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except ValueError as err:
            self.status.setText(str(err))
            return None

    # ------------------------------------------------------------ attaching

    def _points_layer(self) -> Any:
        for layer in reversed(list(self.viewer.layers)):
            if layer_meta(layer).get("role") == "instances":
                return layer
        return None

    def _layer_with(self, role: str, link: str) -> Any:
        for layer in self.viewer.layers:
            meta = layer_meta(layer)
            if meta.get("role") == role and meta.get("link") == link:
                return layer
        return None

    @property
    def sync(self) -> InstancesSync:
        """Sync of the newest instances layer (the labeling dock's, if open)."""
        points = self._points_layer()
        if points is None:
            raise ValueError("no instances layer: open or predict a .slp first")
        found = next((s for s in live_syncs(self.viewer) if s.layer is points), None)
        if found is not None and self._own_sync is not None:
            self._own_sync.disconnect()
            self._own_sync = None
        if found is None:
            if self._own_sync is None or self._own_sync.layer is not points:
                if self._own_sync is not None:
                    self._own_sync.disconnect()
                edges = self._layer_with("edges", layer_meta(points).get("link"))
                self._own_sync = InstancesSync(
                    points, edges, self.stack, dims=self.viewer.dims
                )
            found = self._own_sync
        if self._on_edit not in found.edited:
            found.edited.append(self._on_edit)
        follow_tracks(self.viewer, points)
        return found

    @property
    def labels(self) -> sio.Labels:
        """The labels being proofread."""
        return self.sync.labels

    @property
    def frame(self) -> int:
        """The current frame."""
        return int(self.viewer.dims.current_step[0])

    def refresh(self) -> None:
        """Fill the track lists from the labels (after layers or tracks change)."""
        try:
            labels = self.labels
        except ValueError:
            return
        names = [t.name for t in labels.tracks]
        for combo, extra in (
            (self.track_a, []),
            (self.track_b, []),
            (self.assign_combo, []),
            (self.rename_combo, []),
            (self.delete_track, [ALL_TRACKS]),
        ):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(extra + names)
            if current in extra + names:
                combo.setCurrentText(current)
            combo.blockSignals(False)
        if (
            self.track_b.currentIndex() == self.track_a.currentIndex()
            and len(names) > 1
        ):
            self.track_b.setCurrentIndex(1)
        self.status.setText(f"Proofreading {self.sync.layer.name}: {len(names)} tracks")

    def _update_buttons(self) -> None:
        self.undo_btn.setEnabled(self.stack.can_undo)
        self.redo_btn.setEnabled(self.stack.can_redo)

    # -------------------------------------------------------------- editing

    def _track(self, name: str) -> sio.Track:
        for t in self.labels.tracks:
            if t.name == name:
                return t
        raise ValueError(f"no track named {name!r}; pick one from the list")

    def push(self, command: Any) -> Any:
        """Run an edit through the layer sync (the layers follow)."""
        return self.sync.push(command)

    def _start_here(self) -> None:
        self.swap_start.setValue(self.frame)

    def _stop_here(self) -> None:
        self.swap_to_end.setChecked(False)
        self.swap_stop.setValue(self.frame)

    def swap_from_here(self) -> Any:
        """Exchange tracks A and B from the current frame to the end."""
        return self.swap_range(self.frame, None)

    def swap_range(self, start: int | None = None, stop: Any = "spin") -> Any:
        """Exchange tracks A and B in frames ``start..stop`` (inclusive), one step.

        ``stop`` None: to the end. Defaults come from the range boxes. The swap is
        confirmed in the dock, the status bar and a notification, naming the
        tracks, the frames and how many instances changed.
        """
        a, b = (
            self._track(self.track_a.currentText()),
            self._track(self.track_b.currentText()),
        )
        if a is b:
            raise ValueError("swap: pick two different tracks")
        start = self.swap_start.value() if start is None else int(start)
        if stop == "spin":
            stop = None if self.swap_to_end.isChecked() else self.swap_stop.value()
        if stop is not None and stop < start:
            raise ValueError(f"swap: 'to' frame {stop} is before 'from' frame {start}")
        command = self.push(
            SwapTracks(
                self.labels,
                a,
                b,
                start=start,
                stop=None if stop is None else int(stop) + 1,
                video=self.sync.video,
            )
        )
        span = f"frames {start}-{stop}" if stop is not None else f"frames {start}-end"
        text = (
            f"Swapped {a.name} and {b.name} in {span}: "
            f"{command.n_retracked} instances (Ctrl+Z undoes)"
        )
        self._confirm(text)
        return command

    def _confirm(self, text: str) -> None:
        """Tell the user what an edit did: dock, status bar and a notification."""
        from napari.utils.notifications import show_info

        self.status.setText(text)
        self.viewer.status = text
        show_info(text)

    def selected_instance(self) -> sio.Instance:
        """The instance of the selected point(s) (exactly one)."""
        insts = self.sync.selected_instances()
        if len(insts) != 1:
            raise ValueError("assign: select the points of exactly one instance")
        return insts[0]

    def assign(
        self, instance: sio.Instance | None = None, name: str | None = None
    ) -> Any:
        """Put ``instance`` (default: the selected one) on track ``name``."""
        inst = instance if instance is not None else self.selected_instance()
        name = (name or self.assign_combo.currentText()).strip()
        if not name:
            raise ValueError("assign: type or pick a track name")
        track = next((t for t in self.labels.tracks if t.name == name), None)
        return self.push(
            AssignTrack(self.labels, instance=inst, track=track or sio.Track(name))
        )

    def rename(self, track: str | None = None, name: str | None = None) -> Any:
        """Rename track ``track`` (default: the chosen one) to ``name`` (typed)."""
        old = self._track(track or self.rename_combo.currentText())
        new = (name if name is not None else self.rename_edit.text()).strip()
        command = self.push(RenameTrack(self.labels, track=old, name=new))
        self.rename_edit.clear()
        self.refresh()
        self.rename_combo.setCurrentText(new)
        self.status.setText(
            f"Renamed {command.label[len('rename ') :]} (Ctrl+Z undoes)"
        )
        return command

    def delete_range(
        self,
        start: int | None = None,
        stop: int | None = None,
        track: str | None = None,
    ) -> Any:
        """Delete predicted instances in frames ``start..stop`` (inclusive)."""
        start = self.start_spin.value() if start is None else start
        stop = self.stop_spin.value() if stop is None else stop
        if stop < start:
            raise ValueError(
                f"delete: 'to' frame {stop} is before 'from' frame {start}"
            )
        name = track if track is not None else self.delete_track.currentText()
        want = None if name in ("", ALL_TRACKS) else self._track(name)
        tab, sync = self.sync.table, self.sync
        pick = (tab.frame >= start) & (tab.frame <= stop) & tab.predicted
        insts = [
            inst
            for inst in sync.instances_where(pick)
            if want is None or inst.track is want
        ]
        if not insts:
            raise ValueError(f"delete: no predicted instances in frames {start}-{stop}")
        frames = [sync.frame_of(i) for i in insts]
        return self.push(DeleteInstances(self.labels, instances=insts, frames=frames))

    def undo(self) -> None:
        """Undo the latest edit (labeling or proofreading)."""
        history_step(self.viewer, said=self.status.setText)

    def redo(self) -> None:
        """Redo the latest undone edit."""
        history_step(self.viewer, redo=True, said=self.status.setText)

    def _on_command(self, command: Any) -> None:
        self._update_buttons()

    def _on_edit(self) -> None:
        """After the layer sync applied an edit (it updated the Tracks layer too)."""
        names = [t.name for t in self.labels.tracks]
        if names != [self.track_a.itemText(i) for i in range(self.track_a.count())]:
            self.refresh()  # a track added, removed or renamed

    def update_tracks_layer(self) -> Any:
        """Recompute the Tracks layer of the instances layer now."""
        sync = self.sync
        return follow_tracks(self.viewer, sync.layer).update()

    # -------------------------------------------------------------- swaps

    def find_swaps(self) -> list[SwapEvent]:
        """Rank likely identity swaps of the layer's video and list them."""
        labels = self.labels
        self.events = likely_swaps(labels, self.sync.video)
        names = [t.name for t in labels.tracks]
        self.swap_list.clear()
        for k, event in enumerate(self.events):
            item = QListWidgetItem(f"{k + 1}. {describe(event, names)}")
            self.swap_list.addItem(item)
        self._cursor = -1
        self.status.setText(
            f"{len(self.events)} places to check; press {NEXT_KEY.upper()} for the next"
        )
        return self.events

    def _on_item(self, item: QListWidgetItem) -> None:
        self.go_to_swap(self.swap_list.row(item))

    def go_to_swap(self, k: int) -> SwapEvent:
        """Jump to event ``k`` and pre-select its tracks for a swap."""
        event = self.events[k]
        self._cursor = k
        self.swap_list.setCurrentRow(k)
        self.viewer.dims.set_current_step(0, event.frame)
        names = [t.name for t in self.labels.tracks]
        if len(event.tracks) >= 1:
            self.track_a.setCurrentText(names[event.tracks[0]])
        if len(event.tracks) >= 2:
            self.track_b.setCurrentText(names[event.tracks[1]])
        self.start_spin.setValue(event.frame)
        self.stop_spin.setValue(event.frame)
        return event

    def next_swap(self, direction: int = 1) -> SwapEvent | None:
        """Go to the next (or previous) ranked swap; finds them first if needed."""
        if not self.events:
            self._guard(self.find_swaps)
        if not self.events:
            return None
        k = min(max(self._cursor + direction, 0), len(self.events) - 1)
        return self.go_to_swap(k)


def _button(text: str, tip: str, slot: Callable[[], Any]) -> QPushButton:
    b = QPushButton(text)
    b.setToolTip(tip)
    b.clicked.connect(lambda *_: _run(b, slot))
    return b


def _run(button: QPushButton, slot: Callable[[], Any]) -> None:
    panel = button.parent()
    while panel is not None and not isinstance(panel, ProofreadPanel):
        panel = panel.parent()
    if panel is None:
        slot()
    else:
        panel._guard(slot)
