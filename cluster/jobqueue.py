"""``kind = "slurm"`` and ``"pbs"``: worker jobs through dask-jobqueue.

The spec's options become a dask-jobqueue Job's keyword arguments with pairsweep's
defaults filled in (one single-threaded worker process per core, a unique job name, worker
lifetimes that end before the walltime, a dashboard on localhost). The cluster class made
here records every submitted job id and every refused submission, so that
:func:`pairsweep.cluster.connect` can report why no worker came and ``pairsweep status`` can
find the run's jobs. dask-jobqueue's private parts are reached through :mod:`._compat` only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from . import _compat, batch
from .dashboard import DEFAULT_DASHBOARD
from .errors import ClusterError
from .options import (
    _JOB_KEYS,
    _LIST_KEYS,
    _PBS_ONLY,
    _SLURM_ONLY,
    BATCH_KINDS,
    _config,
    _is_int,
    _walltime_seconds,
    validate,
)

__all__ = ["job_script", "lifetime_args"]

_log = logging.getLogger("pairsweep.cluster")


def lifetime_args(walltime_seconds: int, margin: int | None = None) -> list[str]:
    """Worker ``--lifetime``/``--lifetime-stagger`` options for a job of this walltime.

    Workers retire at ``walltime - margin ± stagger`` with ``stagger = margin / 4`` (at
    most 5 min), so the latest retirement is ``3/4 margin`` before the batch system's kill:
    time enough for a graceful shutdown, which hands the running block back to the
    scheduler (it is recomputed elsewhere, never lost). The margin defaults to a tenth of
    the walltime, at least a minute, at most half of it; the stagger keeps all workers of
    one start from retiring (and being replaced) at the same moment.
    """
    if margin is None:
        margin = max(60, walltime_seconds // 10)
    # At least 2 s (room for the 1 s minimum stagger), at most half the walltime.
    margin = max(2, min(margin, walltime_seconds // 2))
    stagger = max(1, min(margin // 4, 300))
    lifetime = max(walltime_seconds - margin, 2 * stagger)
    return ["--lifetime", f"{lifetime}s", "--lifetime-stagger", f"{stagger}s"]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _job_kwargs(kind: str, options: Mapping[str, Any], job_name: str) -> dict[str, Any]:
    """Keyword arguments of the dask-jobqueue Job, with pairsweep's defaults filled in."""
    kwargs = {k: v for k, v in options.items() if k in _JOB_KEYS | _SLURM_ONLY | _PBS_ONLY}
    if "partition" in kwargs:
        kwargs["queue"] = kwargs.pop("partition")
    for key in _LIST_KEYS & set(kwargs):
        kwargs[key] = _as_list(kwargs[key])
    kwargs["job_name"] = job_name
    cores = kwargs.get("cores", _config(kind, "cores"))
    if "processes" not in kwargs and _config(kind, "processes") is None and _is_int(cores):
        # Kernels are GIL-bound: one single-threaded worker process per core
        # (dask-jobqueue's own default splits cores into threads).
        kwargs["processes"] = cores
    extra = _as_list(kwargs.get("worker_extra_args", _config(kind, "worker-extra-args")))
    walltime = kwargs.get("walltime", _config(kind, "walltime"))
    if walltime is not None and not any(a.startswith("--lifetime") for a in extra if a != "--lifetime-restart"):
        extra += lifetime_args(_walltime_seconds(walltime), options.get("lifetime_margin"))
    kwargs["worker_extra_args"] = extra
    return kwargs


def _classes(kind: str) -> tuple[type, type]:
    _compat.import_jobqueue()
    from dask_jobqueue import PBSCluster, SLURMCluster
    from dask_jobqueue.pbs import PBSJob
    from dask_jobqueue.slurm import SLURMJob

    return (SLURMCluster, SLURMJob) if kind == "slurm" else (PBSCluster, PBSJob)


def _recording_cluster_class(kind: str) -> type:
    """A dask-jobqueue cluster class whose jobs record submitted ids and failed submissions.

    dask-jobqueue submits from the cluster's event loop, where a refused ``sbatch`` is
    only logged; the client would then wait forever for a worker. Recording the error
    lets :func:`connect` report it.
    """
    cluster_cls, job_cls = _classes(kind)
    failures: list[str] = []
    submitted: list[str] = []

    def refused(exc: Exception) -> str:
        summary = batch.submit_error_summary(exc)
        failures.append(summary)
        _log.warning("%s refused a worker job: %s", kind.upper(), summary)
        return summary

    base, _ = _compat.recording_classes(cluster_cls, job_cls, on_submitted=submitted.append, on_refused=refused)

    class PairsweepCluster(base):  # type: ignore[misc, valid-type]
        submit_failures = failures
        submitted_jobs = submitted  # every job id, including ended and replaced ones
        pairsweep_kind = kind
        #: Worker threads at ``maximum_jobs``, set by connect (read by ``capacity``).
        pairsweep_max_threads: int | None = None

    PairsweepCluster.__name__ = cluster_cls.__name__
    return PairsweepCluster


def _default_job_name() -> str:
    return f"pairsweep-{uuid.uuid4().hex[:8]}"


def _job_name(options: Mapping[str, Any]) -> str:
    return options.get("job_name") or options.get("name") or _default_job_name()


def _jobqueue_cluster(kind: str, options: Mapping[str, Any]) -> Any:
    cls = _recording_cluster_class(kind)
    kwargs = _job_kwargs(kind, options, _job_name(options))
    scheduler_options = dict(options.get("scheduler_options", {}))
    if "dashboard_address" not in scheduler_options:
        # The scheduler runs on the (shared) login node: its dashboard drives the cluster,
        # so it listens on localhost unless asked otherwise (dask's default is every interface).
        configured = _config(kind, "scheduler-options") or {}
        scheduler_options["dashboard_address"] = options.get(
            "dashboard_address", configured.get("dashboard_address", DEFAULT_DASHBOARD))
    kwargs["scheduler_options"] = scheduler_options
    return cls(**kwargs)


def job_script(kind: str, options: Mapping[str, Any]) -> str:
    """The batch script a SLURM/PBS worker job would be submitted with (``--dry-run``).

    Rendered without starting a scheduler; its address appears as a placeholder.
    """
    validate(kind, options)
    if kind not in BATCH_KINDS:
        raise ClusterError(f"cluster.kind: {kind!r} submits no job script; only slurm and pbs do")
    _, job_cls = _classes(kind)
    kwargs = _job_kwargs(kind, options, _job_name(options))
    job = job_cls("tcp://<scheduler-address>:8786", name="<worker-name>", **kwargs)
    return job.job_script()


