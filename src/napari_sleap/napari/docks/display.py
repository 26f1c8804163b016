"""What the canvas shows besides the points: track names, node names, legend, tails.

:class:`NamesOverlay` keeps a small text-only Points layer ("names") with one row
per instance of the current frame, placed just above the animal and labelled with
its track name in the track's color; it follows frame steps and edits. Node
names are the instances layer's own text (a feature column), shown on request.
:class:`DisplayPanel` holds the switches, the tail settings and a node legend
(which body part has which color); the Labeling dock embeds it.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from napari_sleap.napari.docks.skeleton_picker import real
from napari_sleap.napari.layers.convert import META_KEY, layer_meta
from napari_sleap.napari.layers.styles import DEFAULT_STYLE

if TYPE_CHECKING:
    import napari

#: The names overlay of each instances layer (one, whichever dock asked first).
_OVERLAYS: weakref.WeakKeyDictionary[Any, NamesOverlay] = weakref.WeakKeyDictionary()

#: Color of the name of an instance without a track.
UNTRACKED = "#d9d9d9"

#: Node-name text on the instances layer: the ``node`` feature, hidden at first so
#: napari's "display text" box is never ticked with nothing to show.
NODE_TEXT = {
    "string": {"feature": "node"},
    "visible": False,
    "size": 8,
    "color": "white",
    "anchor": "upper_left",
}


def _hex(rgba: Any) -> str:
    r, g, b = (int(round(float(c) * 255)) for c in np.asarray(rgba)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def instances_layer(viewer: Any) -> Any:
    """The newest napari-sleap instances layer in ``viewer`` (None: none)."""
    for layer in reversed(list(viewer.layers)):
        if layer_meta(layer).get("role") == "instances":
            return layer
    return None


def show_node_names(points: Any, show: bool) -> None:
    """Show or hide each point's node name (the instances layer's text)."""
    if not isinstance(getattr(points.text.string, "feature", None), str):
        points.text = NODE_TEXT
    points.text.visible = bool(show)


def name_anchors(
    data: np.ndarray,
    features: Any,
    shown: np.ndarray | None = None,
    frame: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where to write each instance's name, and which track it has.

    Args:
        data: Instances-layer rows ``(frame, y, x)``.
        features: Their features (``instance``, ``visible``, ``track``).
        shown: Rows drawn (None: all).
        frame: Only this frame's instances (None: every frame's).

    Returns:
        ``(fyx, instance_ids, track_names)``: per instance, its frame and the
        point just above its topmost visible node, centered on its nodes.
    """
    data = np.asarray(data)
    empty = np.zeros((0, 3)), np.zeros(0, np.int64), np.zeros(0, object)
    if not len(data):
        return empty
    here = np.asarray(features["visible"], dtype=bool).copy()
    if frame is not None:
        here &= np.rint(data[:, 0]) == frame
    if shown is not None:
        here &= np.asarray(shown, dtype=bool)
    inst = np.asarray(features["instance"], dtype=np.int64)
    here &= inst >= 0
    rows = np.nonzero(here)[0]
    if not len(rows):
        return empty
    ids, first, local = np.unique(inst[rows], return_index=True, return_inverse=True)
    fyx = data[rows, :3]
    top = np.full(len(ids), np.inf)
    bottom = np.full(len(ids), -np.inf)
    np.minimum.at(top, local, fyx[:, 1])
    np.maximum.at(bottom, local, fyx[:, 1])
    xmean = np.bincount(local, fyx[:, 2], len(ids)) / np.bincount(local, None, len(ids))
    pad = 4.0 + 0.12 * (bottom - top)
    tracks = np.asarray(features["track"], dtype=object)[rows[first]]
    frames = np.rint(fyx[first, 0])
    return np.column_stack([frames, top - pad, xmean]), ids, tracks


