"""One undo history per viewer, shared by every dock (labeling, proofreading, skeleton).

Keyed by the real viewer: napari hands each dock its own proxy. Ctrl+Z and
Ctrl+Shift+Z on the canvas walk it whichever dock made the edit.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from napari_sleap.labeling import UndoStack
from napari_sleap.napari.compat import unproxied

if TYPE_CHECKING:
    import napari

    from napari_sleap.napari.sync.instances import InstancesSync

_STACKS: weakref.WeakKeyDictionary[Any, UndoStack] = weakref.WeakKeyDictionary()
#: Open labeling docks (each has ``viewer`` and ``sync``), for :func:`live_syncs`.
_DOCKS: weakref.WeakSet[Any] = weakref.WeakSet()


def register_dock(dock: Any) -> None:
    """List ``dock`` (it has ``viewer`` and ``sync``) in :func:`live_syncs`."""
    _DOCKS.add(dock)


def live_syncs(viewer: napari.Viewer) -> list[InstancesSync]:
    """The layer syncs of the labeling docks open in ``viewer``."""
    viewer = unproxied(viewer)
    return [d.sync for d in _DOCKS if d.viewer is viewer and d.sync is not None]


def undo_stack(viewer: napari.Viewer) -> UndoStack:
    """The one undo stack of ``viewer``, whichever dock (or proxy) asks."""
    viewer = unproxied(viewer)
    stack = _STACKS.get(viewer)
    if stack is None:
        stack = _STACKS[viewer] = UndoStack()
    return stack


def history_step(
    viewer: napari.Viewer,
    redo: bool = False,
    said: Callable[[str], Any] | None = None,
) -> Any:
    """Undo (or redo) the viewer's latest edit, whichever dock made it.

    The syncs of the open docks listen to the one stack, so every layer follows.
    The viewer's status bar (and ``said``, e.g. a dock's status line) names what
    was undone. Returns the command (None: nothing to undo).
    """
    stack = undo_stack(viewer)
    if not (stack.can_redo if redo else stack.can_undo):
        unproxied(viewer).status = f"Nothing to {'redo' if redo else 'undo'}"
        return None
    command = stack.redo() if redo else stack.undo()
    message = f"{'Redid' if redo else 'Undid'} {command.label}"
    unproxied(viewer).status = message
    if said is not None:
        said(message)
    return command


def bind_history_keys(viewer: napari.Viewer) -> None:
    """Ctrl+Z / Ctrl+Shift+Z on ``viewer`` walk its one history (any dock's edits)."""
    viewer = unproxied(viewer)

    def undo(_: Any) -> None:
        history_step(viewer)

    def redo(_: Any) -> None:
        history_step(viewer, redo=True)

    undo.__name__, redo.__name__ = "napari_sleap_undo", "napari_sleap_redo"
    viewer.bind_key("Control-z", undo, overwrite=True)
    viewer.bind_key("Control-Shift-z", redo, overwrite=True)
