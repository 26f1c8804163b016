"""The proofreading panel: fix identities with undoable track edits.

Swap two tracks from the current frame on, put the selected instance on a
track, delete predicted instances in a frame range, and walk a ranked list of
likely identity swaps (:mod:`napari_sleap.track.swaps`) with one key (J next,
K previous). Every edit is a command on the viewer's shared undo stack (the one
the labeling dock uses), so Ctrl+Z undoes it; the instances layer changes only
the touched rows and the Tracks layer is recomputed from arrays after each edit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import sleap_io as sio
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from napari_sleap.convert import META_KEY, layer_meta
from napari_sleap.labeling import AssignTrack, DeleteInstances
from napari_sleap.styles import DEFAULT_STYLE
from napari_sleap.track.proofread import SwapTracks
from napari_sleap.track.swaps import SwapEvent, describe, likely_swaps
from napari_sleap.widgets.instances import InstancesSync
from napari_sleap.widgets.labeling import live_syncs, undo_stack

if TYPE_CHECKING:
    import napari

ALL_TRACKS = "(all tracks)"
#: Keys of the swap list (napari key strings).
NEXT_KEY, PREV_KEY = "j", "k"


def instance_tracks_data(sync: InstancesSync) -> tuple[np.ndarray, np.ndarray]:
    """Tracks layer rows ``(track, frame, y, x)`` from the live instances layer.

    Centroids of each instance's shown rows, read straight from the layer
    arrays (no pass over the Labels), so it stays fast for long recordings.

    Returns:
        ``(data, track)``: rows sorted by track then frame, one per track and
        frame, and the track index of each row.
    """
    tab = sync.table
    n = np.asarray(tab.n_nodes, dtype=np.int64)
    if not len(n):
        return np.zeros((0, 4)), np.zeros(0, np.int64)
    width = int(n.max())
    rows = sync.row_start[:, None] + np.arange(width)[None]
    valid = np.arange(width)[None] < n[:, None]
    rows = np.where(valid, rows, 0)
    shown = np.asarray(sync.layer.shown)[rows] & valid
    yx = np.asarray(sync.layer.data)[rows][..., 1:3]
    count = shown.sum(axis=1)
    center = (yx * shown[..., None]).sum(axis=1) / np.maximum(count, 1)[:, None]
    keep = (tab.track >= 0) & (count > 0)
    track, frame, center = tab.track[keep], tab.frame[keep], center[keep]
    order = np.lexsort((frame, track))
    track, frame, center = track[order], frame[order], center[order]
    first = np.ones(len(track), dtype=bool)
    first[1:] = (track[1:] != track[:-1]) | (frame[1:] != frame[:-1])
    track, frame, center = track[first], frame[first], center[first]
    data = np.column_stack([track, frame, center]).astype(np.float64)
    return data, track


#: Retrack edits touching more instances than this take the vectorized path.
FAST_RETRACK_MIN = 32


def _retrack_only(command: Any) -> bool:
    """True for a command that changed only instances' tracks (a swap, say)."""
    if command._removed:
        return False
    return not any(
        getattr(command, name, None)
        for name in ("_added", "_new_frames", "_old_points", "_replaced")
    )


def retrack_rows(sync: InstancesSync, command: Any) -> np.ndarray:
    """Apply a track-only edit to the layer in a few array operations.

    The per-frame refresh of :class:`InstancesSync` costs ~1 ms a frame; a swap
    from the middle of a 100,000-frame recording touches 50,000 frames. Only the
    tracks changed, so the table's track column, the rows' ``track`` feature,
    border colors and edge colors are rewritten at once. Returns the rows.
    """
    labels, layer, tab = sync.labels, sync.layer, sync.table
    where = {id(obj): i for i, obj in enumerate(sync.inst_objs)}
    track_idx = {id(t): i for i, t in enumerate(labels.tracks)}
    seen: dict[int, int] = {}
    for inst, _ in command._retracked:
        i = where.get(id(inst))
        if i is not None:
            seen[i] = -1 if inst.track is None else track_idx[id(inst.track)]
    if not seen:
        return np.zeros(0, np.int64)
    ids = np.fromiter(seen.keys(), np.int64, len(seen))
    new = np.fromiter(seen.values(), np.int64, len(seen))
    tab.track[ids] = new
    n = tab.n_nodes[ids]
    rows = np.repeat(sync.row_start[ids], n) + (
        np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    )
    row_track = np.repeat(new, n)
    n_tracks = len(labels.tracks)
    meta = layer.metadata[META_KEY]
    if len(meta["track_colors"]) != n_tracks:
        meta["track_colors"] = sync.style.tracks.track_colors(n_tracks)
    feats = layer.features
    names = np.asarray([t.name for t in labels.tracks] + [""], dtype=object)
    feats.iloc[rows, feats.columns.get_loc("track")] = names[row_track]
    colors = sync.style.tracks.colors_for(row_track, n_tracks)
    layer.border_color[rows] = colors
    link = sync._link()
    if link is not None and len(link.src):
        by_row = np.full(len(layer.data), -2, np.int64)
        by_row[rows] = row_track
        hit = by_row[link.src] > -2
        link.colors[hit] = sync.style.tracks.colors_for(by_row[link.src[hit]], n_tracks)
        link.show()
    layer.refresh()
    return rows


