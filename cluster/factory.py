"""Create or connect to the Dask cluster a sweep runs on.

Kinds: ``local`` (a :class:`distributed.LocalCluster` sized to the machine, one
single-threaded worker process per core because kernels are GIL-bound Python/numpy),
``address`` (an existing scheduler), ``slurm`` and ``pbs`` (worker jobs through
dask-jobqueue; its usual ``jobqueue.yaml`` configuration is honoured, options given here
override it).

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
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dask
from dask.utils import parse_bytes
from distributed import Client, LocalCluster
from distributed.core import Status

from . import batch
from .errors import ClusterError, WorkerStartError
from .script_values import check_dashboard_address, check_script_values

__all__ = [
    "KINDS",
    "ClusterError",
    "WorkerStartError",
    "capacity",
    "cluster_info",
    "connect",
    "job_script",
    "dashboard_link",
    "jobs_table",
    "tunnel_hint",
    "validate",
]

jobs_table = batch.jobs_table
_log = logging.getLogger("pairsweep.cluster")

KINDS = ("local", "address", "slurm", "pbs")

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

#: Where the scheduler's dashboard listens unless ``cluster.dashboard_address`` says otherwise:
#: localhost only. On a shared login node every user could otherwise open (and drive) it.
DEFAULT_DASHBOARD = "127.0.0.1:8787"

#: Seconds :func:`connect` waits for the first worker of a batch cluster by default.
DEFAULT_START_TIMEOUT = 3600
_POLL_SECONDS = 1.0
_REPORT_EVERY = 30.0

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
    """The settings :func:`connect` gives a local cluster's workers (see ``_LOCAL_WORKER_CONFIG``)."""
    return {key: coarse for key, (default, coarse) in _LOCAL_WORKER_CONFIG.items()
            if dask.config.get(key, None) == default}


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------


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
    if kind not in ("slurm", "pbs"):
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


# ---------------------------------------------------------------------------------------
# dask-jobqueue clusters
# ---------------------------------------------------------------------------------------


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


def _import_jobqueue() -> None:
    """Import dask_jobqueue without letting it replace the process's SIGINT handler.

    ``dask_jobqueue.runner`` calls ``signal.signal(SIGINT, sys.exit)`` at import: outside
    the main thread (a sweep started from a thread or a notebook's executor) that raises
    ValueError, and in the main thread it silently changes what Ctrl-C does to the whole
    program. The handler it would install is only for its runner scripts, not used here.
    """
    if "dask_jobqueue" in sys.modules:
        return
    import signal

    original = signal.signal
    keep = signal.getsignal(signal.SIGINT)

    def guarded(signum: int, handler: Any) -> Any:
        if signum == signal.SIGINT:
            return keep
        return original(signum, handler)

    signal.signal = guarded  # type: ignore[assignment]
    try:
        import dask_jobqueue  # noqa: F401
    finally:
        signal.signal = original


def _classes(kind: str) -> tuple[type, type]:
    _import_jobqueue()
    from dask_jobqueue import PBSCluster, SLURMCluster
    from dask_jobqueue.pbs import PBSJob
    from dask_jobqueue.slurm import SLURMJob

    return (SLURMCluster, SLURMJob) if kind == "slurm" else (PBSCluster, PBSJob)


def _recording_cluster_class(kind: str) -> type:
    """A dask-jobqueue cluster class whose jobs record failed submissions.

    dask-jobqueue submits from the cluster's event loop, where a refused ``sbatch`` is
    only logged; the client would then wait forever for a worker. Recording the error
    lets :func:`connect` report it.
    """
    cluster_cls, job_cls = _classes(kind)
    failures: list[str] = []
    submitted: list[str] = []

    class RecordingJob(job_cls):  # type: ignore[misc, valid-type]
        async def start(self) -> None:
            try:
                await super().start()
                submitted.append(str(self.job_id))
            except Exception as exc:
                summary = batch.submit_error_summary(exc)
                failures.append(summary)
                _log.warning("%s refused a worker job: %s", kind.upper(), summary)
                # A job left "created" makes the cluster's close() fail an assertion.
                self.status = Status.failed
                # Still raised, so dask counts the job as not started; the filter below keeps
                # the event loop from printing dask-jobqueue's whole traceback as well.
                raise SubmitRefused(summary) from None

    class RecordingCluster(cluster_cls):  # type: ignore[misc, valid-type]
        job_cls = RecordingJob
        submit_failures = failures
        submitted_jobs = submitted  # every job id, including ended and replaced ones
        pairsweep_kind = kind

    RecordingJob.__name__ = job_cls.__name__
    RecordingCluster.__name__ = cluster_cls.__name__
    return RecordingCluster


