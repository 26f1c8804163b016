"""The job process's side: run one function, stream what happens back on a queue.

This module is the spawned process's entry point, so it imports nothing heavy:
the target's own module brings in TensorFlow (or not) when it is imported here,
in the child.
"""

from __future__ import annotations

import importlib
import inspect
import io
import logging
import os
import pickle
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from napari_sleap.jobs.events import (
    CANCELLED,
    DATA,
    ERROR,
    LOG,
    PROGRESS,
    RESULT,
    STARTED,
    JobEvent,
)
from napari_sleap.progress import Cancelled, StopFlag, check_stop


def resolve_target(target: str) -> Callable[..., Any]:
    """Import ``"package.module:function"`` and return the function."""
    module_name, _, attr = parse_target(target)
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise AttributeError(
                f"job target {target!r}: module {module_name!r} has no {attr!r}; "
                "check the function name after the colon"
            ) from None
    if not callable(obj):
        raise TypeError(f"job target {target!r} is not callable")
    return obj


def parse_target(target: str) -> tuple[str, str, str]:
    """Split ``"module:function"``, with a clear error for anything else."""
    module_name, sep, attr = target.partition(":")
    if not (isinstance(target, str) and sep and module_name and attr):
        raise ValueError(
            f"job target {target!r}: expected 'package.module:function', "
            "e.g. 'napari_sleap.sample:make_sample'"
        )
    return module_name, sep, attr


class _LineSender(io.TextIOBase):
    """A text stream that sends each complete line as a ``log`` event."""

    def __init__(self, send: Callable[[JobEvent], None], echo: Any) -> None:
        self._send = send
        self._echo = echo
        self._buf = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self._echo is not None:
            self._echo.write(text)
        self._buf += text.replace("\r", "\n")
        *lines, self._buf = self._buf.split("\n")
        for line in lines:
            if line.strip():
                self._send(JobEvent(LOG, message=line))
        return len(text)

    def flush(self) -> None:
        if self._echo is not None:
            self._echo.flush()

    def close_buffer(self) -> None:
        """Send what is left of an unterminated last line."""
        if self._buf.strip():
            self._send(JobEvent(LOG, message=self._buf))
        self._buf = ""


class _LogHandler(logging.Handler):
    """Forwards log records (INFO and up) as ``log`` events."""

    def __init__(self, send: Callable[[JobEvent], None]) -> None:
        super().__init__(logging.INFO)
        self._send = send
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._send(JobEvent(LOG, message=self.format(record)))
        except Exception:  # never let logging break the job
            self.handleError(record)


def _make_progress(
    send: Callable[[JobEvent], None], stop: StopFlag, min_interval: float
) -> Callable[[int, int], None]:
    """A progress callback that sends throttled events and honours stop."""
    last = [-1e9]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done <= 0 or done >= total or now - last[0] >= min_interval:
            last[0] = now
            send(JobEvent(PROGRESS, done=int(done), total=int(total)))
        check_stop(stop)

    return progress


def _make_emit(send: Callable[[JobEvent], None]) -> Callable[[str, Any], None]:
    """``emit(name, value)`` for jobs that stream data (say, a loss per epoch)."""

    def emit(name: str, value: Any) -> None:
        send(JobEvent(DATA, message=str(name), value=value))

    return emit


class _NativeOutput:
    """Captures what native code (TensorFlow's C++ logs, ffmpeg) writes to fds 1 and 2.

    The descriptors are pointed at a pipe whose lines a thread sends as ``log``
    events and echoes to the original stderr, so a terminal still shows them.
    """

    def __init__(self, send: Callable[[JobEvent], None]) -> None:
        self._send = send
        self._saved = {fd: os.dup(fd) for fd in (1, 2)}
        self.echo = os.fdopen(os.dup(self._saved[2]), "w", buffering=1)
        self.echo_out = os.fdopen(os.dup(self._saved[1]), "w", buffering=1)
        read_fd, write_fd = os.pipe()
        for fd in (1, 2):
            os.dup2(write_fd, fd)
        os.close(write_fd)
        self._reader = os.fdopen(read_fd, "rb")
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        for raw in self._reader:
            line = raw.decode("utf-8", "replace").rstrip()
            self.echo.write(line + "\n")
            if line.strip():
                self._send(JobEvent(LOG, message=line))

    def close(self) -> None:
        """Restore fds 1 and 2 and wait until every captured line was sent."""
        for fd, saved in self._saved.items():
            os.dup2(saved, fd)
            os.close(saved)
        self._thread.join(5.0)
        self._reader.close()


def _watch_parent(stop: Any, grace_s: float) -> None:
    """Stop the job if the parent dies (say, napari crashed); end it after a grace.

    Without this an orphaned training would run on with nobody to read it.
    """
    import multiprocessing as mp

    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        stop.set()
        time.sleep(grace_s)
        os._exit(3)

    threading.Thread(target=watch, daemon=True, name="watch-parent").start()


def run_child(
    target: str,
    kwargs: dict[str, Any],
    queue: Any,
    stop: StopFlag,
    min_interval: float = 0.1,
    env: dict[str, str] | None = None,
    orphan_grace_s: float = 10.0,
    nice: int = 0,
) -> None:
    """Entry point of the job process: call ``target(progress=, stop=, **kwargs)``.

    A target with an ``emit`` parameter also gets ``emit(name, value)``, whose
    calls arrive as ``data`` events. If the parent dies the job is asked to stop,
    and the process exits ``orphan_grace_s`` later at the latest. ``nice`` lowers
    this process's CPU priority first (POSIX only; elsewhere it is ignored).
    """
    if nice > 0 and hasattr(os, "nice"):
        os.nice(nice)
    os.environ.update(env or {})
    _watch_parent(stop, grace_s=orphan_grace_s)
    send = queue.put
    try:
        native: _NativeOutput | None = _NativeOutput(send)
    except OSError:  # no fds 1/2 (pythonw): capture Python-level output only
        native = None
    out = _LineSender(send, native.echo_out if native else sys.__stdout__)
    err = _LineSender(send, native.echo if native else sys.__stderr__)
    sys.stdout, sys.stderr = out, err
    root = logging.getLogger()
    root.addHandler(_LogHandler(send))
    root.setLevel(min(root.level or logging.WARNING, logging.INFO))
    send(JobEvent(STARTED, message=f"{target} (pid {os.getpid()})"))
    try:
        fn = resolve_target(target)
        progress = _make_progress(send, stop, min_interval)
        extra = {}
        if "emit" in inspect.signature(fn).parameters:
            extra["emit"] = _make_emit(send)
        value = fn(progress=progress, stop=stop, **extra, **kwargs)
        try:
            pickle.dumps(value)
        except Exception as exc:
            raise TypeError(
                f"job {target!r} returned a {type(value).__name__} that cannot be "
                f"sent back ({exc}); return plain data or paths instead"
            ) from exc
        event = JobEvent(RESULT, value=value)
    except Cancelled as exc:
        event = JobEvent(CANCELLED, message=str(exc) or "stopped on request")
    except BaseException as exc:  # report everything, including SystemExit
        event = JobEvent(
            ERROR,
            message=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(),
            error_type=type(exc).__name__,
        )
    finally:
        out.close_buffer()
        err.close_buffer()
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        if native is not None:
            native.close()
    send(event)
    queue.close()
    queue.join_thread()
    # Everything is said: leave now rather than through interpreter teardown,
    # which can hang on threads a library left behind (TensorFlow's, say).
    os._exit(0)  # how it ended travels in the event, not the exit code
