"""The labeling undo history: the proofreading stack plus what a menu asks of it."""

from __future__ import annotations

from napari_sleap.track.proofread import Command
from napari_sleap.track.proofread import UndoStack as _TrackUndoStack


class UndoStack(_TrackUndoStack):
    """One history for labeling and proofreading edits, with read access for menus."""

    @property
    def last_done(self) -> Command | None:
        """The command Undo would undo (None when there is none)."""
        return self._done[-1] if self._done else None

    @property
    def last_undone(self) -> Command | None:
        """The command Redo would redo (None when there is none)."""
        return self._undone[-1] if self._undone else None

    def clear(self) -> None:
        """Forget every command (e.g. after an edit that commands can't undo)."""
        self._done.clear()
        self._undone.clear()
