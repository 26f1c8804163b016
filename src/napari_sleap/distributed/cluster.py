"""Where batch tasks run: a LocalCluster sized to this machine, or any scheduler.

``local`` starts one worker process per GPU (or per core or two on a CPU-only
machine), each running one task at a time with its TensorFlow threads pinned,
so the workers together use the cores once. Anything else is a scheduler
address (``tcp://host:8786``), e.g. of a dask-jobqueue or Kubernetes cluster.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class Sizing:
    """How a local cluster splits the machine.

    Attributes:
        workers: worker processes (one TensorFlow each).
        threads: TensorFlow intra-op threads per worker.
        gpus: GPUs on the machine; worker ``i`` uses GPU ``i % gpus``.
    """

    workers: int
    threads: int
    gpus: int = 0


def machine_cores() -> int:
    """Cores this process may use (its CPU affinity where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def count_gpus() -> int:
    """NVIDIA GPUs visible here, without starting TensorFlow."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() not in ("", "-1")])
    smi = shutil.which("nvidia-smi")
    if not smi:
        return 0
    try:
        out = subprocess.run(
            [smi, "-L"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def local_sizing(
    workers: int | None = None,
    threads: int | None = None,
    *,
    cores: int | None = None,
    gpus: int | None = None,
) -> Sizing:
    """Workers and threads for this machine; explicit values win.

    Defaults: one worker per GPU; without GPUs one worker per core up to 4
    cores and one per two cores beyond (bigger TensorFlow thread pools
    amortise better there); threads split the cores evenly.
    """
    cores = cores or machine_cores()
    gpus = count_gpus() if gpus is None else gpus
    if workers is not None and workers < 1:
        raise ValueError(f"--workers {workers}: must be at least 1")
    if threads is not None and threads < 1:
        raise ValueError(f"threads per worker {threads}: must be at least 1")
    if workers is None:
        workers = gpus or (cores if cores <= 4 else cores // 2)
    if threads is None:
        threads = max(1, cores // workers)
    return Sizing(workers, threads, gpus)


def start_local_cluster(sizing: Sizing, *, profile: bool = False, **kwargs: Any):
    """A LocalCluster of worker processes, one task thread each, threads pinned.

    The environment pins OpenMP/TensorFlow thread pools before each worker's
    TensorFlow starts; :func:`napari_sleap.distributed.worker.configure_process`
    confirms it through TensorFlow's own threading API. ``profile`` turns on
    the workers' profiler (the dashboard's Profile page) at a CPU cost.
    """
    import dask

    from distributed import LocalCluster

    env = {
        "OMP_NUM_THREADS": str(sizing.threads),
        "TF_NUM_INTRAOP_THREADS": str(sizing.threads),
        "TF_NUM_INTEROP_THREADS": "2",  # as worker.INTER_OP_THREADS
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
    }
    options: dict[str, Any] = {
        "n_workers": sizing.workers,
        "threads_per_worker": 1,
        "processes": True,
        "dashboard_address": ":0",
        "env": env,
    }
    options.update(kwargs)
    # The workers' statistical profiler samples every thread's stack 100 times
    # a second: CPU that belongs to the predictions here. Nannies hand this
    # config to their workers.
    with dask.config.set({"distributed.worker.profile.enabled": profile}):
        return LocalCluster(**options)


@contextlib.contextmanager
def open_client(
    scheduler: str = "local",
    workers: int | None = None,
    threads: int | None = None,
    **cluster_kwargs: Any,
) -> Iterator[tuple[Any, Sizing | None]]:
    """A dask Client on a fresh LocalCluster (``local``) or on ``scheduler``.

    Yields the client and the local sizing (None for a remote scheduler, whose
    workers are sized by whoever started them). A local cluster is shut down
    on exit; a remote one is only disconnected from.
    """
    from distributed import Client

    if scheduler in ("local", "", None):
        sizing = local_sizing(workers, threads)
        cluster = start_local_cluster(sizing, **cluster_kwargs)
        try:
            with Client(cluster) as client:
                yield client, sizing
        finally:
            cluster.close()
        return
    if workers is not None:
        raise ValueError(
            f"--workers applies to the local cluster only; the scheduler at "
            f"{scheduler} has the workers its cluster started (scale it there)"
        )
    try:
        client = Client(scheduler, timeout="30s")
    except OSError as err:
        raise ValueError(
            f"--scheduler {scheduler}: no dask scheduler answered ({err}); check "
            "the address (tcp://HOST:8786) and that the scheduler is running"
        ) from err
    with client:
        yield client, None
