"""The one edit history: the Command base of every undoable edit, and its stack.

Labeling edits (:mod:`.commands`) and track edits (:mod:`.track_edits`) share it, so
one Undo walks back through both in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sleap_io as sio


@dataclass
class Command:
    """Base of the edits: remembers track and instance changes for undo.

    Attributes:
        labels: The labels edited in place.
    """

    labels: sio.Labels
    _retracked: list[tuple[sio.Instance, sio.Track | None]] = field(
        default_factory=list, init=False, repr=False
    )
    _removed: list[tuple[sio.LabeledFrame, int, sio.Instance]] = field(
        default_factory=list, init=False, repr=False
    )
    _tracks_before: list[sio.Track] | None = field(default=None, init=False, repr=False)

    @property
    def label(self) -> str:
        """A short description for menus ("Undo swap tracks")."""
        return type(self).__name__

    def do(self) -> None:
        """Apply the edit (run by :meth:`UndoStack.push`)."""
        self._retracked.clear()
        self._removed.clear()
        self._tracks_before = list(self.labels.tracks)
        self._apply()

    def undo(self) -> None:
        """Put everything back as it was before :meth:`do`."""
        for inst, old in reversed(self._retracked):
            inst.track = old
        for lf, index, inst in reversed(self._removed):
            lf.instances.insert(index, inst)
        if self._tracks_before is not None:
            self.labels.tracks[:] = self._tracks_before

    @property
    def n_retracked(self) -> int:
        """How many instances changed track in the last :meth:`do`."""
        return len(self._retracked)

    def _apply(self) -> None:
        raise NotImplementedError

    def _set_track(self, inst: sio.Instance, track: sio.Track | None) -> None:
        if inst.track is not track:
            self._retracked.append((inst, inst.track))
            inst.track = track

    def _remove(self, lf: sio.LabeledFrame, inst: sio.Instance) -> None:
        index = next(i for i, x in enumerate(lf.instances) if x is inst)
        del lf.instances[index]
        self._removed.append((lf, index, inst))

    def _add_track(self, track: sio.Track) -> None:
        if not any(t is track for t in self.labels.tracks):
            self.labels.tracks.append(track)


class UndoStack:
    """Runs commands and undoes/redoes them in order.

    Args:
        limit: Most commands kept for undo (None: all).
    """

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self._done: list[Command] = []
        self._undone: list[Command] = []
        #: Called with the command after every push, undo and redo (GUI refresh).
        self.listeners: list[Callable[[Command], None]] = []

    def push(self, command: Command) -> Command:
        """Apply ``command`` and record it; clears the redo history.

        If the command raises, whatever it changed is rolled back first.
        """
        try:
            command.do()
        except Exception:
            command.undo()
            raise
        self._done.append(command)
        if self.limit is not None and len(self._done) > self.limit:
            del self._done[0]
        self._undone.clear()
        self._notify(command)
        return command

    @property
    def can_undo(self) -> bool:
        """True when there is something to undo."""
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        """True when there is something to redo."""
        return bool(self._undone)

    def undo(self) -> Command:
        """Undo the latest command; ValueError when there is none."""
        if not self._done:
            raise ValueError("nothing to undo")
        command = self._done.pop()
        command.undo()
        self._undone.append(command)
        self._notify(command)
        return command

    def redo(self) -> Command:
        """Apply the latest undone command again; ValueError when there is none."""
        if not self._undone:
            raise ValueError("nothing to redo")
        command = self._undone.pop()
        command.do()
        self._done.append(command)
        self._notify(command)
        return command

    def _notify(self, command: Command) -> None:
        for listener in self.listeners:
            listener(command)

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