class NamesOverlay:
    """Track names beside the animals, as a text-only layer.

    The layer holds one name per tracked instance of every frame the instances
    layer holds, so a frame step costs napari's own slicing only; edits refill
    it once they pause (a drag sends many data events).

    Args:
        viewer: The viewer.
        points: The instances layer whose animals are named.
    """

    def __init__(self, viewer: napari.Viewer, points: Any) -> None:
        self.viewer = real(viewer)
        self.points = points = real(points)
        self.layer = self._add_layer()
        from qtpy.QtCore import QTimer

        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(40)
        self._timer.timeout.connect(self.update)
        points.events.data.connect(self.schedule)
        points.events.features.connect(self.schedule)
        viewer.layers.events.removed.connect(self._on_removed)
        self.update()

    def schedule(self, event: Any = None) -> None:
        """Refill the names soon (edits and window refills come in bursts)."""
        self._timer.start()

    def _add_layer(self) -> Any:
        from napari.layers import Points

        meta = layer_meta(self.points)
        layer = Points(
            np.zeros((0, 3)),
            name=self.points.name.replace("instances", "names", 1),
            features={"label": np.zeros(0, object), "color": np.zeros(0, object)},
            text={
                "string": {"feature": "label"},
                "color": {"feature": "color"},
                "size": 11,
                "anchor": "center",
            },
            size=1,
            face_color="transparent",
            border_width=0,
            opacity=1.0,
            metadata={META_KEY: {"role": "names", "link": meta.get("link")}},
        )
        layer.editable = False
        layers = self.viewer.layers
        active = layers.selection.active
        below = self._edges_index()
        layers.insert(below, layer)  # under the edges: points and lines stay on top
        if active is not None and active in layers:
            layers.selection.active = active
        return layer

    def _edges_index(self) -> int:
        link = layer_meta(self.points).get("link")
        layers = list(self.viewer.layers)
        for i, layer in enumerate(layers):
            meta = layer_meta(layer)
            if meta.get("role") == "edges" and meta.get("link") == link:
                return i
        return layers.index(self.points)

    @property
    def visible(self) -> bool:
        """Whether the names are drawn."""
        return bool(self.layer.visible)

    @visible.setter
    def visible(self, value: bool) -> None:
        self.layer.visible = bool(value)
        self.update()

    def labels(self) -> tuple[np.ndarray, list[str], list[str]]:
        """The names to draw: positions ``(k, 3)`` as (frame, y, x), texts, colors."""
        points = self.points
        fyx, _, tracks = name_anchors(points.data, points.features, points.shown)
        meta = layer_meta(points)
        labels = meta.get("labels")
        names = [t.name for t in labels.tracks] if labels is not None else []
        colors = meta.get("track_colors")
        if colors is None or len(colors) < len(names):
            colors = DEFAULT_STYLE.tracks.track_colors(len(names))
        index = {n: i for i, n in enumerate(names)}
        texts, hexes = [], []
        for track in tracks:
            name = "" if track is None or (isinstance(track, float)) else str(track)
            texts.append(name)
            hexes.append(_hex(colors[index[name]]) if name in index else UNTRACKED)
        return fyx, texts, hexes

    def update(self, event: Any = None) -> None:
        """Refill the names from the instances layer now (only what changed).

        napari's Points setters cost tens of ms whatever the size, so unchanged
        names are left alone and moved ones only get new positions.
        """
        if not self.layer.visible:
            return
        data, texts, colors = self.labels()
        keep = [i for i, t in enumerate(texts) if t]
        data = data[keep] if len(data) else data
        labels = np.asarray([texts[i] for i in keep], dtype=object)
        hexes = np.asarray([colors[i] for i in keep], dtype=object)
        old = self.layer.features
        same_names = (
            len(labels) == len(old)
            and np.array_equal(np.asarray(old["label"], dtype=object), labels)
            and np.array_equal(np.asarray(old["color"], dtype=object), hexes)
        )
        if same_names:
            if not np.array_equal(np.asarray(self.layer.data), data):
                self.layer.data = data  # same rows: the features stay
            return
        self.layer.data = data
        self.layer.features = {"label": labels, "color": hexes}
        self.layer.text.refresh(self.layer.features)

    def disconnect(self) -> None:
        """Stop following the instances layer and remove the names layer."""
        self._timer.stop()
        for emitter, slot in (
            (self.points.events.data, self.schedule),
            (self.points.events.features, self.schedule),
            (self.viewer.layers.events.removed, self._on_removed),
        ):
            emitter.disconnect(slot)
        if self.layer in self.viewer.layers:
            self.viewer.layers.remove(self.layer)
        _OVERLAYS.pop(self.points, None)

    def _on_removed(self, event: Any) -> None:
        if event.value is self.points:
            self.disconnect()


def names_overlay(viewer: napari.Viewer, points: Any) -> NamesOverlay:
    """The names overlay of ``points`` (made on first use)."""
    viewer, points = real(viewer), real(points)
    overlay = _OVERLAYS.get(points)
    if overlay is None or overlay.layer not in viewer.layers:
        overlay = NamesOverlay(viewer, points)
        _OVERLAYS[points] = overlay
    return overlay