class SubmitRefused(RuntimeError):
    """``sbatch``/``qsub`` refused a worker job (already reported by :data:`_log`)."""


class _DropSubmitRefused(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None and record.args:
            # tornado logs "Exception in callback %r" with the failed future as argument.
            exc = next((getattr(a, "exception", lambda: None)() for a in record.args
                        if hasattr(a, "exception") and getattr(a, "done", lambda: False)()), None)
        return not isinstance(exc, SubmitRefused)


logging.getLogger("tornado.application").addFilter(_DropSubmitRefused())


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
    if kind not in ("slurm", "pbs"):
        raise ClusterError(f"cluster.kind: {kind!r} submits no job script; only slurm and pbs do")
    _, job_cls = _classes(kind)
    kwargs = _job_kwargs(kind, options, _job_name(options))
    job = job_cls("tcp://<scheduler-address>:8786", name="<worker-name>", **kwargs)
    return job.job_script()


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
    job = cluster._dummy_job
    directives = [line.split(None, 1)[1] for line in job.job_header.splitlines() if line.startswith("#")]
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


def _job_ids(cluster: Any) -> list[str]:
    return [str(job.job_id) for job in list(cluster.workers.values()) if getattr(job, "job_id", None)]


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
def _children_ignore_sigint() -> Iterator[None]:
    """Worker processes started inside this context ignore SIGINT.

    A terminal's Ctrl-C goes to the whole process group: local workers would each die with
    a traceback while the client is still recording what was kept. The client process
    alone handles it, and its cluster shuts the workers down. The disposition is inherited
    by the spawned interpreters; the client's own handler is restored on exit.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
        return
    options.setdefault("job_name", _job_name(options))
    options.pop("name", None)
    cluster = _jobqueue_cluster(kind, options)
    try:
        minimum, maximum = _job_range(options)
        job = cluster._dummy_job
        cluster.pairsweep_max_threads = max(maximum, 1) * job.worker_processes * job.worker_process_threads
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


def dashboard_link(client: Client) -> str | None:
    """The dashboard's address as it really listens.

    distributed builds ``dashboard_link`` from the scheduler's contact address, which for a
    batch cluster is the login node's network address even when the dashboard listens on
    localhost only; a link that does not open is worse than none.
    """
    link = client.dashboard_link
    scheduler = getattr(getattr(client, "cluster", None), "scheduler", None)
    server = getattr(scheduler, "http_server", None)
    try:
        bound = [sock.getsockname() for sock in server._sockets.values()]  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - a remote scheduler: its own link is all we know
        return link
    if bound and all(addr[0] in ("127.0.0.1", "::1") for addr in bound):
        return f"http://127.0.0.1:{bound[0][1]}/status"
    return link


def tunnel_hint(link: str) -> str | None:
    """How to open a dashboard that listens on localhost from another machine (an SSH
    tunnel), or None when the link is not on localhost."""
    match = re.match(r"https?://(127\.0\.0\.1|localhost|\[::1\]):(\d+)(/\S*)?$", link)
    if not match:
        return None
    port, path = match[2], match[3] or "/status"
    host = socket.getfqdn()
    return (f"the dashboard listens on localhost only; from your own machine: "
            f"ssh -N -L {port}:127.0.0.1:{port} {host}  then open http://localhost:{port}{path}")


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
        info["job_name"] = cluster._dummy_job.job_name
        info["job_ids"] = list(getattr(cluster, "submitted_jobs", None) or _job_ids(cluster))
    except Exception:  # noqa: BLE001
        pass
    return info
