"""Every use of a dependency's private or undocumented API in pairsweep.cluster, in one place.

When dask-jobqueue, distributed or tornado changes, this is the one module to read, and
``tests/test_cluster_compat.py`` is the test that fails first: it checks the installed
dask-jobqueue against :data:`TESTED_JOBQUEUE` and probes each use below on real objects.
Nothing here is imported at package import time; dask_jobqueue itself is imported only
when a batch cluster is made (:func:`import_jobqueue`).

What is used, and why there is no public way:

* ``dask_jobqueue.runner`` sets a SIGINT handler at import (:func:`import_jobqueue`).
* ``JobQueueCluster._dummy_job`` (the job template), its ``job_header``, ``job_name``,
  ``worker_processes`` and ``worker_process_threads``: the cluster exposes the header and
  name publicly, but not the threads a job brings (:func:`threads_per_job`), and the
  template is also what a test's stand-in cluster provides.
* Overriding ``Job.start`` and setting ``Job.status``: dask-jobqueue submits from the event
  loop and only logs a refused ``sbatch``; :func:`recording_classes` records it instead.
* tornado's "Exception in callback %r" log record carries the failed future in its args
  (:class:`_DropSubmitRefused`).
* ``Scheduler.http_server._sockets`` (tornado): where the dashboard really listens
  (:func:`dashboard_sockets`); distributed's ``dashboard_link`` names the contact address.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

__all__ = [
    "TESTED_JOBQUEUE",
    "SubmitRefused",
    "dashboard_sockets",
    "import_jobqueue",
    "job_header",
    "job_name",
    "jobqueue_version",
    "quiet_submit_refused",
    "recording_classes",
    "threads_per_job",
]

#: dask-jobqueue ``(major, minor)`` releases whose internals the functions below were
#: checked against. Another version still runs (with a warning): the probes in
#: tests/test_cluster_compat.py say whether it works.
TESTED_JOBQUEUE = ((0, 8), (0, 9))

_warned: set[str] = set()


def jobqueue_version() -> tuple[int, int]:
    """The installed dask-jobqueue's ``(major, minor)``; (0, 0) when unreadable."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        parts = version("dask-jobqueue").split(".")
        return int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)
    except (PackageNotFoundError, IndexError, ValueError):
        return 0, 0


def _check_version() -> None:
    found = jobqueue_version()
    if found not in TESTED_JOBQUEUE and "jobqueue" not in _warned:
        _warned.add("jobqueue")
        tested = ", ".join(f"{a}.{b}" for a, b in TESTED_JOBQUEUE)
        warnings.warn(f"pairsweep.cluster was tested with dask-jobqueue {tested}, not "
                      f"{found[0]}.{found[1]}; if batch clusters misbehave, see pairsweep/cluster/_compat.py",
                      RuntimeWarning, stacklevel=3)


def import_jobqueue() -> ModuleType:
    """Import dask_jobqueue without letting it replace the process's SIGINT handler.

    ``dask_jobqueue.runner`` calls ``signal.signal(SIGINT, sys.exit)`` at import: outside
    the main thread (a sweep started from a thread or a notebook's executor) that raises
    ValueError, and in the main thread it silently changes what Ctrl-C does to the whole
    program. The handler is only for its runner scripts, which pairsweep does not use.
    ``signal.signal`` is replaced for the duration of that one import only.
    """
    if "dask_jobqueue" in sys.modules:
        return sys.modules["dask_jobqueue"]
    import signal

    original = signal.signal
    keep = signal.getsignal(signal.SIGINT)

    def guarded(signum: int, handler: Any) -> Any:
        if signum == signal.SIGINT:
            return keep
        return original(signum, handler)

    signal.signal = guarded  # type: ignore[assignment]
    try:
        import dask_jobqueue
    finally:
        signal.signal = original
    _check_version()
    return dask_jobqueue


def _template(cluster: Any) -> Any:
    try:
        return cluster._dummy_job
    except AttributeError:
        raise RuntimeError("dask-jobqueue's cluster has no _dummy_job any more: "
                           "pairsweep/cluster/_compat.py needs updating") from None


def job_header(cluster: Any) -> str:
    """The ``#SBATCH``/``#PBS`` header lines of the cluster's worker jobs."""
    return str(_template(cluster).job_header)


def job_name(cluster: Any) -> str:
    """The batch job name of the cluster's worker jobs."""
    return str(_template(cluster).job_name)


def threads_per_job(cluster: Any) -> int:
    """Worker threads one job of the cluster brings: processes x threads per process."""
    job = _template(cluster)
    return int(job.worker_processes) * int(job.worker_process_threads)


class SubmitRefused(RuntimeError):
    """``sbatch``/``qsub`` refused a worker job (already logged with the reason)."""


def recording_classes(cluster_cls: type, job_cls: type, *, on_submitted: Callable[[str], None],
                      on_refused: Callable[[Exception], str]) -> tuple[type, type]:
    """Subclasses of a dask-jobqueue cluster and job class whose jobs report submissions.

    ``on_submitted(job_id)`` is called for every job submitted; ``on_refused(exc)`` for a
    refused one, returning the one-line reason carried by the :class:`SubmitRefused`
    raised in its place (so dask still counts the job as not started).
    """
    from distributed.core import Status

    class RecordingJob(job_cls):  # type: ignore[misc, valid-type]
        async def start(self) -> None:
            try:
                await super().start()
            except Exception as exc:
                summary = on_refused(exc)
                # A job left "created" makes the cluster's close() fail an assertion.
                self.status = Status.failed
                raise SubmitRefused(summary) from None
            on_submitted(str(self.job_id))

    class RecordingCluster(cluster_cls):  # type: ignore[misc, valid-type]
        job_cls = RecordingJob

    RecordingJob.__name__ = job_cls.__name__
    RecordingCluster.__name__ = cluster_cls.__name__
    return RecordingCluster, RecordingJob


class _DropSubmitRefused(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None and record.args:
            # tornado logs "Exception in callback %r" with the failed future as argument.
            exc = next((getattr(a, "exception", lambda: None)() for a in record.args
                        if hasattr(a, "exception") and getattr(a, "done", lambda: False)()), None)
        return not isinstance(exc, SubmitRefused)


@contextmanager
def quiet_submit_refused() -> Iterator[None]:
    """While inside, the event loop does not print a refused job's whole traceback (the
    refusal is already logged in one line); the filter is removed on exit."""
    logger = logging.getLogger("tornado.application")
    drop = _DropSubmitRefused()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def dashboard_sockets(scheduler: Any) -> list[tuple[Any, ...]] | None:
    """The addresses the scheduler's dashboard is bound to; None when unknown (a remote
    scheduler, or tornado's server changed)."""
    server = getattr(scheduler, "http_server", None)
    try:
        return [sock.getsockname() for sock in server._sockets.values()]  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - not knowing only costs the localhost link
        return None
