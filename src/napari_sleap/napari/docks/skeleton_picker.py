"""Start labeling a bare video in one step: pick a skeleton, press Start.

The Labeling dock shows this panel while a video is open without labels. The
skeleton comes from a built-in template (:mod:`napari_sleap.labeling.templates`),
a ``.slp`` or skeleton JSON file, the skeleton used last in this viewer, or a new
one built in the Skeleton dock. :func:`start_labels` makes empty labels on the
video and adds the instances and edges layers, as opening a ``.slp`` would.
The last skeleton is remembered per viewer, so the Skeleton dock and this panel
offer it again after the labels close or a dock reopens.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sleap_io as sio
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
)

from napari_sleap.io.video_images import find_images
from napari_sleap.labeling.skeleton_io import load_skeleton
from napari_sleap.labeling.templates import TEMPLATES
from napari_sleap.napari.docks.buttons import button
from napari_sleap.napari.layers.convert import META_KEY, labels_to_layers, layer_meta

if TYPE_CHECKING:
    import napari

#: The skeleton used or drafted last, per viewer (forgotten with the viewer).
_MEMORY: weakref.WeakKeyDictionary[Any, sio.Skeleton] = weakref.WeakKeyDictionary()

#: Choice keys besides the template names.
FROM_SLP, FROM_JSON, LAST, NEW = "from_slp", "from_json", "last", "new"


def real(obj: Any) -> Any:
    """The napari object behind the proxy napari hands a plugin dock (else ``obj``).

    Each dock gets its own short-lived proxy of the viewer (and of its layers);
    registries keyed by the viewer must use the object behind it.
    """
    module = getattr(type(obj), "__module__", "") or ""
    if module.startswith("napari.") and hasattr(obj, "__wrapped__"):
        return real(obj.__wrapped__)
    return obj


def remembered(viewer: Any) -> sio.Skeleton | None:
    """The skeleton used or drafted last in ``viewer`` (None: none yet)."""
    return _MEMORY.get(real(viewer))


def remember(viewer: Any, skeleton: sio.Skeleton) -> None:
    """Keep ``skeleton`` as the viewer's last skeleton."""
    _MEMORY[real(viewer)] = skeleton


def has_labels(viewer: Any) -> bool:
    """Whether an instances layer (open labels) is in ``viewer``."""
    return any(layer_meta(la).get("role") == "instances" for la in viewer.layers)


def video_layer(viewer: Any) -> Any:
    """The newest Image layer read from a file (a video to label), or None."""
    for layer in reversed(list(viewer.layers)):
        if type(layer).__name__ == "Image" and _layer_path(layer):
            return layer
    return None


def _layer_path(layer: Any) -> str | None:
    path = getattr(getattr(layer, "source", None), "path", None)
    return str(path) if path else None


def _sleap_video(path: str, shape: tuple[int, ...]) -> sio.Video:
    """A sleap-io Video for ``path``; a media file is not opened (napari has it)."""
    p = Path(path)
    if p.is_dir() and not p.name.endswith(".zarr"):
        files = [str(f) for f in find_images(p)]  # the reader's frame order
        # an image list must carry its backend to be written as SLEAP's ImageVideo
        # (cheap: one image read); media files stay closed (the viewer reads them)
        return sio.Video.from_filename(files)
    video = sio.Video(filename=str(p), open_backend=False)
    n, h, w = shape[:3]
    channels = shape[3] if len(shape) > 3 else 1
    video.backend_metadata["shape"] = (n, h, w, channels)
    return video


def start_labels(
    viewer: napari.Viewer, skeleton: sio.Skeleton, *, source: str | Path | None = None
) -> sio.Labels:
    """Start empty labels with ``skeleton`` on the viewer's open video.

    Adds the instances (Points) and edges (Vectors) layers the plugin's reader
    makes for a ``.slp``; the labels save by default beside the video as
    ``<video>.slp`` (or to ``source``).

    Raises:
        ValueError: no video is open, labels are already open, or the skeleton
            has no nodes (each message says what to do).
    """
    from napari.layers import Layer

    from napari_sleap.napari.sync.skeleton_link import install

    if has_labels(viewer):
        raise ValueError(
            "labels are already open: edit their skeleton in the Skeleton dock"
        )
    if len(skeleton.nodes) == 0:
        raise ValueError(
            "the skeleton has no nodes: add nodes in the Skeleton dock or choose a "
            "template"
        )
    image = video_layer(viewer)
    if image is None:
        raise ValueError(
            "open a video first (File > Open, e.g. an .mp4), then start labeling"
        )
    path = _layer_path(image)
    rgb = bool(getattr(image, "rgb", False))
    shape = tuple(int(s) for s in np.shape(image.data))
    shape = (*shape[:3], shape[3]) if rgb else shape[:3]
    video = _sleap_video(path, shape)
    labels = sio.Labels(videos=[video], skeletons=[skeleton])
    p = Path(path)
    target = Path(source) if source else p.with_name(f"{p.stem}.slp")
    for data, kwargs, kind in labels_to_layers(labels):
        if kind == "tracks":
            continue
        kwargs["metadata"][META_KEY]["source"] = str(target)
        if kind == "points":  # napari rejects empty per-point color arrays
            for key in ("face_color", "border_color", "shown"):
                kwargs.pop(key, None)
        viewer.add_layer(Layer.create(data, kwargs, kind))
    install(viewer)
    remember(viewer, skeleton)
    points = next(
        la for la in viewer.layers if layer_meta(la).get("role") == "instances"
    )
    viewer.layers.selection.active = points
    return labels


