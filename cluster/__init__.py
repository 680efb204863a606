"""Cluster creation: local, an existing scheduler, or SLURM/PBS through dask-jobqueue."""

from .batch import JobState, job_states
from .factory import (
    KINDS,
    ClusterError,
    WorkerStartError,
    capacity,
    cluster_info,
    connect,
    job_script,
    jobs_table,
    lifetime_args,
    validate,
)

__all__ = [
    "KINDS",
    "ClusterError",
    "JobState",
    "WorkerStartError",
    "capacity",
    "cluster_info",
    "connect",
    "job_script",
    "job_states",
    "jobs_table",
    "lifetime_args",
    "validate",
]
