"""The ``[cluster]`` section: which options each kind takes, and checking them before
anything starts.

Importable without distributed or dask-jobqueue (only dask's configuration is read): the
CLI and ``--dry-run`` validate with it. For batch clusters a value missing from the spec is
looked up in dask-jobqueue's ``jobqueue.yaml`` exactly as dask-jobqueue would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import dask
from dask.utils import parse_bytes

from .errors import ClusterError
from .script_values import check_dashboard_address, check_script_values

__all__ = ["BATCH_KINDS", "KINDS", "validate"]

KINDS = ("local", "address", "slurm", "pbs")
#: Kinds whose workers are batch jobs submitted through dask-jobqueue.
BATCH_KINDS = ("slurm", "pbs")

_LOCAL_KEYS = {"n_workers", "threads_per_worker", "memory_limit", "dashboard_address"}
_ADDRESS_KEYS = {"address"}
# dask-jobqueue keyword arguments passed through to the worker jobs (see its docs).
_JOB_KEYS = {
    "queue", "account", "walltime", "cores", "memory", "processes", "interface",
    "job_script_prologue", "job_extra_directives", "job_directives_skip", "local_directory",
    "log_directory", "python", "shebang", "worker_extra_args", "death_timeout",
}
_SLURM_ONLY = {"partition", "job_cpu", "job_mem"}
_PBS_ONLY = {"resource_spec"}
# Options of the scheduler that runs in the submitting process.
_SCHEDULER_KEYS = {"scheduler_options"}
# pairsweep's own: scaling, walltime safety, start-up checks. ``name``/``job_name`` is the
# batch job name (jobqueue.yaml's ``name``); by default a unique ``pairsweep-<id>`` so that
# `pairsweep status` can find this run's jobs.
_PAIRSWEEP_KEYS = {"jobs", "minimum_jobs", "maximum_jobs", "lifetime_margin", "start_timeout", "job_name", "name",
                   "dashboard_address"}
_BATCH_KEYS = _JOB_KEYS | _SCHEDULER_KEYS | _PAIRSWEEP_KEYS
_ALLOWED = {
    "local": _LOCAL_KEYS,
    "address": _ADDRESS_KEYS,
    "slurm": _BATCH_KEYS | _SLURM_ONLY,
    "pbs": _BATCH_KEYS | _PBS_ONLY,
}
_STR_KEYS = {"queue", "partition", "account", "interface", "local_directory", "log_directory",
             "python", "shebang", "job_name", "name", "resource_spec", "job_mem", "address",
             "dashboard_address"}
_LIST_KEYS = {"job_script_prologue", "job_extra_directives", "job_directives_skip", "worker_extra_args"}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _config(kind: str, key: str) -> Any:
    return dask.config.get(f"jobqueue.{kind}.{key}", None)


def validate(kind: str, options: Mapping[str, Any]) -> None:
    """Check the cluster section of a spec before anything starts.

    Every error is a :class:`ClusterError` whose message starts with ``cluster.<field>``.
    For batch clusters, values missing here are looked up in dask-jobqueue's configuration
    (``~/.config/dask/jobqueue.yaml``) exactly as dask-jobqueue would.
    """
    if kind not in KINDS:
        raise ClusterError(f"cluster.kind: unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
    unknown = set(options) - _ALLOWED[kind]
    if unknown:
        key = sorted(unknown)[0]
        hint = ""
        if key == "partition":
            hint = " (PBS calls it queue)"
        elif key in _ALLOWED["slurm"] | _ALLOWED["pbs"]:
            hint = f" (it is an option of {'slurm' if key in _SLURM_ONLY else 'pbs' if key in _PBS_ONLY else 'batch'} clusters)"
        raise ClusterError(
            f"cluster.{key}: not an option of a {kind} cluster{hint}; "
            f"allowed: {', '.join(sorted(_ALLOWED[kind]))}"
        )
    check_script_values(options)
    if "dashboard_address" in options:
        check_dashboard_address("cluster.dashboard_address", options["dashboard_address"])
    if kind == "address" and not isinstance(options.get("address"), str):
        raise ClusterError("cluster.address: required for kind 'address' (e.g. 'tcp://host:8786')")
    for key in sorted(_STR_KEYS & set(options)):
        if not isinstance(options[key], str) or not options[key]:
            raise ClusterError(f"cluster.{key}: expected a non-empty string, got {options[key]!r}")
    for key in ("n_workers", "threads_per_worker", "cores", "processes", "job_cpu", "maximum_jobs", "jobs"):
        if key in options and (not _is_int(options[key]) or options[key] < 1):
            raise ClusterError(f"cluster.{key}: expected an integer >= 1, got {options[key]!r}")
    for key in ("minimum_jobs", "lifetime_margin", "death_timeout"):
        if key in options and (not _is_int(options[key]) or options[key] < 0):
            raise ClusterError(f"cluster.{key}: expected an integer >= 0, got {options[key]!r}")
    if "start_timeout" in options:
        value = options["start_timeout"]
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ClusterError(f"cluster.start_timeout: expected seconds >= 0 (0: wait forever), got {value!r}")
    if kind not in BATCH_KINDS:
        return

    for key in sorted(_LIST_KEYS & set(options)):
        value = options[key]
        if isinstance(value, str):
            continue  # a single line; turned into a one-element list
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ClusterError(f"cluster.{key}: expected a list of strings, got {value!r}")
    if "scheduler_options" in options and not isinstance(options["scheduler_options"], Mapping):
        raise ClusterError(f"cluster.scheduler_options: expected a table, got {options['scheduler_options']!r}")
    if {"queue", "partition"} <= set(options):
        raise ClusterError("cluster.partition: give either queue or partition (they are the same), not both")
    if {"name", "job_name"} <= set(options):
        raise ClusterError("cluster.name: give either name or job_name (they are the same), not both")
    if "jobs" in options and ({"minimum_jobs", "maximum_jobs"} & set(options)):
        raise ClusterError("cluster.jobs: give either jobs (a fixed number) or minimum_jobs/maximum_jobs (adaptive)")
    minimum, maximum = _job_range(options)
    if minimum > maximum:
        raise ClusterError(f"cluster.minimum_jobs: {minimum} exceeds cluster.maximum_jobs {maximum}")

    cores = options.get("cores", _config(kind, "cores"))
    if cores is None:
        raise ClusterError(f"cluster.cores: required for a {kind} cluster (cores per worker job, e.g. cores = 1), "
                           f"here or as jobqueue.{kind}.cores in dask's jobqueue.yaml")
    memory = options.get("memory", _config(kind, "memory"))
    if memory is None:
        raise ClusterError(f"cluster.memory: required for a {kind} cluster (memory per worker job, e.g. "
                           f"memory = \"4GiB\"), here or as jobqueue.{kind}.memory in dask's jobqueue.yaml")
    try:
        if parse_bytes(memory) <= 0:
            raise ValueError
    except (ValueError, TypeError):
        raise ClusterError(f"cluster.memory: {memory!r} is not an amount of memory such as \"4GiB\" or \"500MB\"") from None
    processes = options.get("processes", _config(kind, "processes"))
    if processes is not None and _is_int(cores) and cores % processes:
        raise ClusterError(f"cluster.processes: {processes} does not divide cluster.cores = {cores}; "
                           "each worker process gets cores/processes threads")
    walltime = options.get("walltime", _config(kind, "walltime"))
    if walltime is not None:
        seconds = _walltime_seconds(walltime)
        if seconds < 60:
            raise ClusterError(f"cluster.walltime: {walltime!r} is under a minute; a worker needs time to start")
        if "lifetime_margin" in options and options["lifetime_margin"] >= seconds:
            raise ClusterError(f"cluster.lifetime_margin: {options['lifetime_margin']} s is not shorter than "
                               f"the walltime {walltime!r} ({seconds} s)")


def _job_range(options: Mapping[str, Any]) -> tuple[int, int]:
    if "jobs" in options:
        return options["jobs"], options["jobs"]
    if {"minimum_jobs", "maximum_jobs"} & set(options):
        minimum = options.get("minimum_jobs", 0)
        return minimum, options.get("maximum_jobs", max(minimum, 1))
    return 1, 1


def _walltime_seconds(walltime: Any) -> int:
    """SLURM/PBS walltime ``[D-]HH:MM:SS`` or ``MM:SS`` or minutes, in seconds."""
    match = re.fullmatch(r"(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)", str(walltime).strip())
    if match:
        days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
        return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if str(walltime).strip().isdigit():
        return int(walltime) * 60
    raise ClusterError(f"cluster.walltime: {walltime!r} is not HH:MM:SS, D-HH:MM:SS, MM:SS or minutes")