class NodeLegend(QWidget):
    """Which body part is which color: a swatch and a name per node."""

    def __init__(self, columns: int = 3) -> None:
        super().__init__()
        self.columns = columns
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(8)
        self.grid.setVerticalSpacing(2)
        self.entries: list[tuple[str, str]] = []

    def set_nodes(self, names: list[str]) -> None:
        """Show ``names`` with the node palette the instances layer uses."""
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        colors = DEFAULT_STYLE.points.node_colors(len(names))
        self.entries = [(n, _hex(c)) for n, c in zip(names, colors, strict=True)]
        for i, (name, color) in enumerate(self.entries):
            cell = QWidget()
            row = QHBoxLayout(cell)
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(4)
            swatch = QLabel()
            swatch.setFixedSize(12, 12)
            swatch.setStyleSheet(f"background-color: {color}; border-radius: 6px;")
            row.addWidget(swatch)
            label = QLabel(name)
            label.setToolTip(f"{name}: {color}")
            row.addWidget(label, 1)
            self.grid.addWidget(cell, i // self.columns, i % self.columns)


class DisplayPanel(QGroupBox):
    """Switches for names on the canvas, track tails, and the node legend.

    Follows the newest instances layer of the viewer (opened or started later).

    Args:
        viewer: The viewer.
    """

    def __init__(self, viewer: napari.Viewer) -> None:
        super().__init__("Display")
        self.viewer = viewer = real(viewer)
        self.points: Any = None
        self.overlay: NamesOverlay | None = None
        grid = QGridLayout(self)
        self.track_names = QCheckBox("track names")
        self.track_names.setChecked(True)
        self.track_names.setToolTip("Write each animal's track name beside it")
        self.track_names.toggled.connect(self._on_track_names)
        self.node_names = QCheckBox("node names")
        self.node_names.setToolTip("Write the body part name beside each point")
        self.node_names.toggled.connect(self._on_node_names)
        grid.addWidget(self.track_names, 0, 0)
        grid.addWidget(self.node_names, 0, 1)
        style = DEFAULT_STYLE.trajectories
        self.tail_length = QSpinBox()
        self.tail_length.setRange(0, 100_000)
        self.tail_length.setValue(style.tail_length)
        self.tail_length.setSuffix(" frames")
        self.tail_length.setToolTip("Track tail: frames of history drawn")
        self.tail_width = QSpinBox()
        self.tail_width.setRange(1, 20)
        self.tail_width.setValue(int(style.tail_width))
        self.tail_width.setSuffix(" px")
        self.tail_width.setToolTip("Track tail: line width")
        self.tail_length.valueChanged.connect(lambda *_: self.apply_tails())
        self.tail_width.valueChanged.connect(lambda *_: self.apply_tails())
        tails = QHBoxLayout()
        tails.addWidget(QLabel("tails"))
        tails.addWidget(self.tail_length, 1)
        tails.addWidget(self.tail_width, 1)
        grid.addLayout(tails, 1, 0, 1, 2)
        self.legend = NodeLegend()
        grid.addWidget(self.legend, 2, 0, 1, 2)
        viewer.layers.events.inserted.connect(self._on_inserted)
        viewer.layers.events.removed.connect(self._on_removed)
        self.attach()

    def attach(self) -> None:
        """Follow the newest instances layer (if not already)."""
        points = instances_layer(self.viewer)
        if points is self.points:
            return
        self.points = points
        self.overlay = None
        if points is None:
            self.legend.set_nodes([])
            return
        show_node_names(points, self.node_names.isChecked())
        self.overlay = names_overlay(self.viewer, points)
        self.overlay.visible = self.track_names.isChecked()
        self.refresh_legend()
        self.apply_tails()

    def refresh_legend(self) -> None:
        """Redraw the legend from the skeleton of the open labels."""
        labels = layer_meta(self.points).get("labels") if self.points else None
        skeletons = labels.skeletons if labels is not None else []
        self.legend.set_nodes(skeletons[0].node_names if skeletons else [])

    def tracks_layers(self) -> list[Any]:
        """The Tracks layers of the followed labels."""
        if self.points is None:
            return []
        link = layer_meta(self.points).get("link")
        return [
            la
            for la in self.viewer.layers
            if layer_meta(la).get("role") == "tracks"
            and layer_meta(la).get("link") in (link, None)
        ]

    def apply_tails(self) -> None:
        """Set the tail length and width of the Tracks layers."""
        for layer in self.tracks_layers():
            layer.tail_length = self.tail_length.value()
            layer.tail_width = self.tail_width.value()
            layer.blending = DEFAULT_STYLE.trajectories.blending

    def _on_track_names(self, on: bool) -> None:
        if self.overlay is not None:
            self.overlay.visible = on

    def _on_node_names(self, on: bool) -> None:
        if self.points is not None:
            show_node_names(self.points, on)

    def _on_inserted(self, event: Any) -> None:
        role = layer_meta(event.value).get("role")
        if role == "instances":
            self.attach()
        elif role == "tracks":
            self.apply_tails()

    def _on_removed(self, event: Any) -> None:
        if event.value is self.points:
            self.points = None
            self.attach()
