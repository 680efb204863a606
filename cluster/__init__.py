"""Cluster creation: local, an existing scheduler, or SLURM/PBS through dask-jobqueue.

One module per concern: :mod:`.options` (what each kind accepts, :func:`validate`),
:mod:`.local`, :mod:`.jobqueue` (SLURM/PBS jobs, :func:`job_script`), :mod:`.factory`
(:func:`connect` and the wait for a batch cluster's first worker), :mod:`.dashboard`,
:mod:`.info` (what the engine reads from a connected cluster), :mod:`.batch` (asking
squeue/qstat) and :mod:`._compat`, the one place that touches a dependency's private API.

Names are imported on first use (PEP 562): importing the package for :class:`ClusterError`
does not import distributed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "KINDS",
    "ClusterError",
    "JobState",
    "WorkerStartError",
    "capacity",
    "cluster_info",
    "connect",
    "dashboard_link",
    "job_script",
    "job_states",
    "jobs_table",
    "lifetime_args",
    "tunnel_hint",
    "validate",
]

_WHERE = {
    "KINDS": ".options",
    "validate": ".options",
    "ClusterError": ".errors",
    "WorkerStartError": ".errors",
    "JobState": ".batch",
    "job_states": ".batch",
    "jobs_table": ".batch",
    "capacity": ".info",
    "cluster_info": ".info",
    "connect": ".factory",
    "dashboard_link": ".dashboard",
    "tunnel_hint": ".dashboard",
    "job_script": ".jobqueue",
    "lifetime_args": ".jobqueue",
}

if TYPE_CHECKING:
    from .batch import JobState, job_states, jobs_table
    from .dashboard import dashboard_link, tunnel_hint
    from .errors import ClusterError, WorkerStartError
    from .factory import connect
    from .info import capacity, cluster_info
    from .jobqueue import job_script, lifetime_args
    from .options import KINDS, validate


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
