"""Autosave to a side file and recovery on reopen, so a crash loses nothing labeled.

``project.slp`` autosaves to ``project.autosave.slp`` beside it (written
atomically). When the side file is newer than the project on reopen, it holds
edits that were never saved: :func:`find_recovery` returns it so the user can
choose to recover. A normal save removes the side file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import sleap_io as sio

from napari_sleap.io.labels import save_labels

SUFFIX = ".autosave.slp"


def autosave_path(path: str | os.PathLike) -> Path:
    """The side file of a project: ``x.slp`` -> ``x.autosave.slp``."""
    path = Path(path)
    name = path.name
    for ext in (".pkg.slp", ".slp"):
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    return path.with_name(name + SUFFIX)


def find_recovery(path: str | os.PathLike) -> Path | None:
    """The autosave of ``path`` if it holds newer edits than ``path``, else None."""
    side = autosave_path(path)
    if not side.exists():
        return None
    path = Path(path)
    if path.exists() and path.stat().st_mtime >= side.stat().st_mtime:
        return None
    return side


def discard(path: str | os.PathLike) -> None:
    """Remove the project's autosave (after a save, or when the user declines)."""
    autosave_path(path).unlink(missing_ok=True)


class Autosaver:
    """Saves the labels to the side file when edited and ``interval`` has passed.

    The GUI calls :meth:`mark_dirty` after each edit and :meth:`maybe_save` from a
    timer; no thread of its own, so the labels are never read mid-edit.

    Args:
        labels_fn: Returns the labels to save (the live object).
        path: The project's .slp path (the side file goes beside it).
        interval: Least seconds between two autosaves.
        clock: Time source (tests pass their own).
    """

    def __init__(
        self,
        labels_fn: Callable[[], sio.Labels],
        path: str | os.PathLike,
        *,
        interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.labels_fn = labels_fn
        self.path = Path(path)
        self.interval = interval
        self.clock = clock
        self.dirty = False
        self._last = clock()
        self.saves = 0

    @property
    def side_file(self) -> Path:
        """Where autosaves go."""
        return autosave_path(self.path)

    def mark_dirty(self) -> None:
        """Note an unsaved edit."""
        self.dirty = True

    def maybe_save(self, *, force: bool = False) -> Path | None:
        """Write the side file if dirty and due (or ``force``); returns its path."""
        if not self.dirty or (not force and self.clock() - self._last < self.interval):
            return None
        out = save_labels(self.labels_fn(), self.side_file)
        self.dirty = False
        self._last = self.clock()
        self.saves += 1
        return out

    def saved(self) -> None:
        """The project was saved normally: the side file is stale, remove it."""
        self.dirty = False
        discard(self.path)
