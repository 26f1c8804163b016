"""What a job process sends back to the process that started it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

#: Event kinds. ``result``, ``error``, ``cancelled`` and ``exited`` end a job;
#: ``exited`` is made by the parent when the process died without saying why.
STARTED = "started"
PROGRESS = "progress"
LOG = "log"
DATA = "data"
RESULT = "result"
ERROR = "error"
CANCELLED = "cancelled"
EXITED = "exited"
FINAL_KINDS = frozenset({RESULT, ERROR, CANCELLED, EXITED})


@dataclass(frozen=True)
class JobEvent:
    """One message from a job: progress, a log line, or how it ended.

    Attributes:
        kind: One of ``started``, ``progress``, ``log``, ``data``, ``result``,
            ``error``, ``cancelled``, ``exited``.
        done: Work done so far (``progress`` events).
        total: Total work (``progress`` events).
        message: A log line, an error message, a ``data`` event's name, or a note.
        value: The return value (``result``) or an emitted value (``data``).
        traceback: The formatted traceback of an ``error``.
        error_type: The exception's class name of an ``error``.
        time: When the event was made (seconds since the epoch).
    """

    kind: str
    done: int = 0
    total: int = 0
    message: str = ""
    value: Any = None
    traceback: str = ""
    error_type: str = ""
    time: float = field(default_factory=time.time)

    @property
    def is_final(self) -> bool:
        """True for the event that ends a job."""
        return self.kind in FINAL_KINDS
