"""Unit tests of pairsweep.cluster that need no batch system: option validation and its
messages, SLURM/PBS job-script rendering (jobqueue.yaml honoured, walltime-safe worker
lifetimes), parsing of squeue/qstat output, and the start-up checks of batch clusters
driven by fake jobs. The live SLURM tests are in tests/slurm/."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dask
import pytest

from pairsweep.cluster import ClusterError, WorkerStartError, capacity, cluster_info, job_script, jobs_table, validate
from pairsweep.cluster import batch, factory
from pairsweep.cluster.factory import _walltime_seconds, lifetime_args

BASE = {"cores": 1, "memory": "2GiB"}


# ---------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("kubernetes", {}, "cluster.kind: unknown kind 'kubernetes'; allowed: local, address, slurm, pbs"),
        ("slurm", {**BASE, "gpus": 1}, "cluster.gpus: not an option of a slurm cluster; allowed:"),
        ("pbs", {**BASE, "partition": "x"}, "cluster.partition: not an option of a pbs cluster (PBS calls it queue)"),
        ("pbs", {**BASE, "job_mem": "1G"}, "cluster.job_mem: not an option of a pbs cluster (it is an option of slurm clusters)"),
        ("local", {"walltime": "01:00:00"}, "cluster.walltime: not an option of a local cluster (it is an option of batch"),
        ("address", {}, "cluster.address: required for kind 'address'"),
        ("slurm", {"memory": "2GiB"}, "cluster.cores: required for a slurm cluster (cores per worker job"),
        ("pbs", {"cores": 2}, "cluster.memory: required for a pbs cluster"),
        ("slurm", {**BASE, "memory": "lots"}, "cluster.memory: 'lots' is not an amount of memory"),
        ("slurm", {**BASE, "cores": 0}, "cluster.cores: expected an integer >= 1, got 0"),
        ("slurm", {**BASE, "cores": True}, "cluster.cores: expected an integer >= 1, got True"),
        ("slurm", {**BASE, "cores": 4, "processes": 3}, "cluster.processes: 3 does not divide cluster.cores = 4"),
        ("slurm", {**BASE, "walltime": "1h"}, "cluster.walltime: '1h' is not HH:MM:SS"),
        ("slurm", {**BASE, "walltime": "00:00:30"}, "cluster.walltime: '00:00:30' is under a minute"),
        ("slurm", {**BASE, "walltime": "00:10:00", "lifetime_margin": 600}, "cluster.lifetime_margin: 600 s is not shorter"),
        ("slurm", {**BASE, "minimum_jobs": 3, "maximum_jobs": 2}, "cluster.minimum_jobs: 3 exceeds cluster.maximum_jobs 2"),
        ("slurm", {**BASE, "jobs": 2, "maximum_jobs": 4}, "cluster.jobs: give either jobs (a fixed number) or minimum_jobs"),
        ("slurm", {**BASE, "maximum_jobs": 0}, "cluster.maximum_jobs: expected an integer >= 1, got 0"),
        ("slurm", {**BASE, "queue": "a", "partition": "b"}, "cluster.partition: give either queue or partition"),
        ("slurm", {**BASE, "job_script_prologue": [1]}, "cluster.job_script_prologue: expected a list of strings"),
        ("slurm", {**BASE, "scheduler_options": "x"}, "cluster.scheduler_options: expected a table"),
        ("slurm", {**BASE, "start_timeout": -1}, "cluster.start_timeout: expected seconds >= 0 (0: wait forever)"),
        ("slurm", {**BASE, "account": ""}, "cluster.account: expected a non-empty string"),
    ],
)
def test_validation_messages_name_the_field(kind: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ClusterError) as info:
        validate(kind, options)
    assert str(info.value).startswith(message), str(info.value)


def test_valid_options_pass() -> None:
    validate("local", {"n_workers": 2})
    validate("address", {"address": "tcp://h:8786"})
    validate("slurm", {**BASE, "partition": "short", "account": "grp", "walltime": "1-00:00:00", "processes": 1,
                       "minimum_jobs": 0, "maximum_jobs": 10, "job_script_prologue": "module load python",
                       "start_timeout": 0})
    validate("pbs", {**BASE, "queue": "workq", "resource_spec": "select=1:ncpus=1:mem=2gb", "jobs": 3})


@pytest.mark.parametrize(("text", "seconds"), [("00:30:00", 1800), ("2-03:00:00", 183600), ("45:00", 2700),
                                                ("90", 5400), ("1-00:00:05", 86405)])
def test_walltime_forms(text: str, seconds: int) -> None:
    assert _walltime_seconds(text) == seconds


def test_cores_and_memory_may_come_from_jobqueue_yaml() -> None:
    with dask.config.set({"jobqueue.slurm.cores": 2, "jobqueue.slurm.memory": "4GiB"}):
        validate("slurm", {})
    with pytest.raises(ClusterError, match=r"^cluster\.cores"):
        validate("slurm", {"memory": "4GiB"})


# ---------------------------------------------------------------------------------------
# worker lifetime vs walltime
# ---------------------------------------------------------------------------------------


def _lifetime(args: list[str]) -> tuple[int, int]:
    return int(args[args.index("--lifetime") + 1].rstrip("s")), int(args[args.index("--lifetime-stagger") + 1].rstrip("s"))


@pytest.mark.parametrize("walltime", [60, 120, 600, 1800, 3600, 4 * 3600, 24 * 3600, 7 * 86400])
@pytest.mark.parametrize("margin", [None, 0, 30, 300, 3000])
def test_workers_always_retire_before_the_walltime(walltime: int, margin: int | None) -> None:
    lifetime, stagger = _lifetime(lifetime_args(walltime, margin))
    assert stagger >= 1
    assert lifetime - stagger > 0, "a worker must live"
    # The latest retirement leaves at least a second, and by default a minute or a twentieth
    # of the walltime, for the graceful shutdown before SLURM's kill.
    assert walltime - (lifetime + stagger) >= 1
    if margin is None:
        assert walltime - (lifetime + stagger) >= min(45, walltime // 4)


def test_default_lifetime_for_half_an_hour() -> None:
    # dask-jobqueue's default walltime: retire at 27 min ± 45 s.
    assert lifetime_args(1800) == ["--lifetime", "1620s", "--lifetime-stagger", "45s"]


# ---------------------------------------------------------------------------------------
# job scripts
# ---------------------------------------------------------------------------------------


def _directives(script: str, prefix: str) -> list[str]:
    return [line[len(prefix):].strip() for line in script.splitlines() if line.startswith(prefix)]


def _worker_line(script: str) -> str:
    (line,) = [ln for ln in script.splitlines() if "distributed.cli.dask_worker" in ln]
    return line


def test_slurm_script_carries_every_option() -> None:
    script = job_script("slurm", {
        "cores": 4, "memory": "8GiB", "partition": "short", "account": "grp42", "walltime": "02:00:00",
        "job_script_prologue": ["module load python/3.11", "export PYTHONPATH=/home/me/kernels"],
        "job_extra_directives": ["--qos=normal", "--constraint=skylake"], "job_name": "tc-scan",
        "log_directory": "/tmp/pairsweep-test-logs", "python": "/opt/venv/bin/python",
    })
    directives = _directives(script, "#SBATCH")
    for expected in ("-J tc-scan", "-p short", "-A grp42", "-n 1", "--cpus-per-task=4", "--mem=8G", "-t 02:00:00",
                     "--qos=normal", "--constraint=skylake", "-e /tmp/pairsweep-test-logs/tc-scan-%J.err"):
        assert expected in directives, (expected, directives)
    lines = script.splitlines()
    worker = _worker_line(script)
    assert lines.index("module load python/3.11") < lines.index(worker)
    assert worker.startswith("/opt/venv/bin/python -m distributed.cli.dask_worker")
    # One single-threaded process per core: kernels hold the GIL.
    assert "--nworkers 4" in worker and "--nthreads 1" in worker and "--memory-limit 2.00GiB" in worker
    # 2 h walltime: retire at 108 min ± 3 min.
    assert "--lifetime 6480s --lifetime-stagger 180s" in worker


def test_default_job_name_is_unique_per_run() -> None:
    names = {_directives(job_script("slurm", BASE), "#SBATCH")[0] for _ in range(3)}
    assert len(names) == 3 and all(n.startswith("-J pairsweep-") for n in names)


def test_user_lifetime_is_not_overridden() -> None:
    worker = _worker_line(job_script("slurm", {**BASE, "walltime": "01:00:00",
                                                "worker_extra_args": ["--lifetime", "20m", "--lifetime-stagger", "1m"]}))
    assert worker.count("--lifetime ") == 1 and "--lifetime 20m" in worker


def test_lifetime_margin_option() -> None:
    worker = _worker_line(job_script("slurm", {**BASE, "walltime": "01:00:00", "lifetime_margin": 600}))
    assert "--lifetime 3000s --lifetime-stagger 150s" in worker


def test_jobqueue_yaml_is_honoured_and_options_override_it() -> None:
    config = {
        "jobqueue.slurm.cores": 2, "jobqueue.slurm.memory": "3GiB", "jobqueue.slurm.queue": "from-yaml",
        "jobqueue.slurm.walltime": "04:00:00", "jobqueue.slurm.job-script-prologue": ["source /etc/profile"],
        "jobqueue.slurm.worker-extra-args": ["--resources", "GPU=0"],
    }
    with dask.config.set(config):
        script = job_script("slurm", {})
        overridden = job_script("slurm", {"partition": "mine", "walltime": "00:30:00"})
    directives = _directives(script, "#SBATCH")
    assert {"-p from-yaml", "--cpus-per-task=2", "--mem=3G", "-t 04:00:00"} <= set(directives)
    assert "source /etc/profile" in script.splitlines()
    worker = _worker_line(script)
    # The walltime from the config file decides the lifetime too; config worker args kept.
    assert "--resources GPU=0" in worker and "--lifetime 12960s --lifetime-stagger 300s" in worker
    assert {"-p mine", "-t 00:30:00"} <= set(_directives(overridden, "#SBATCH"))
    assert "--lifetime 1620s" in _worker_line(overridden)


def test_pbs_script_renders_the_same_options() -> None:
    script = job_script("pbs", {"cores": 2, "memory": "4GiB", "queue": "workq", "account": "grp42",
                                "walltime": "01:00:00", "job_script_prologue": ["module load python"],
                                "job_name": "tc-scan", "job_extra_directives": ["-m n"]})
    directives = _directives(script, "#PBS")
    for expected in ("-N tc-scan", "-q workq", "-A grp42", "-l select=1:ncpus=2:mem=4096MB", "-l walltime=01:00:00",
                     "-m n"):
        assert expected in directives, (expected, directives)
    worker = _worker_line(script)
    assert "--nworkers 2" in worker and "--lifetime 3240s --lifetime-stagger 90s" in worker
    assert script.splitlines().index("module load python") < script.splitlines().index(worker)


def test_pbs_resource_spec_replaces_the_default_select() -> None:
    script = job_script("pbs", {**BASE, "resource_spec": "select=1:ncpus=1:mem=2gb:model=rome"})
    assert "-l select=1:ncpus=1:mem=2gb:model=rome" in _directives(script, "#PBS")


def test_job_script_is_only_for_batch_kinds() -> None:
    with pytest.raises(ClusterError, match="cluster.kind: 'local' submits no job script"):
        job_script("local", {})


# ---------------------------------------------------------------------------------------
# batch-system output
# ---------------------------------------------------------------------------------------


def test_parse_squeue_and_hopeless_reasons() -> None:
    states = batch.parse_squeue("11|PENDING|PartitionConfig\n12|PENDING|Priority\n13|RUNNING|None\n"
                                "14|PENDING|QOSMaxMemoryPerJob\n15|PENDING|JobHeldUser\n16|CANCELLED|None\n")
    assert [s.state for s in states.values()] == ["PENDING", "PENDING", "RUNNING", "PENDING", "PENDING", "CANCELLED"]
    hopeless = {j for j, s in states.items() if batch.hopeless_reason("slurm", s)}
    assert hopeless == {"11", "14", "15"}
    assert states["16"].ended and not states["13"].ended
    assert str(states["12"]) == "12 PENDING (Priority)" and str(states["13"]) == "13 RUNNING"


PBS_QSTAT = """Job Id: 4242.pbs-server
    Job_Name = pairsweep-abc
    job_state = Q
    comment = Can Never Run: Insufficient amount of resource: mem (R: 1000gb A: 256gb T: 256gb)
    queue = workq

