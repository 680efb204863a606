"""pairsweep.cluster._compat: every private API of dask-jobqueue, distributed and tornado
that pairsweep uses, probed on real objects. When one of these fails after an upgrade, the
fix belongs in cluster/_compat.py alone.

The batch-cluster tests run a real dask-jobqueue SLURMCluster (its scheduler runs here)
against a stand-in ``sbatch`` on PATH: a shell script, because no SLURM runs here
(tests/slurm/ does the same against a live one).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import stat
import warnings
from pathlib import Path

import pytest

from pairsweep.cluster import WorkerStartError, _compat, connect


def test_installed_dask_jobqueue_is_a_tested_version() -> None:
    # Fails on purpose after an upgrade: re-run this file, check the probes below, then
    # add the version to TESTED_JOBQUEUE.
    assert _compat.jobqueue_version() in _compat.TESTED_JOBQUEUE, (
        f"dask-jobqueue {_compat.jobqueue_version()} is not in TESTED_JOBQUEUE {_compat.TESTED_JOBQUEUE}: "
        "review pairsweep/cluster/_compat.py against its source")


def test_an_untested_version_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_compat, "TESTED_JOBQUEUE", ((0, 1),))
    monkeypatch.setattr(_compat, "_warned", set())
    with pytest.warns(RuntimeWarning, match=r"tested with dask-jobqueue 0\.1, not \d+\.\d+"):
        _compat._check_version()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _compat._check_version()  # the second time is silent


def test_jobqueue_still_sets_a_sigint_handler_at_import() -> None:
    # The reason import_jobqueue guards signal.signal; if this fails, the guard can go.
    import dask_jobqueue.runner as runner

    assert "signal.signal(signal.SIGINT" in inspect.getsource(runner)


def test_job_template_attributes_exist_on_a_real_job() -> None:
    jobqueue = _compat.import_jobqueue()
    from dask_jobqueue.slurm import SLURMJob

    assert isinstance(inspect.getattr_static(jobqueue.JobQueueCluster, "_dummy_job"), property)
    job = SLURMJob("tcp://h:1", name="w", cores=4, processes=2, memory="2GiB", job_name="pairsweep-x")
    assert (job.worker_processes, job.worker_process_threads) == (2, 2)
    assert "#SBATCH -J pairsweep-x" in job.job_header and job.job_name == "pairsweep-x"
    assert inspect.iscoroutinefunction(SLURMJob.start)


def test_quiet_submit_refused_drops_only_refusals_and_only_inside(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tornado.application")
    loop = asyncio.new_event_loop()
    try:
        refused, other = loop.create_future(), loop.create_future()
        refused.set_exception(_compat.SubmitRefused("sbatch: error: no"))
        other.set_exception(ValueError("a real bug"))
        with caplog.at_level(logging.ERROR, logger="tornado.application"):
            with _compat.quiet_submit_refused():
                logger.error("Exception in callback %r", refused)
                logger.error("Exception in callback %r", other)
            logger.error("Exception in callback %r", refused)
        kept = [r.args[0] for r in caplog.records if r.name == "tornado.application"]
        assert kept == [other, refused]
    finally:
        loop.close()


def _fake_sbatch(directory: Path, body: str) -> dict[str, str]:
    """A PATH whose ``sbatch`` runs ``body``; no squeue, so job states are unknown."""
    directory.mkdir()
    script = directory / "sbatch"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{directory}{os.pathsep}{os.environ['PATH']}"}


OPTIONS = {"cores": 4, "processes": 2, "memory": "1GiB", "dashboard_address": "127.0.0.1:0", "start_timeout": 30}


def test_refused_submission_is_recorded_and_reported_without_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    env = _fake_sbatch(tmp_path / "bin", "echo 'sbatch: error: Memory specification can not be satisfied' >&2; exit 1")
    monkeypatch.setenv("PATH", env["PATH"])
    with caplog.at_level(logging.WARNING), pytest.raises(WorkerStartError) as info:
        with connect("slurm", OPTIONS):
            pytest.fail("no worker can connect")
    assert str(info.value).startswith("cluster.memory: SLURM refused the worker job: "
                                      "sbatch: error: Memory specification can not be satisfied")
    assert "the job asked for: " in str(info.value) and "--mem=" in str(info.value)
    assert any("SLURM refused a worker job" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.name == "tornado.application"]


def test_submitted_jobs_and_the_job_template_are_read_from_a_real_cluster(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from distributed.utils import sync

    from pairsweep.cluster.jobqueue import _jobqueue_cluster

    bin_dir = tmp_path / "bin"
    monkeypatch.setenv("PATH", _fake_sbatch(bin_dir, "echo 'Submitted batch job 4242'")["PATH"])
    (bin_dir / "scancel").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "scancel").chmod(0o755)
    cluster = _jobqueue_cluster("slurm", {**OPTIONS, "job_name": "pairsweep-t"})
    try:
        assert _compat.threads_per_job(cluster) == 4  # 2 processes x 2 threads
        assert _compat.job_name(cluster) == "pairsweep-t"
        assert "#SBATCH -J pairsweep-t" in _compat.job_header(cluster)
        sockets = _compat.dashboard_sockets(cluster.scheduler)
        assert sockets and {host for host, *_ in sockets} == {"127.0.0.1"}
        cluster.scale(jobs=1)
        sync(cluster.loop, asyncio.sleep, 0.5)
        for _ in range(100):
            if cluster.submitted_jobs:
                break
            sync(cluster.loop, asyncio.sleep, 0.1)
        assert cluster.submitted_jobs == ["4242"] and cluster.submit_failures == []
    finally:
        cluster.close()


def test_a_batch_cluster_without_workers_times_out_naming_its_jobs(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    monkeypatch.setenv("PATH", _fake_sbatch(bin_dir, "echo 'Submitted batch job 4242'")["PATH"])
    (bin_dir / "scancel").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "scancel").chmod(0o755)
    # (whether the job was submitted within the second depends on the machine's load)
    with pytest.raises(WorkerStartError, match=r"^cluster\.start_timeout: no worker connected within 1 s; "
                                               r"SLURM jobs: (4242 UNKNOWN|none submitted)$"):
        with connect("slurm", {**OPTIONS, "start_timeout": 1}):
            pytest.fail("no worker can connect")
