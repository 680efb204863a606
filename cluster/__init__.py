"""Cluster creation: local, an existing scheduler, or SLURM/PBS through dask-jobqueue.

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

_WHERE = {name: ".factory" for name in __all__} | {
    "JobState": ".batch",
    "job_states": ".batch",
    "ClusterError": ".errors",
    "WorkerStartError": ".errors",
}

if TYPE_CHECKING:
    from .batch import JobState, job_states
    from .errors import ClusterError, WorkerStartError
    from .factory import (
        KINDS,
        capacity,
        cluster_info,
        connect,
        dashboard_link,
        job_script,
        jobs_table,
        lifetime_args,
        tunnel_hint,
        validate,
    )


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
