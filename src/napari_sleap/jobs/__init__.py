"""Run long jobs in a separate, spawned process and follow them by polling.

The rule of the napari face: model work (TensorFlow) runs in a job process that
streams progress, log lines and its result back; the viewer process polls
:meth:`JobHandle.poll` and never imports TensorFlow. No Qt here. A widget would::

    handle = start_job("napari_sleap.train.fit:fit", {"config": cfg, ...})
    timer.timeout.connect(lambda: [show(e) for e in handle.poll()])  # QTimer
    stop_button.clicked.connect(handle.stop)  # returns at once

The target gets ``progress(done, total)`` and ``stop`` (see
:mod:`napari_sleap.progress`), plus ``emit(name, value)`` if it has an ``emit``
parameter; it ends with a ``result``, ``error`` (message and traceback),
``cancelled`` or, when its process died or was terminated, ``exited`` event.
"""

from __future__ import annotations

from napari_sleap.jobs.events import JobEvent
from napari_sleap.jobs.runner import BACKGROUND_NICE, JobHandle, start_job

__all__ = ["BACKGROUND_NICE", "JobEvent", "JobHandle", "start_job"]
