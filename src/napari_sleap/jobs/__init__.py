"""Run long jobs in a separate, spawned process and follow them by polling.

The rule of the napari face: model work (TensorFlow) runs in a job process that
streams progress, log lines and its result back; the viewer process polls
:meth:`JobHandle.poll` and never imports TensorFlow. No Qt here.
"""

from __future__ import annotations

from napari_sleap.jobs.events import JobEvent
from napari_sleap.jobs.runner import JobHandle, start_job

__all__ = ["JobEvent", "JobHandle", "start_job"]
