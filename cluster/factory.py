"""Create or connect to the Dask cluster a sweep runs on: :func:`connect`, and for batch
clusters the wait for their first worker.

Kinds: ``local`` (:mod:`.local`), ``address`` (an existing scheduler), ``slurm`` and
``pbs`` (worker jobs through dask-jobqueue, :mod:`.jobqueue`; its usual ``jobqueue.yaml``
configuration is honoured, options given here override it). Options are checked by
:func:`.options.validate` first.

Batch clusters (``slurm``, ``pbs``):

* Worker jobs are always managed by dask's adaptive scaler between ``minimum_jobs`` and
  ``maximum_jobs`` (``jobs = n`` means both are ``n``), so a job that ends (walltime,
  ``scancel``, node failure) is replaced; its running blocks are rescheduled by Dask and
  the engine's ledger never records a block that was not fully written.
* Workers retire before the walltime (``--lifetime``/``--lifetime-stagger``, computed from
  the effective walltime, including one from ``jobqueue.yaml``): a retiring worker hands its
  running block back to the scheduler instead of being killed inside it (dask-jobqueue#122).
* :func:`connect` waits for the first worker and fails fast with :class:`WorkerStartError`
  naming the batch system's reason when a job is refused at submission, can never start
  (e.g. ``PartitionConfig``), ends before its worker connects, or nothing connects within
  ``start_timeout`` seconds.

The other public names of :mod:`pairsweep.cluster` are re-exported here for code that
imported them from this module before it was split.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from distributed import Client

from . import _compat, batch
from .dashboard import DEFAULT_DASHBOARD, dashboard_link, tunnel_hint
from .errors import ClusterError, WorkerStartError
from .info import _job_ids, capacity, cluster_info
from .jobqueue import _job_name, _jobqueue_cluster, job_script, lifetime_args  # noqa: F401 - re-exported
from .local import local_client, local_worker_config
from .options import KINDS, _config, _job_range, _walltime_seconds, validate  # noqa: F401 - re-exported

__all__ = [
    "DEFAULT_DASHBOARD",
    "DEFAULT_START_TIMEOUT",
    "KINDS",
    "ClusterError",
    "WorkerStartError",
    "capacity",
    "cluster_info",
    "connect",
    "dashboard_link",
    "job_script",
    "jobs_table",
    "lifetime_args",
    "local_worker_config",
    "tunnel_hint",
    "validate",
    "wait_for_first_worker",
]

jobs_table = batch.jobs_table

#: Seconds :func:`connect` waits for the first worker of a batch cluster by default.
DEFAULT_START_TIMEOUT = 3600
_POLL_SECONDS = 1.0
_REPORT_EVERY = 30.0


# ---------------------------------------------------------------------------------------
# Waiting for the first worker
# ---------------------------------------------------------------------------------------

# Which option a batch system's complaint is about, first match wins (e.g. "Invalid
# account or account/partition combination" is about the account).
_FIELD_HINTS = (
    (re.compile(r"memory|mem\b|MaxMemPer", re.IGNORECASE), "cluster.memory"),
    (re.compile(r"time ?limit|wall ?duration|walltime", re.IGNORECASE), "cluster.walltime"),
    (re.compile(r"cpu|core|node configuration", re.IGNORECASE), "cluster.cores"),
    (re.compile(r"account", re.IGNORECASE), "cluster.account"),
    (re.compile(r"partition|queue", re.IGNORECASE), "cluster.queue"),
    (re.compile(r"qos", re.IGNORECASE), "cluster.job_extra_directives"),
)


def _field_for(reason: str) -> str:
    for pattern, field in _FIELD_HINTS:
        if pattern.search(reason):
            return field
    return "cluster"


def _request_summary(cluster: Any) -> str:
    directives = [line.split(None, 1)[1] for line in _compat.job_header(cluster).splitlines()
                  if line.startswith("#")]
    # Name and log files say nothing about why a job cannot run.
    header = " ".join(d for d in directives if not re.match(r"(-[Jeo]|-N)\b", d))
    return f"the job asked for: {header}"


def _log_tail(kind: str, job_id: str, log_directory: str | None, job_name: str) -> str:
    candidates = []
    if log_directory:
        candidates += [Path(log_directory) / f"{job_name}-{job_id}.err", Path(log_directory) / f"{job_name}-{job_id}.out"]
    elif kind == "slurm":
        candidates.append(Path.cwd() / f"slurm-{job_id}.out")
    for path in candidates:
        try:
            lines = path.read_text(errors="replace").strip().splitlines()
        except OSError:
            continue
        if lines:
            return f"\n  last lines of {path}:\n    " + "\n    ".join(lines[-8:])
    return ""


def wait_for_first_worker(cluster: Any, client: Client, kind: str, *, timeout: float | None,
                          log_directory: str | None = None, job_name: str = "") -> None:
    """Block until one worker connects; raise :class:`WorkerStartError` when none can.

    Polls the scheduler for workers and the batch system for the jobs' states. Fails at
    once when a submission was refused, a pending job can never start (its reason says so),
    or every submitted job ended before a worker connected; otherwise after ``timeout``
    seconds (``None``: never), naming each job's state and reason.
    """
    name = kind.upper()
    started = time.monotonic()
    last_report = started
    seen: dict[str, batch.JobState] = {}
    while True:
        if client.scheduler_info(n_workers=-1)["workers"]:
            return
        failures = list(getattr(cluster, "submit_failures", []))
        if failures:
            reason = failures[-1]
            raise WorkerStartError(
                f"{_field_for(reason)}: {name} refused the worker job: {reason} ({_request_summary(cluster)})"
            )
        ids = _job_ids(cluster)
        states = batch.job_states(kind, ids) or {}
        seen.update(states)
        for job_id in ids:
            if job_id not in states and job_id in seen and not seen[job_id].ended:
                # Purged from the queue without us seeing it end: it ended.
                seen[job_id] = batch.JobState(job_id, "ENDED", "left the queue")
        hopeless = [s for s in states.values() if batch.hopeless_reason(kind, s)]
        if hopeless:
            s = hopeless[0]
            raise WorkerStartError(
                f"{_field_for(s.reason)}: {name} job {s.job_id} can never start: pending with reason "
                f"{s.reason!r} ({_request_summary(cluster)})",
                states,
            )
        ended = [seen[j] for j in ids if j in seen and (seen[j].ended or seen[j].state == "ENDED")]
        if ids and len(ended) == len(ids) and not client.scheduler_info(n_workers=-1)["workers"]:
            s = ended[0]
            raise WorkerStartError(
                f"cluster: {name} job {s} ended before its Dask worker connected to the scheduler "
                f"at {cluster.scheduler_address}"
                + _log_tail(kind, s.job_id, log_directory, job_name),
                states,
            )
        now = time.monotonic()
        if timeout is not None and now - started > timeout:
            listed = ", ".join(str(seen.get(j, batch.JobState(j, "UNKNOWN"))) for j in ids) or "none submitted"
            raise WorkerStartError(
                f"cluster.start_timeout: no worker connected within {timeout:g} s; {name} jobs: {listed}",
                states,
            )
        if now - last_report > _REPORT_EVERY:
            last_report = now
            listed = ", ".join(str(seen.get(j, batch.JobState(j, "UNKNOWN"))) for j in ids) or "none yet"
            print(f"pairsweep: waiting for {name} worker jobs: {listed}", file=sys.stderr)
        time.sleep(_POLL_SECONDS)


# ---------------------------------------------------------------------------------------
# connect
# ---------------------------------------------------------------------------------------


@contextmanager
def connect(kind: str = "local", options: Mapping[str, Any] | None = None) -> Iterator[Client]:
    """A client on a cluster of the given kind, closed (and the cluster shut down) on exit.

    For ``slurm`` and ``pbs`` the context is entered only once a worker has connected;
    :class:`WorkerStartError` (a :class:`ClusterError`) says why none could.
    """
    options = dict(options or {})
    validate(kind, options)
    if kind == "address":
        with Client(options["address"]) as client:
            yield client
        return
    if kind == "local":
        with local_client(options) as client:
            yield client
        return
    options.setdefault("job_name", _job_name(options))
    options.pop("name", None)
    with _compat.quiet_submit_refused():
        cluster = _jobqueue_cluster(kind, options)
        try:
            minimum, maximum = _job_range(options)
            cluster.pairsweep_max_threads = max(maximum, 1) * _compat.threads_per_job(cluster)
            # Always adaptive, even for a fixed count: the adaptive loop is what replaces a job
            # that ended (walltime, scancel, node failure). Start with at least one job so the
            # start-up check has something to watch, then allow scaling to zero if asked.
            cluster.adapt(minimum_jobs=max(minimum, 1), maximum_jobs=max(maximum, 1))
            timeout = options.get("start_timeout", DEFAULT_START_TIMEOUT) or None
            with Client(cluster) as client:
                wait_for_first_worker(cluster, client, kind, timeout=timeout,
                                      log_directory=options.get("log_directory", _config(kind, "log-directory")),
                                      job_name=options["job_name"])
                if minimum == 0:
                    cluster.adapt(minimum_jobs=0, maximum_jobs=maximum)
                yield client
        finally:
            cluster.close()
