"""The Missing videos panel: point open labels at a video that moved (as SLEAP does).

Opening a .slp whose video is not where it recorded (or whose same-named file is
another video) opens this panel by itself: type or browse to the file, or pick a
folder to search for its name. The file is checked against the labels
(:mod:`napari_sleap.io.relink`: size and frames) before it is used; then its
Image layer goes under the labels, and the next save writes the new path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import sleap_io as sio
from qtpy.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from napari_sleap.io.labels import VideoMismatchError, find_missing_videos
from napari_sleap.io.relink import (
    recorded_name,
    relink_video,
    search_folder,
    unusable_videos,
)
from napari_sleap.io.video_media import MEDIA_EXTS
from napari_sleap.napari.compat import unproxied
from napari_sleap.napari.docks.buttons import button
from napari_sleap.napari.layers.convert import layer_meta
from napari_sleap.napari.layers.video import labels_video_layer

if TYPE_CHECKING:
    import napari

#: The panel's name in napari.yaml (Plugins > napari-sleap > ...).
PANEL = "Missing videos"


class Pending(NamedTuple):
    """One video of open labels still without a usable file."""

    labels: sio.Labels
    video: sio.Video
    index: int
    source: str
    points: Any


def pending_videos(viewer: Any) -> list[Pending]:
    """Every video of the viewer's open labels that has no usable file yet."""
    out: list[Pending] = []
    seen: set[int] = set()
    for layer in viewer.layers:
        meta = layer_meta(layer)
        labels = meta.get("labels")
        if meta.get("role") != "instances" or labels is None:
            continue
        index = meta.get("video_index", 0)
        for video in unusable_videos(labels):
            # one instances layer per video: each missing video listed once, by
            # identity (two videos of one name compare equal)
            if id(video) in seen or video is not labels.videos[index]:
                continue
            seen.add(id(video))
            out.append(Pending(labels, video, index, meta.get("source") or "", layer))
    return out


class RelinkPanel(QWidget):
    """Locate each missing video of the open labels: path, Browse..., Search folder.

    Args:
        napari_viewer: The viewer (napari passes it).
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = unproxied(napari_viewer)
        #: The file dialog now open (non-native, so it looks and types the same
        #: on every system), or None.
        self.dialog: QFileDialog | None = None
        self.pending: list[Pending] = []
        root = QVBoxLayout(self)
        self.what = QLabel()
        self.what.setWordWrap(True)
        root.addWidget(self.what)
        self.path_edit = QLineEdit()
        self.path_edit.setToolTip("The video's new path; Enter relinks it")
        self.path_edit.returnPressed.connect(self.relink_typed)
        root.addWidget(self.path_edit)
        row = QHBoxLayout()
        self.buttons = [
            button("Relink", "Use the path typed above", self.relink_typed),
            button("Browse...", "Choose the video file", self.browse),
            button("Search folder...", "Find it by name", self.browse_folder),
        ]
        for b in self.buttons:
            row.addWidget(b)
        root.addLayout(row)
        self.status = QLabel()
        self.status.setWordWrap(True)
        root.addWidget(self.status)
        root.addStretch(1)
        self.viewer.layers.events.inserted.connect(self.refresh)
        self.viewer.layers.events.removed.connect(self.refresh)
        self.refresh()

    # ---------------------------------------------------------------- state

    def refresh(self, event: Any = None) -> None:
        """Show the first video still to be located (or that none is)."""
        self.pending = pending_videos(self.viewer)
        for b in self.buttons:
            b.setEnabled(bool(self.pending))
        self.path_edit.setEnabled(bool(self.pending))
        if not self.pending:
            self.what.setText("Every video of the open labels is found.")
            self.path_edit.setPlaceholderText("")
            return
        p = self.pending[0]
        name = recorded_name(p.video)
        where = Path(p.source).name or "the labels"
        gone = any(v is p.video for v in find_missing_videos(p.labels))
        why = "was not found" if gone else "beside them is not the labeled video"
        rest = len(self.pending) - 1
        more = f" ({rest} more after it)" if rest else ""
        self.what.setText(
            f"<b>{name}</b> of {where} {why}{more}. Recorded as: {p.video.filename}. "
            "Type its new path, browse to it, or search a folder for it."
        )
        self.path_edit.setPlaceholderText(f"new path of {name}")

    def _say(self, text: str, problem: bool = False) -> None:
        self.status.setStyleSheet("color: #e05555;" if problem else "")
        self.status.setText(text)

    # -------------------------------------------------------------- actions

    def relink_typed(self) -> bool:
        """Relink the first pending video to the path in the field."""
        text = self.path_edit.text().strip()
        if not text:
            self._say("Type the video's path first (or Browse...).", problem=True)
            return False
        return self.relink_to(text)

    def relink_to(self, path: str) -> bool:
        """Check ``path`` against the labels; if it fits, use it and show it."""
        return self._relink(lambda p: relink_video(p.labels, p.video, path))

    def search_in(self, folder: str) -> bool:
        """Search ``folder`` (and below) for the video's recorded name."""
        return self._relink(lambda p: search_folder(p.labels, p.video, folder))

    def _relink(self, how: Any) -> bool:
        self.refresh()
        if not self.pending:
            return False
        p = self.pending[0]
        try:
            path = how(p)
        except (FileNotFoundError, VideoMismatchError) as err:
            self._say(f"Refused: {err}", problem=True)
            return False
        self._show(p)
        self.path_edit.clear()
        name = recorded_name(p.video)
        self._say(f"{name} now points at {path}; save the labels to keep it.")
        self.refresh()
        return True

    def _show(self, p: Pending) -> None:
        """Add the video's Image layer under the labels, on the labels' frame."""
        data, kwargs, _ = labels_video_layer(p.video, p.index, p.source)
        kwargs["visible"] = p.points.visible
        layer = self.viewer.add_image(data, **kwargs)
        self.viewer.layers.move(self.viewer.layers.index(layer), 0)

    def _open_dialog(self, title: str, folder: bool) -> QFileDialog:
        start = self._start_folder()
        dialog = QFileDialog(self, title, start)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        if folder:
            dialog.setFileMode(QFileDialog.FileMode.Directory)
            dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
            dialog.fileSelected.connect(self.search_in)
        else:
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
            exts = " ".join(f"*{e}" for e in sorted(MEDIA_EXTS))
            dialog.setNameFilters([f"Videos ({exts})", "All files (*)"])
            dialog.fileSelected.connect(self.relink_to)
        dialog.finished.connect(lambda *_: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()
        return dialog

    def browse(self) -> QFileDialog:
        """Open a file chooser; the chosen file is checked and relinked."""
        self.refresh()
        name = recorded_name(self.pending[0].video) if self.pending else "the video"
        return self._open_dialog(f"Locate {name}", folder=False)

    def browse_folder(self) -> QFileDialog:
        """Open a folder chooser; the folder is searched for the video's name."""
        self.refresh()
        name = recorded_name(self.pending[0].video) if self.pending else "the video"
        return self._open_dialog(f"Folder holding {name}", folder=True)

    def _start_folder(self) -> str:
        """Where the dialogs open: beside the labels file."""
        if self.pending and self.pending[0].source:
            return str(Path(self.pending[0].source).parent)
        return str(Path.home())


def offer_relink(viewer: Any) -> Any:
    """Open (or bring up) the Missing videos panel in ``viewer``'s window."""
    window = getattr(viewer, "window", None)
    if window is None:
        return None
    dock, widget = window.add_plugin_dock_widget("napari-sleap", PANEL)
    dock.show()
    dock.raise_()
    return widget
