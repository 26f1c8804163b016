"""Beyond one machine: batch prediction over many videos on dask.distributed.

Modules:

* ``plan``: inputs and globs -> videos, outputs, frame chunks, resume state;
* ``cluster``: a LocalCluster sized to the machine (threads pinned) or a
  connection to any dask scheduler (dask-jobqueue, Kubernetes ...);
* ``worker``: what runs on the workers (a kept model per process, the chunk
  and per-video tasks);
* ``batch``: :func:`predict_batch`, submitting and following the tasks.

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