class SkeletonPicker(QGroupBox):
    """The "Start labeling" panel: choose a skeleton for the open video, start.

    Shown only while a video is open and no labels are; it hides itself once
    labels open and comes back when they close.

    Args:
        viewer: The viewer.
        open_editor: Shows the Skeleton dock for a new skeleton (the Labeling
            dock or the workbench passes how); default adds the plugin's dock.
    """

    def __init__(
        self, viewer: napari.Viewer, open_editor: Callable[[], Any] | None = None
    ) -> None:
        super().__init__("Start labeling this video")
        self.viewer = viewer = real(viewer)
        self.open_editor = open_editor or self._add_skeleton_dock
        #: Asks for a file (tests replace it): ``ask_file(title, filter) -> path``.
        self.ask_file: Callable[[str, str], str] = self._ask_file
        lay = QVBoxLayout(self)
        self.hint = QLabel("Choose a skeleton, then press Start:")
        self.hint.setWordWrap(True)
        lay.addWidget(self.hint)
        row = QHBoxLayout()
        self.combo = QComboBox()
        self.combo.setToolTip("Where the skeleton (body parts and lines) comes from")
        # long template titles must not widen the dock: elide instead
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.setMinimumContentsLength(18)
        row.addWidget(self.combo, 1)
        self.start_btn = button(
            "Start", "Make empty labels on this video with the skeleton", self.start
        )
        row.addWidget(self.start_btn)
        lay.addLayout(row)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        lay.addWidget(self.message)
        self.fill()
        viewer.layers.events.inserted.connect(self._on_layers)
        viewer.layers.events.removed.connect(self._on_layers)
        self._on_layers()

    # ------------------------------------------------------------ choices

    def fill(self) -> None:
        """List the choices (the remembered skeleton first, when there is one)."""
        keep = self.combo.currentData()
        self.combo.clear()
        last = remembered(self.viewer)
        if last is not None and len(last.nodes):
            self.combo.addItem(
                f"last used: {last.name or 'skeleton'} ({len(last.nodes)} nodes)", LAST
            )
        for name, template in TEMPLATES.items():
            self.combo.addItem(f"template: {template.title}", name)
        self.combo.addItem("from a .slp file...", FROM_SLP)
        self.combo.addItem("from a skeleton JSON file...", FROM_JSON)
        self.combo.addItem("new: build it in the Skeleton editor...", NEW)
        if keep is not None:
            self.choose(keep)

    def choices(self) -> list[str]:
        """The keys of the choices, in menu order."""
        return [self.combo.itemData(i) for i in range(self.combo.count())]

    def choose(self, key: str) -> None:
        """Select the choice ``key``: a template, from_slp, from_json, last, new."""
        i = self.combo.findData(key)
        if i < 0:
            raise ValueError(f"no skeleton choice {key!r}; choices: {self.choices()}")
        self.combo.setCurrentIndex(i)

    def _on_layers(self, event: Any = None) -> None:
        show = video_layer(self.viewer) is not None and not has_labels(self.viewer)
        if show:
            self.fill()
        self.setVisible(show)

    # ------------------------------------------------------------- action

    def skeleton(self) -> sio.Skeleton | None:
        """The chosen skeleton (asks for a file where needed; None: cancelled)."""
        key = self.combo.currentData()
        if key in TEMPLATES:
            return TEMPLATES[key].skeleton()
        if key == LAST:
            last = remembered(self.viewer)
            return copy.deepcopy(last) if last is not None else None
        if key in (FROM_SLP, FROM_JSON):
            pattern = "SLEAP labels (*.slp)" if key == FROM_SLP else "JSON (*.json)"
            name = self.ask_file("Skeleton from file", pattern)
            return load_skeleton(name) if name else None
        return None

    def start(self) -> sio.Labels | None:
        """Start labeling with the chosen skeleton; errors show below the choice."""
        if self.combo.currentData() == NEW:
            self.open_editor()
            self.message.setText(
                "Add nodes in the Skeleton dock, then press its New labels button "
                "(or come back here: 'last used' offers that skeleton)"
            )
            return None
        try:
            skeleton = self.skeleton()
            if skeleton is None:
                self.message.setText("No skeleton chosen")
                return None
            labels = start_labels(self.viewer, skeleton)
        except (ValueError, FileNotFoundError) as err:
            self.message.setText(str(err))
            return None
        self.message.setText("")
        return labels

    def _ask_file(self, title: str, pattern: str) -> str:
        name, _ = QFileDialog.getOpenFileName(self, title, "", pattern)
        return name

    def _add_skeleton_dock(self) -> None:
        self.viewer.window.add_plugin_dock_widget("napari-sleap", "Skeleton")
