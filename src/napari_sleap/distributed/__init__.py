"""Beyond one machine: batch prediction over many videos on dask.distributed.

Modules:

* ``plan``: inputs and globs -> videos, outputs, frame chunks, resume state;
* ``cluster``: a LocalCluster sized to the machine (threads pinned) or a
  connection to any dask scheduler (dask-jobqueue, Kubernetes ...);
* ``worker``: what runs on the workers (a kept model per process, the chunk
  and per-video tasks);
* ``results``: what a run reports (results, status, progress board) and its
  typed arguments, shared by both runners;
* ``batch``: :func:`predict_batch`, submitting and following the tasks;
* ``sequential``: the same plan without dask, one video after another.

Importing this package imports neither dask.distributed nor TensorFlow.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BatchResult", "BatchStatus", "predict_batch"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from napari_sleap.distributed import batch

        return getattr(batch, name)
    raise AttributeError(name)
