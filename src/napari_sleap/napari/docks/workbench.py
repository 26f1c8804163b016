"""One compact napari-sleap panel, and docks that fit a 1080p screen.

Each dock's contents move into a scroll area (:func:`compact`), so a dock asks
for little height and the window fits the screen with every dock open; the dock
keeps its class, attributes and behaviour. :class:`Workbench` holds all the docks
as tabs under one seekbar. The ``*_dock`` functions are the plugin's widget
commands (napari.yaml): the same docks, made compact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QSize, Qt
from qtpy.QtWidgets import QFrame, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from napari_sleap.napari.docks.frame_table import FramesPanel, FrameTable, legend
from napari_sleap.napari.docks.seekbar import SeekBar
from napari_sleap.napari.docks.skeleton_picker import real

if TYPE_CHECKING:
    import napari

#: Least height a compact dock asks for (its contents scroll below that).
MIN_HEIGHT = 80
#: Most height a compact dock asks for at first (napari sizes docks by the hint).
MAX_HINT_HEIGHT = 560


class _Scroll(QScrollArea):
    """A vertical scroll area whose size hints follow its contents, capped."""

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt)
        """As wide as the contents need, only :data:`MIN_HEIGHT` tall."""
        inner = self.widget()
        bar = self.verticalScrollBar().sizeHint().width()
        width = inner.minimumSizeHint().width() if inner is not None else 100
        return QSize(width + bar + 2, MIN_HEIGHT)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt)
        """The contents' size, no taller than :data:`MAX_HINT_HEIGHT`."""
        inner = self.widget()
        if inner is None:
            return super().sizeHint()
        hint = inner.sizeHint()
        bar = self.verticalScrollBar().sizeHint().width()
        return QSize(hint.width() + bar + 2, min(hint.height() + 2, MAX_HINT_HEIGHT))


def compact(widget: QWidget) -> QWidget:
    """Put ``widget``'s contents in a vertical scroll area inside it; returns it.

    Qt lets a widget take over another widget's layout, so the children (and
    every attribute pointing at them) stay as they were; only their parent
    changes.
    """
    layout = widget.layout()
    if layout is None or getattr(widget, "_napari_sleap_compact", False):
        return widget
    inner = QWidget()
    inner.setLayout(layout)  # takes the layout (and its widgets) off ``widget``
    scroll = _Scroll()
    scroll.setWidget(inner)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    outer = QVBoxLayout(widget)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)
    widget._napari_sleap_compact = True
    widget.scroll_area = scroll
    return widget


def _docks() -> list[tuple[str, Any]]:
    """The plugin's docks: (tab name, class), in workflow order."""
    from napari_sleap.napari.docks.evaluate import EvaluatePanel
    from napari_sleap.napari.docks.export import ExportPanel
    from napari_sleap.napari.docks.labeling import LabelingWidget
    from napari_sleap.napari.docks.predict import PredictPanel
    from napari_sleap.napari.docks.proofread import ProofreadPanel
    from napari_sleap.napari.docks.skeleton import SkeletonWidget
    from napari_sleap.napari.docks.train import TrainPanel

    return [
        ("Labeling", LabelingWidget),
        ("Skeleton", SkeletonWidget),
        ("Train", TrainPanel),
        ("Predict", PredictPanel),
        ("Proofread", ProofreadPanel),
        ("Evaluate", EvaluatePanel),
        ("Export", ExportPanel),
    ]


class Workbench(QWidget):
    """Every napari-sleap dock as a tab, under a seekbar of the labeled frames.

    Args:
        napari_viewer: The viewer (napari passes it).
    """

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__()
        self.viewer = viewer = real(napari_viewer)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.seekbar = SeekBar(viewer)
        lay.addWidget(self.seekbar)
        self.tabs = QTabWidget()
        self.tabs.setUsesScrollButtons(True)
        self.tabs.setDocumentMode(True)
        lay.addWidget(self.tabs, 1)
        self.docks: dict[str, QWidget] = {}
        for name, cls in _docks():
            self.add_tab(name, cls(viewer))
        frames = QWidget()
        flay = QVBoxLayout(frames)
        flay.addWidget(legend())
        self.frame_table = FrameTable(viewer)
        flay.addWidget(self.frame_table, 1)
        self.add_tab("Frames", frames)
        labeling = self.docks["Labeling"]
        labeling.picker.open_editor = lambda: self.show_tab("Skeleton")

    def add_tab(self, name: str, widget: QWidget) -> None:
        """Add ``widget`` (made compact) as the tab ``name``."""
        self.docks[name] = compact(widget)
        self.tabs.addTab(widget, name)

    def show_tab(self, name: str) -> QWidget:
        """Bring the tab ``name`` to the front; returns its dock."""
        self.tabs.setCurrentWidget(self.docks[name])
        return self.docks[name]

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt)
        """Narrow enough for a side dock, short enough for a laptop screen."""
        hint = super().minimumSizeHint()
        return QSize(hint.width(), min(hint.height(), 320))


def _compact_class(name: str, base: type) -> type:
    """A subclass of the dock ``base`` whose contents scroll (napari's widget)."""

    def __init__(self: Any, napari_viewer: napari.Viewer) -> None:
        base.__init__(self, napari_viewer)
        compact(self)

    doc = f"The {name} dock, made compact: its contents scroll (see compact)."
    return type(
        f"{base.__name__}Dock",
        (base,),
        {"__init__": __init__, "__doc__": doc, "__module__": __name__},
    )


_BASES = dict(_docks())
LabelingDock = _compact_class("Labeling", _BASES["Labeling"])
SkeletonDock = _compact_class("Skeleton", _BASES["Skeleton"])
TrainDock = _compact_class("Train", _BASES["Train"])
PredictDock = _compact_class("Predict", _BASES["Predict"])
ProofreadDock = _compact_class("Proofread", _BASES["Proofread"])
EvaluateDock = _compact_class("Evaluate", _BASES["Evaluate"])
ExportDock = _compact_class("Export", _BASES["Export"])
FramesDock = _compact_class("Frames", FramesPanel)