Job Id: 4243.pbs-server
    Job_Name = pairsweep-abc
    job_state = R
    queue = workq
"""


def test_parse_qstat_and_never_run() -> None:
    states = batch.parse_qstat_full(PBS_QSTAT)
    assert states["4242.pbs-server"].state == "PENDING" and states["4243.pbs-server"].state == "RUNNING"
    assert batch.hopeless_reason("pbs", states["4242.pbs-server"])
    assert not batch.hopeless_reason("pbs", states["4243.pbs-server"])


def test_submit_error_summary_keeps_the_batch_systems_words() -> None:
    text = ("Command exited with non-zero exit code.\nExit code: 1\nCommand:\nsbatch /tmp/x.sh\nstdout:\n\nstderr:\n"
            "sbatch: error: Memory specification can not be satisfied\n"
            "sbatch: error: Batch job submission failed: Requested node configuration is not available\n\n")
    assert batch.submit_error_summary(RuntimeError(text)) == (
        "sbatch: error: Memory specification can not be satisfied; "
        "sbatch: error: Batch job submission failed: Requested node configuration is not available")


def _fake_command(directory: Path, name: str, output: str, rc: int = 0) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\nexit {rc}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_jobs_table_from_squeue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_command(tmp_path, "squeue", "       JOBID PARTITION   NAME     STATE\n          17     debug  pairsweep-x  RUNNING")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    table = jobs_table({"kind": "slurm", "job_name": "pairsweep-x", "job_ids": ["17"]})
    assert table.splitlines()[0] == "  worker jobs (pairsweep-x):"
    assert "17" in table and "RUNNING" in table
    assert jobs_table({"kind": "local"}) == "" and jobs_table(None) == ""


def test_jobs_table_without_squeue(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert jobs_table({"kind": "slurm", "job_name": "pairsweep-x"}) == (
        "  worker jobs (pairsweep-x): squeue is not available on this host")


# ---------------------------------------------------------------------------------------
# start-up checks, with fake jobs
# ---------------------------------------------------------------------------------------


class _FakeClient:
    def __init__(self, connect_after: int | None = None) -> None:
        self.polls = 0
        self.connect_after = connect_after

    def scheduler_info(self, n_workers: int = 5) -> dict[str, Any]:
        self.polls += 1
        connected = self.connect_after is not None and self.polls > self.connect_after
        return {"workers": {"tcp://w:1": {}} if connected else {}}


def _fake_cluster(job_ids: list[str], failures: list[str] | None = None) -> Any:
    job = SimpleNamespace(job_header="#SBATCH -J x\n#SBATCH -n 1\n#SBATCH --mem=9G", job_name="x")
    return SimpleNamespace(workers={f"w{i}": SimpleNamespace(job_id=j) for i, j in enumerate(job_ids)},
                           submit_failures=failures or [], _dummy_job=job, scheduler_address="tcp://s:1")


@pytest.fixture
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(factory, "_POLL_SECONDS", 0.01)


def _states(monkeypatch: pytest.MonkeyPatch, text: str, kind: str = "slurm") -> None:
    parse = batch.parse_squeue if kind == "slurm" else batch.parse_qstat_full
    monkeypatch.setattr(batch, "job_states", lambda k, ids: parse(text))


def test_first_worker_connecting_ends_the_wait(monkeypatch: pytest.MonkeyPatch, fast_polls: None) -> None:
    _states(monkeypatch, "1|PENDING|Priority")
    client = _FakeClient(connect_after=3)
    factory.wait_for_first_worker(_fake_cluster(["1"]), client, "slurm", timeout=30)
    assert client.polls == 4


def test_refused_submission_names_the_field(fast_polls: None) -> None:
    cluster = _fake_cluster([], ["sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified"])
    with pytest.raises(WorkerStartError, match=r"^cluster\.account: SLURM refused the worker job: sbatch: error: "
                                                r"Batch job submission failed: Invalid account.*\(the job asked for: -n 1 --mem=9G\)"):
        factory.wait_for_first_worker(cluster, _FakeClient(), "slurm", timeout=30)


def test_hopeless_pending_reason_fails_at_once(monkeypatch: pytest.MonkeyPatch, fast_polls: None) -> None:
    _states(monkeypatch, "7|PENDING|Priority\n8|PENDING|QOSMaxWallDurationPerJobLimit")
    with pytest.raises(WorkerStartError) as info:
        factory.wait_for_first_worker(_fake_cluster(["7", "8"]), _FakeClient(), "slurm", timeout=30)
    assert str(info.value).startswith("cluster.walltime: SLURM job 8 can never start: pending with reason "
                                      "'QOSMaxWallDurationPerJobLimit'")
    assert set(info.value.states) == {"7", "8"}


def test_pbs_never_run_comment_fails_at_once(monkeypatch: pytest.MonkeyPatch, fast_polls: None) -> None:
    _states(monkeypatch, PBS_QSTAT, kind="pbs")
    with pytest.raises(WorkerStartError, match=r"^cluster\.memory: PBS job 4242\.pbs-server can never start"):
        factory.wait_for_first_worker(_fake_cluster(["4242.pbs-server"]), _FakeClient(), "pbs", timeout=30)


def test_job_ending_before_its_worker_connects(monkeypatch: pytest.MonkeyPatch, fast_polls: None,
                                               tmp_path: Path) -> None:
    _states(monkeypatch, "5|FAILED|NonZeroExitCode")
    (tmp_path / "x-5.err").write_text("Traceback (most recent call last):\nModuleNotFoundError: No module named 'distributed'\n")
    with pytest.raises(WorkerStartError) as info:
        factory.wait_for_first_worker(_fake_cluster(["5"]), _FakeClient(), "slurm", timeout=30,
                                      log_directory=str(tmp_path), job_name="x")
    message = str(info.value)
    assert message.startswith("cluster: SLURM job 5 FAILED (NonZeroExitCode) ended before its Dask worker connected")
    assert "ModuleNotFoundError: No module named 'distributed'" in message


def test_start_timeout_lists_states(monkeypatch: pytest.MonkeyPatch, fast_polls: None) -> None:
    _states(monkeypatch, "3|PENDING|Resources")
    with pytest.raises(WorkerStartError, match=r"^cluster\.start_timeout: no worker connected within 0\.05 s; "
                                                r"SLURM jobs: 3 PENDING \(Resources\)$"):
        factory.wait_for_first_worker(_fake_cluster(["3"]), _FakeClient(), "slurm", timeout=0.05)


def test_unreachable_batch_system_still_times_out(monkeypatch: pytest.MonkeyPatch, fast_polls: None) -> None:
    monkeypatch.setattr(batch, "job_states", lambda k, ids: None)
    with pytest.raises(WorkerStartError, match=r"3 UNKNOWN"):
        factory.wait_for_first_worker(_fake_cluster(["3"]), _FakeClient(), "slurm", timeout=0.05)


def test_cluster_info_of_a_local_cluster(client: Any) -> None:
    info = cluster_info(client)
    assert info["kind"] == "local" and info["scheduler"].startswith("tcp://")
    assert capacity(client) == 2  # conftest's LocalCluster: 2 workers x 1 thread


def test_dask_jobqueue_import_keeps_ctrl_c_and_works_off_the_main_thread() -> None:
    # dask_jobqueue.runner sets a SIGINT handler at import, which raises outside the main
    # thread; pairsweep imports it lazily, possibly from a thread running the sweep.
    code = (
        "import signal, threading\n"
        "from pairsweep.cluster import job_script\n"
        "out = {}\n"
        "t = threading.Thread(target=lambda: out.setdefault('s', job_script('slurm', {'cores': 1, 'memory': '1GiB'})))\n"
        "t.start(); t.join()\n"
        "assert '#SBATCH --mem=1G' in out['s'], out\n"
        "assert signal.getsignal(signal.SIGINT) is signal.default_int_handler\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.stdout.strip() == "ok", proc.stderr[-2000:]


def _worker_settings(client: Any) -> set[tuple[str, str]]:
    keys = ("distributed.worker.profile.interval", "distributed.admin.tick.interval")
    per_worker = client.run(lambda: tuple(dask.config.get(k) for k in keys))
    return {tuple(values) for values in per_worker.values()}


def test_local_workers_get_coarse_housekeeping_but_user_settings_win() -> None:
    from pairsweep.cluster import connect

    with connect("local", {"n_workers": 1, "dashboard_address": ":0"}) as client:
        assert _worker_settings(client) == {("100ms", "1000ms")}
    # the client process's own configuration is untouched
    assert dask.config.get("distributed.admin.tick.interval") == "20ms"
    with dask.config.set({"distributed.admin.tick.interval": "50ms"}):
        with connect("local", {"n_workers": 1, "dashboard_address": ":0"}) as client:
            assert _worker_settings(client) == {("100ms", "50ms")}


@pytest.mark.slow  # a fresh Python process with its own cluster; the quick subset keeps the test above
def test_local_workers_keep_glibcs_adaptive_malloc() -> None:
    # A fresh process, as `pairsweep run` is: a LocalCluster's nannies live in the creating
    # process and export their pre-spawn environment into it, so this test process (whose
    # session cluster has distributed's defaults) would pass MALLOC_TRIM_THRESHOLD_ on.
    code = (
        "import os\n"
        "from pairsweep.cluster import connect\n"
        "if __name__ == '__main__':\n"
        "    with connect('local', {'n_workers': 1, 'dashboard_address': ':0'}) as client:\n"
        "        env = client.run(lambda: (os.environ.get('MALLOC_TRIM_THRESHOLD_'), os.environ.get('OMP_NUM_THREADS')))\n"
        "    print(sorted(set(env.values())))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    # unset, so numpy temporaries reuse heap memory; the one-thread BLAS pin stays
    assert out.stdout.strip().splitlines()[-1] == "[(None, '1')]"
