"""``kind = "local"``: a :class:`distributed.LocalCluster` on this machine, tuned for kernels.

One single-threaded worker process per core (kernels are GIL-bound Python/numpy), workers
that ignore the terminal's Ctrl-C, and coarser housekeeping than distributed's defaults.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dask
from distributed import Client, LocalCluster

from .dashboard import DEFAULT_DASHBOARD

__all__ = ["local_client", "local_worker_config"]

# Local workers run kernels, not dask arrays, so two of distributed's defaults cost them
# speed for nothing:
# * housekeeping on the worker's own threads takes the GIL from a GIL-bound kernel: the
#   statistical profiler samples every stack every 10 ms, the event loop's tick fires every
#   20 ms, the system monitor polls psutil every 0.5 s. At the coarser values below a
#   ~1 ms/point Python kernel on 2 workers ran at 0.96-0.97 of (cores x a plain loop)
#   instead of 0.88-0.92, and in a second series 0.97 instead of 0.93-0.95 (interleaved
#   pairs of runs, bench/worker_settings.py). The dashboard keeps its Profile
#   and System tabs, sampled more coarsely; the tick still catches an event loop blocked for
#   longer than `distributed.admin.tick.limit`.
# * the nanny exports MALLOC_TRIM_THRESHOLD_=65536 so that dask arrays' memory goes back to
#   the OS; setting it turns off glibc's adaptive mmap threshold, so every numpy temporary
#   above 128 KiB is a fresh mmap with page faults. A vectorized numpy kernel ran 3.0x
#   slower in a worker than in a plain process (2.15 vs 0.70 us/point) until it was unset
#   (None unsets it, as distributed documents).
# `python bench/engine_overhead.py` prints where the workers' time goes. Only distributed's
# own defaults are replaced: a value the user configured is kept.
_LOCAL_WORKER_CONFIG: dict[str, tuple[Any, Any]] = {
    "distributed.worker.profile.interval": ("10ms", "100ms"),
    "distributed.worker.profile.cycle": ("1000ms", "10s"),
    "distributed.admin.tick.interval": ("20ms", "1000ms"),
    "distributed.admin.system-monitor.interval": ("500ms", "1000ms"),
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": (65536, None),
}


def local_worker_config() -> dict[str, Any]:
    """The settings a local cluster's workers get (see ``_LOCAL_WORKER_CONFIG``)."""
    return {key: coarse for key, (default, coarse) in _LOCAL_WORKER_CONFIG.items()
            if dask.config.get(key, None) == default}


@contextmanager
def _children_ignore_sigint() -> Iterator[None]:
    """Worker processes started inside this context ignore SIGINT.

    A terminal's Ctrl-C goes to the whole process group: local workers would each die with
    a traceback while the client is still recording what was kept. The client process
    alone handles it, and its cluster shuts the workers down. The disposition is inherited
    by the spawned interpreters; the client's own handler is restored on exit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def local_client(options: Mapping[str, Any]) -> Iterator[Client]:
    """A client on a new local cluster (validated ``options``), shut down on exit."""
    n_workers = options.get("n_workers", os.cpu_count() or 1)
    # The nannies hand the configuration current at their creation to their workers.
    with dask.config.set(local_worker_config()):
        with _children_ignore_sigint():  # only while the workers are spawned
            cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=options.get("threads_per_worker", 1),
                processes=True,
                memory_limit=options.get("memory_limit", "auto"),
                dashboard_address=options.get("dashboard_address", DEFAULT_DASHBOARD),
            )
        with cluster, Client(cluster) as client:
            yield client
