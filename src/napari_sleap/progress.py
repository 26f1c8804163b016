"""The one contract between long jobs and whoever runs them (terminal, GUI, tests).

Core functions take ``progress(done, total)`` and a ``stop`` object with
``is_set()`` (a ``threading.Event`` or ``multiprocessing.Event``); they call
``check_stop`` at safe points and raise :class:`Cancelled` when asked to stop.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol

ProgressFn = Callable[[int, int], None]


class StopFlag(Protocol):
    """Anything with ``is_set()``: ``threading.Event``, ``multiprocessing.Event``."""

    def is_set(self) -> bool:
        """Return True once the job should stop."""
        ...


class Cancelled(RuntimeError):
    """Raised inside a long job when its stop flag was set."""


def no_progress(done: int, total: int) -> None:
    """Progress callback that ignores its arguments."""


def check_stop(stop: StopFlag | None) -> None:
    """Raise :class:`Cancelled` if ``stop`` is set."""
    if stop is not None and stop.is_set():
        raise Cancelled("stopped on request")


class TerminalProgress:
    """A one-line progress bar on stderr, throttled to a few updates a second."""

    def __init__(self, label: str, min_interval: float = 0.25) -> None:
        self.label = label
        self.min_interval = min_interval
        self._start = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        """Redraw the bar; always draws the final update."""
        now = time.monotonic()
        if done < total and now - self._last < self.min_interval:
            return
        self._last = now
        elapsed = max(now - self._start, 1e-9)
        rate = done / elapsed
        frac = done / total if total else 1.0
        bar = "#" * int(30 * frac)
        sys.stderr.write(
            f"\r{self.label} [{bar:<30}] {done}/{total} {rate:.1f}/s {elapsed:.0f}s"
        )
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()
