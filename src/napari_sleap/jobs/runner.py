"""The parent's side: start a job in a spawned process and follow it by polling.

Inside napari, model work never shares the viewer's process (TensorFlow and
software OpenGL crash together, and a separate process can be killed cleanly).
Nothing here blocks or needs Qt: a GUI polls :meth:`JobHandle.poll` from a timer.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing as mp
import queue as queue_mod
import sys
import threading
import time
import types
import weakref
from collections import deque
from collections.abc import Iterator
from typing import Any

from napari_sleap.jobs.child import parse_target, run_child
from napari_sleap.jobs.events import (
    CANCELLED,
    DATA,
    ERROR,
    EXITED,
    LOG,
    PROGRESS,
    RESULT,
    JobEvent,
)

#: Job states, as :attr:`JobHandle.status` reports them.
RUNNING, DONE, FAILED, STOPPED, KILLED = (
    "running",
    "done",
    "failed",
    "stopped",
    "killed",
)

_LIVE: weakref.WeakSet[JobHandle] = weakref.WeakSet()


class JobHandle:
    """A job running in its own process; poll it for events, stop it, read its end.

    Attributes:
        target: The ``"module:function"`` that runs.
        status: ``running``, ``done``, ``failed``, ``stopped`` or ``killed``.
        progress: The latest ``(done, total)``, or None before the first.
        result: The function's return value once ``status == "done"``.
        error: The error message once ``status == "failed"``.
        traceback: The child's traceback text for a failed job.
        logs: The most recent log lines (stdout, stderr and logging).
        data: Values the job emitted, by name, in order (``data`` events).
    """

    def __init__(
        self,
        target: str,
        process: Any,
        events: Any,
        stop_event: Any,
        max_log_lines: int = 2000,
    ) -> None:
        self.target = target
        self._process = process
        self._events = events
        self._stop_event = stop_event
        self._lock = threading.Lock()
        self._terminated = False
        self._final: JobEvent | None = None
        self.status = RUNNING
        self.progress: tuple[int, int] | None = None
        self.result: Any = None
        self.error = ""
        self.traceback = ""
        self.logs: deque[str] = deque(maxlen=max_log_lines)
        self.data: dict[str, list[Any]] = {}

    @property
    def pid(self) -> int | None:
        """The job process's id."""
        return self._process.pid

    @property
    def exitcode(self) -> int | None:
        """The process's exit code; None while it runs (negative: killed by signal)."""
        return self._process.exitcode

    @property
    def done(self) -> bool:
        """True once the job has ended and its last event was read."""
        return self._final is not None

    def is_alive(self) -> bool:
        """True while the job process runs."""
        return self._process.is_alive()

    def poll(self) -> list[JobEvent]:
        """Return the events that arrived since the last call, without blocking."""
        with self._lock:
            if self._final is not None:
                return []
            # Check liveness first: once the process is gone, everything it sent
            # is already in the pipe, so an empty queue then means nothing more.
            alive = self._process.is_alive()
            out: list[JobEvent] = []
            while True:
                try:
                    event = self._events.get_nowait()
                except (queue_mod.Empty, EOFError, OSError):
                    break
                out.append(event)
                self._apply(event)
                if event.is_final:
                    break
            if self._final is None and not alive:
                self._process.join(0.1)
                code = self._process.exitcode
                event = JobEvent(
                    EXITED,
                    message=(
                        "job was stopped and its process terminated"
                        if self._terminated
                        else f"job process exited with code {code} without a result"
                    ),
                )
                out.append(event)
                self._apply(event)
            return out

    def _apply(self, event: JobEvent) -> None:
        """Update the handle's state from one event."""
        if event.kind == PROGRESS:
            self.progress = (event.done, event.total)
        elif event.kind == LOG:
            self.logs.append(event.message)
        elif event.kind == DATA:
            self.data.setdefault(event.message, []).append(event.value)
        elif event.kind == RESULT:
            self.result, self.status = event.value, DONE
        elif event.kind == ERROR:
            self.error, self.traceback, self.status = (
                event.message,
                event.traceback,
                FAILED,
            )
        elif event.kind == CANCELLED:
            self.status = STOPPED
        elif event.kind == EXITED:
            self.status = KILLED if self._terminated else FAILED
            self.error = self.error or event.message
        if event.is_final:
            self._final = event
            _LIVE.discard(self)

    def wait(self, timeout: float | None = None, interval: float = 0.05) -> str:
        """Block until the job ends (or ``timeout`` seconds), reading its events.

        Returns the status. Events read here are kept in the handle's state
        (progress, logs, result) but not returned; use :meth:`poll` to see them.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done:
            self.poll()
            if self.done or (deadline is not None and time.monotonic() > deadline):
                break
            self._process.join(interval)
        if self.done:
            # A stop() thread may be joining too: whichever reaps the process
            # sets the exit code a moment later, so wait for it, not for join.
            end = time.monotonic() + 5.0
            while self._process.exitcode is None and time.monotonic() < end:
                self._process.join(interval)
        return self.status

    def stop(self, grace_s: float = 5.0, block: bool = False) -> None:
        """Ask the job to stop; terminate it if it still runs after ``grace_s``.

        The job sees its ``stop`` flag set and should raise ``Cancelled`` at its
        next check. With ``block=False`` (for GUIs) a background thread enforces
        the grace period.
        """
        self._stop_event.set()
        if block:
            self._enforce(grace_s)
        else:
            threading.Thread(
                target=self._enforce, args=(grace_s,), daemon=True, name="job-stop"
            ).start()

    def _enforce(self, grace_s: float) -> None:
        """Wait ``grace_s`` for a clean end, then terminate, then kill."""
        self._process.join(grace_s)
        if self._process.is_alive():
            self._terminated = True
            self._process.terminate()
            self._process.join(2.0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(2.0)

    def __repr__(self) -> str:
        return f"JobHandle({self.target!r}, pid={self.pid}, status={self.status!r})"


_MAIN_LOCK = threading.Lock()

#: The niceness a viewer starts its long jobs with (training, prediction). On a
#: 2-core box a training at equal priority took most of the CPU from the viewer's
#: frame steps (docs/benchmarks.md, bench/bench_frame_step.py).
BACKGROUND_NICE = 10


@contextlib.contextmanager
def _plain_main() -> Iterator[None]:
    """Hide the parent's ``__main__`` from spawn while a job process starts.

    Spawn re-runs the parent's main script in the child (for napari, the
    ``napari`` launcher, which imports napari); a job needs only its target, so
    the child starts from a bare ``__main__`` instead. Consequence: kwargs must
    not be objects defined in the parent's main script.
    """
    with _MAIN_LOCK:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


def start_job(
    target: str,
    kwargs: dict[str, Any] | None = None,
    *,
    env: dict[str, str] | None = None,
    min_interval: float = 0.1,
    orphan_grace_s: float = 10.0,
    nice: int = 0,
) -> JobHandle:
    """Run ``target(progress=..., stop=..., **kwargs)`` in a new spawned process.

    A target that has an ``emit`` parameter also gets ``emit(name, value)`` to
    stream data (a loss per epoch, a batch of predictions) as ``data`` events.

    Args:
        target: ``"package.module:function"``; it is imported in the child only,
            so a TensorFlow job never loads TensorFlow into this process.
        kwargs: Keyword arguments for the function (must pickle, and be of types
            importable from a module: the job does not load the parent's main
            script).
        env: Environment variables to set in the child before the import.
        min_interval: Fewest seconds between two progress events (the first and
            last are always sent).
        orphan_grace_s: If this process dies, the job is asked to stop and its
            process exits this many seconds later at the latest.
        nice: Lower the job's CPU priority by this much (POSIX ``nice``; 0 keeps
            the parent's). A viewer passes :data:`BACKGROUND_NICE` so that frame
            steps and edits come first when the two share the CPU; an idle
            viewer leaves the job every core.

    Returns:
        The handle to poll, stop and read the result from.
    """
    parse_target(target)
    ctx = mp.get_context("spawn")
    events = ctx.Queue()
    stop_event = ctx.Event()
    process = ctx.Process(
        target=run_child,
        args=(
            target,
            dict(kwargs or {}),
            events,
            stop_event,
            min_interval,
            env,
            orphan_grace_s,
            nice,
        ),
        name=f"napari-sleap job {target}",
        # Not a daemon: jobs may start their own worker processes.
        daemon=False,
    )
    with _plain_main():
        process.start()
    handle = JobHandle(target, process, events, stop_event)
    _LIVE.add(handle)
    return handle


@atexit.register
def _stop_live_jobs() -> None:
    """Leave no job processes behind when the parent exits."""
    for handle in list(_LIVE):
        if handle.is_alive():
            handle.stop(grace_s=1.0, block=True)
