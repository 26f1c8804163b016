"""Run a core job (``progress``/``stop`` contract) off the GUI thread, with a bar.

For the light jobs that stay in the viewer process (no TensorFlow): the job runs
in napari's worker thread; its ``progress(done, total)`` calls land in plain
variables that a Qt timer draws into napari's progress bar, so no Qt object is
touched from the worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication, QWidget


def start_job(
    parent: QWidget,
    job: Callable[[Callable[[int, int], None], threading.Event], Any],
    *,
    desc: str,
    on_result: Callable[[Any], None],
    on_error: Callable[[Exception], None],
    on_finished: Callable[[], None],
) -> tuple[Any, threading.Event]:
    """Start ``job(progress, stop)`` in a worker thread; returns (worker, stop)."""
    from napari.qt.threading import thread_worker
    from napari.utils import progress

    stop = threading.Event()
    bar = progress(total=0, desc=desc)
    state = [0, 0]  # (done, total), written by the worker, drawn by the timer

    def report(done: int, total: int) -> None:
        state[:] = [done, total]

    def draw() -> None:
        if state[1]:
            bar.total = state[1]
            bar.n = state[0]
            bar.refresh()

    timer = QTimer(parent)
    timer.setInterval(200)
    timer.timeout.connect(draw)

    def finished() -> None:
        timer.stop()
        bar.close()
        on_finished()

    worker = thread_worker(lambda: job(report, stop))()
    worker.returned.connect(on_result)
    worker.errored.connect(on_error)
    worker.finished.connect(finished)
    timer.start()
    worker.start()
    return worker, stop


def wait_until(done: Callable[[], bool], poll: float = 0.02) -> None:
    """Keep the GUI responsive until ``done()`` (for scripted, blocking calls)."""
    while not done():
        QApplication.processEvents()
        time.sleep(poll)
