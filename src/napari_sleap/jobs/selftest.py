"""Tiny jobs that check the runner works on this machine (and that TF loads there)."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from napari_sleap.progress import ProgressFn, StopFlag, check_stop


def tensorflow_probe(
    progress: ProgressFn, stop: StopFlag, size: int = 64
) -> dict[str, Any]:
    """Import TensorFlow in the job process and run one small matrix product.

    Returns the TensorFlow version, the devices it sees and the product's sum, so a
    GUI can show "TensorFlow works here" without loading it into its own process.
    """
    progress(0, 2)
    import tensorflow as tf

    check_stop(stop)
    progress(1, 2)
    a = tf.ones((size, size))
    total = float(tf.reduce_sum(tf.matmul(a, a)).numpy())
    progress(2, 2)
    gui = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide6", "vispy")
    return {
        "version": tf.__version__,
        "gui_modules_in_job": sorted(m for m in gui if m in sys.modules),
        "devices": [d.name for d in tf.config.list_logical_devices()],
        "sum": total,
    }


def idle(
    progress: ProgressFn,
    stop: StopFlag,
    seconds: float = 1.0,
    steps: int = 10,
    honour_stop: bool = True,
    native_output: bool = False,
    emit: Callable[[str, Any], None] | None = None,
) -> int:
    """Wait ``seconds`` in ``steps``, logging each step; returns the steps done.

    With ``honour_stop=False`` it ignores the stop flag, standing in for a job
    stuck in native code, which the runner must terminate. With
    ``native_output=True`` each step is also written straight to file descriptor 2,
    as C++ libraries do, bypassing Python's ``sys.stderr``. Each step is also
    emitted as a ``step`` data event.
    """
    log = logging.getLogger(__name__)
    for i in range(steps):
        time.sleep(seconds / steps)
        log.info("idle step %d of %d", i + 1, steps)
        if emit is not None:
            emit("step", {"step": i + 1, "time": time.time()})
        if native_output:
            os.write(2, f"native step {i + 1}\n".encode())
        if honour_stop:
            progress(i + 1, steps)
    return steps


def niceness(progress: ProgressFn, stop: StopFlag) -> int:
    """The job process's POSIX niceness (0 where there is none), to check ``nice``."""
    progress(1, 1)
    return os.nice(0) if hasattr(os, "nice") else 0
