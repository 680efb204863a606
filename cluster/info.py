"""What the engine asks of a connected cluster: how many threads it can reach (to size the
in-flight window) and what to record in a run's info (for ``pairsweep status``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _compat

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["capacity", "cluster_info"]


def _job_ids(cluster: Any) -> list[str]:
    """Batch job ids of the cluster's current (pending or running) jobs."""
    return [str(job.job_id) for job in list(cluster.workers.values()) if getattr(job, "job_id", None)]


def capacity(client: Client) -> int:
    """Worker threads the client's cluster can reach: for an adaptive batch cluster its
    maximum (``maximum_jobs`` x threads per job), otherwise the threads connected now.

    The engine sizes its in-flight window from this. Sized from the connected threads
    alone, an adaptive cluster that starts with one job would only ever see a few queued
    blocks, and dask's adaptive target (queued seconds / 5 s) would never ask for more jobs.
    """
    connected = sum(w["nthreads"] for w in client.scheduler_info(n_workers=-1)["workers"].values())
    maximum = getattr(getattr(client, "cluster", None), "pairsweep_max_threads", None)
    return max(1, connected, maximum or 0)


def cluster_info(client: Client) -> dict[str, Any]:
    """What the engine records in a run's info so ``pairsweep status`` can show its jobs:
    the cluster kind, the scheduler address, and for batch clusters the job name and the
    ids of every job submitted so far, replaced ones included (JSON-serialisable).

    Never raises (it is called in the engine's ``finally``): what cannot be read is left out.
    """
    from distributed import LocalCluster

    cluster = getattr(client, "cluster", None)
    info: dict[str, Any] = {}
    try:
        info["scheduler"] = client.scheduler.address if client.scheduler else None
    except Exception:  # noqa: BLE001 - a closed client has no address; not worth failing for
        info["scheduler"] = None
    if cluster is None:
        info["kind"] = "address"
        return info
    if isinstance(cluster, LocalCluster):
        info["kind"] = "local"
        return info
    info["kind"] = getattr(cluster, "pairsweep_kind", None) or type(cluster).__name__
    try:
        info["job_name"] = _compat.job_name(cluster)
        info["job_ids"] = list(getattr(cluster, "submitted_jobs", None) or _job_ids(cluster))
    except Exception:  # noqa: BLE001
        pass
    return info