def install_fast_retrack(sync: InstancesSync) -> None:
    """Route big track-only edits of ``sync`` through :func:`retrack_rows`."""
    if getattr(sync, "_fast_retrack", False):
        return
    original = sync._on_command

    def on_command(command: Any) -> None:
        if (
            _retrack_only(command)
            and len(command._retracked) >= FAST_RETRACK_MIN
            and len(sync.labels.tracks)
            == len(sync.layer.metadata[META_KEY]["track_colors"])
        ):
            sync._open_move = None
            retrack_rows(sync, command)
            for callback in sync.edited:
                callback()
        else:
            original(command)

    listeners = sync.stack.listeners
    if original in listeners:
        listeners[listeners.index(original)] = on_command
    sync._on_command = on_command  # disconnect() removes this one
    sync._fast_retrack = True


class ProofreadPanel(QWidget):
    """Dock widget for identity proofreading of the newest instances layer.

    Args:
        napari_viewer: The viewer (napari passes it).
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.stack = undo_stack(napari_viewer)
        self._own_sync: InstancesSync | None = None
        self.events: list[SwapEvent] = []
        self._cursor = -1
        self._build()
        self.stack.listeners.append(self._on_command)
        napari_viewer.layers.events.inserted.connect(lambda e: self.refresh())
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
        grid.addWidget(
            _button(
                "Swap from this frame on",
                "Exchange the two tracks from the current frame to the end",
                self.swap_from_here,
            ),
            1,
            0,
            1,
            2,
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
                self._own_sync = InstancesSync(points, edges, self.stack)
            found = self._own_sync
        if self._on_edit not in found.edited:
            found.edited.append(self._on_edit)
        install_fast_retrack(found)
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

    def swap_from_here(self) -> Any:
        """Exchange tracks A and B from the current frame to the end."""
        a, b = (
            self._track(self.track_a.currentText()),
            self._track(self.track_b.currentText()),
        )
        if a is b:
            raise ValueError("swap: pick two different tracks")
        return self.push(
            SwapTracks(self.labels, a, b, start=self.frame, video=self.sync.video)
        )

    def selected_instance(self) -> sio.Instance:
        """The instance of the selected point(s) (exactly one)."""
        layer = self.sync.layer
        rows = sorted(layer.selected_data)
        insts = {id(i): i for i in (self.sync.instance_at_row(r) for r in rows)}
        if len(insts) != 1:
            raise ValueError("assign: select the points of exactly one instance")
        return next(iter(insts.values()))

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
            sync.inst_objs[i]
            for i in np.nonzero(pick)[0]
            if want is None or sync.inst_objs[i].track is want
        ]
        if not insts:
            raise ValueError(f"delete: no predicted instances in frames {start}-{stop}")
        frames = [sync._inst_frame[id(i)] for i in insts]
        return self.push(DeleteInstances(self.labels, instances=insts, frames=frames))

    def undo(self) -> None:
        """Undo the latest edit (labeling or proofreading)."""
        if self.stack.can_undo:
            self.sync.undo()

    def redo(self) -> None:
        """Redo the latest undone edit."""
        if self.stack.can_redo:
            self.sync.redo()

    def _on_command(self, command: Any) -> None:
        self._update_buttons()

    def _on_edit(self) -> None:
        """After the layer sync applied an edit: tracks layer and track lists."""
        self.update_tracks_layer()
        if len(self.labels.tracks) != self.track_a.count():
            self.refresh()

    def update_tracks_layer(self) -> Any:
        """Recompute the Tracks layer of the instances layer from its arrays."""
        from napari_sleap._reader import _tracks_colormap

        sync = self.sync
        meta = layer_meta(sync.layer)
        layer = self._layer_with("tracks", meta.get("link"))
        data, track = instance_tracks_data(sync)
        n_tracks = len(sync.labels.tracks)
        names = np.asarray([t.name for t in sync.labels.tracks], dtype=object)
        kwargs = _tracks_colormap(
            {
                "properties": {"track_id": track, "track": names[track]},
                "metadata": {
                    META_KEY: {
                        "track_colors": DEFAULT_STYLE.tracks.track_colors(n_tracks)
                    }
                },
            }
        )
        if layer is None:
            if not len(data):
                return None
            style = DEFAULT_STYLE.trajectories
            layer = self.viewer.add_tracks(
                data,
                name=sync.layer.name.replace("instances", "tracks", 1),
                tail_length=style.tail_length,
                tail_width=style.tail_width,
                metadata={META_KEY: {"role": "tracks", "link": meta.get("link")}},
            )
            # keep the points on top
            self.viewer.layers.move(
                self.viewer.layers.index(layer), self.viewer.layers.index(sync.layer)
            )
        if not len(data):
            layer.visible = False
            return layer
        layer.visible = True
        layer.color_by = "track_id"  # the old color column goes with the old data
        layer.data = data
        layer.properties = kwargs["properties"]
        if "colormaps_dict" in kwargs:
            layer.colormaps_dict = kwargs["colormaps_dict"]
            layer.color_by = kwargs["color_by"]
        return layer

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
