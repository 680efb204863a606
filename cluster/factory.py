"""Create or connect to the Dask cluster a sweep runs on.

Kinds: ``local`` (a :class:`distributed.LocalCluster` sized to the machine, one
single-threaded worker process per core because kernels are GIL-bound Python/numpy),
``address`` (an existing scheduler), ``slurm`` and ``pbs`` (worker jobs through
dask-jobqueue; its usual ``jobqueue.yaml`` configuration is honoured, options given here
override it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from distributed import Client, LocalCluster

__all__ = ["KINDS", "ClusterError", "connect", "job_script", "validate"]

KINDS = ("local", "address", "slurm", "pbs")

_LOCAL_KEYS = {"n_workers", "threads_per_worker", "memory_limit", "dashboard_address"}
_ADDRESS_KEYS = {"address"}
# dask-jobqueue's own keyword arguments we pass through (see its JobQueueCluster docs).
_JOBQUEUE_KEYS = {
    "queue", "account", "walltime", "cores", "memory", "processes", "interface",
    "job_script_prologue", "job_extra_directives", "job_directives_skip", "local_directory",
    "log_directory", "python", "name", "shebang", "scheduler_options", "worker_extra_args",
    "resource_spec", "project", "job_cpu", "job_mem",
}
# pairsweep's scaling and walltime-safety options for job-queue clusters.
_SCALING_KEYS = {"jobs", "minimum_jobs", "maximum_jobs", "lifetime_margin"}
_ALLOWED = {
    "local": _LOCAL_KEYS,
    "address": _ADDRESS_KEYS,
    "slurm": _JOBQUEUE_KEYS | _SCALING_KEYS,
    "pbs": _JOBQUEUE_KEYS | _SCALING_KEYS,
}


class ClusterError(ValueError):
    """A cluster option that cannot work; the message names ``cluster.<field>``."""


def validate(kind: str, options: Mapping[str, Any]) -> None:
    """Check the cluster section of a spec before anything starts."""
    if kind not in KINDS:
        raise ClusterError(f"cluster.kind: unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
    unknown = set(options) - _ALLOWED[kind]
    if unknown:
        raise ClusterError(
            f"cluster.{sorted(unknown)[0]}: not an option of a {kind} cluster; "
            f"allowed: {', '.join(sorted(_ALLOWED[kind]))}"
        )
    if kind == "address" and not isinstance(options.get("address"), str):
        raise ClusterError("cluster.address: required for kind 'address' (e.g. 'tcp://host:8786')")
    for key in ("n_workers", "threads_per_worker", "jobs", "minimum_jobs", "maximum_jobs", "cores", "processes"):
        if key in options and (not isinstance(options[key], int) or isinstance(options[key], bool) or options[key] < (0 if "jobs" in key else 1)):
            raise ClusterError(f"cluster.{key}: expected a positive integer, got {options[key]!r}")
    if "walltime" in options:
        _walltime_seconds(options["walltime"])
    if {"minimum_jobs", "maximum_jobs"} <= set(options) and options["minimum_jobs"] > options["maximum_jobs"]:
        raise ClusterError("cluster.minimum_jobs: must not exceed cluster.maximum_jobs")


def _walltime_seconds(walltime: Any) -> int:
    """SLURM/PBS walltime ``[D-]HH:MM:SS`` or ``MM:SS`` or minutes, in seconds."""
    match = re.fullmatch(r"(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)", str(walltime))
    if match:
        days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
        return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if str(walltime).isdigit():
        return int(walltime) * 60
    raise ClusterError(f"cluster.walltime: {walltime!r} is not HH:MM:SS, D-HH:MM:SS, MM:SS or minutes")


def _jobqueue_cluster(kind: str, options: Mapping[str, Any]):
    from dask_jobqueue import PBSCluster, SLURMCluster

    cls = SLURMCluster if kind == "slurm" else PBSCluster
    kwargs = {k: v for k, v in options.items() if k in _JOBQUEUE_KEYS}
    extra = list(kwargs.pop("worker_extra_args", []))
    walltime = kwargs.get("walltime")
    if walltime is not None:
        # Retire workers before the batch system kills them mid-block (dask-jobqueue#122):
        # a retiring worker hands its tasks back, so no block is lost to walltime.
        seconds = _walltime_seconds(walltime)
        margin = int(options.get("lifetime_margin", max(60, seconds // 10)))
        lifetime = max(seconds - margin, 60)
        stagger = max(min(margin // 2, 300), 1)
        extra += ["--lifetime", f"{lifetime}s", "--lifetime-stagger", f"{stagger}s"]
    if extra:
        kwargs["worker_extra_args"] = extra
    return cls(**kwargs)


def job_script(kind: str, options: Mapping[str, Any]) -> str:
    """The batch script a SLURM/PBS worker job would be submitted with (``--dry-run``)."""
    validate(kind, options)
    if kind not in ("slurm", "pbs"):
        raise ClusterError(f"cluster.kind: {kind!r} submits no job script; only slurm and pbs do")
    cluster = _jobqueue_cluster(kind, options)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


@contextmanager
def connect(kind: str = "local", options: Mapping[str, Any] | None = None) -> Iterator[Client]:
    """A client on a cluster of the given kind, closed (and the cluster shut down) on exit."""
    options = dict(options or {})
    validate(kind, options)
    if kind == "address":
        with Client(options["address"]) as client:
            yield client
        return
    if kind == "local":
        n_workers = options.get("n_workers", os.cpu_count() or 1)
        with LocalCluster(
            n_workers=n_workers,
            threads_per_worker=options.get("threads_per_worker", 1),
            processes=True,
            memory_limit=options.get("memory_limit", "auto"),
            dashboard_address=options.get("dashboard_address", ":8787"),
        ) as cluster, Client(cluster) as client:
            yield client
        return
    cluster = _jobqueue_cluster(kind, options)
    try:
        if "minimum_jobs" in options or "maximum_jobs" in options:
            cluster.adapt(minimum_jobs=options.get("minimum_jobs", 0), maximum_jobs=options.get("maximum_jobs", 1))
        else:
            cluster.scale(jobs=options.get("jobs", 1))
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()
