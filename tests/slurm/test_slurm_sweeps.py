"""Sweeps on a live one-node SLURM through dask-jobqueue (the cluster comes from conftest).

What is checked against the real slurmctld/slurmd, not a rendered script:
* a spec with ``[cluster] kind = "slurm"`` run by the CLI gives a store whose every chunk
  file is byte-identical to the same spec run on a LocalCluster (adaptive 0..2 jobs);
* ``scancel`` of a worker job in the middle of its block loses nothing and the adaptive
  loop submits a replacement job;
* workers retiring at their ``--lifetime`` hand their blocks back (nothing lost, jobs
  replaced);
* a job that cannot start fails fast with SLURM's own reason: refused at submission
  (impossible memory), held, or pending past ``start_timeout``;
* the ``--dry-run`` job script is accepted by ``sbatch --test-only``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pytest
import xarray as xr

from pairsweep.cluster import WorkerStartError, capacity, cluster_info, connect, jobs_table
from pairsweep.kernels import Status
from pairsweep.storage import ledger
from pairsweep.storage.layout import STATE_DIR, read_root_attrs
from pairsweep.sweeps import Sweep
from pairsweep.sweeps.engine import run_sweep
from pairsweep.sweeps.spec import ClusterSpec

pytestmark = pytest.mark.usefixtures("slurm")

TESTS_DIR = Path(__file__).resolve().parents[1]
KERNEL = "engine_kernels:SMOOTH"


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)  # strings, numbers and lists of them are the same in TOML


def _spec_toml(store: Path, cluster: dict[str, Any]) -> str:
    lines = [
        f'kernel = "{KERNEL}"',
        f"store = {json.dumps(str(store))}",
        "[axes]",
        "x = { linspace = [-3.0, 3.0, 24] }",
        "y = { linspace = [-2.0, 2.0, 10] }",
        "[fixed]",
        "delay = 0.06",  # 1.2 s per block: enough queued work for the adaptive loop to add a job
        "[execution]",
        "chunks = { x = 4, y = 5 }",
        # Enough blocks queued for dask's adaptive target (queued seconds / 5 s) to ask for
        # the second job, whatever window the engine would choose by itself.
        "max_in_flight = 8",
        "[cluster]",
    ]
    lines += [f"{k} = {_toml_value(v)}" for k, v in cluster.items()]
    return "\n".join(lines) + "\n"


def _cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "pairsweep.sweeps.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)


def _data_files(store: Path) -> dict[str, bytes]:
    """Every file of the store except the root metadata (time, host, runs differ) and the
    engine's own state directory."""
    files = {}
    for path in store.rglob("*"):
        rel = path.relative_to(store)
        if path.is_file() and rel.parts[0] != STATE_DIR and rel != Path("zarr.json"):
            files[rel.as_posix()] = path.read_bytes()
    return files


def _assert_every_block_once(store: Path) -> list[dict[str, Any]]:
    """Each block has exactly one ledger entry, the entries cover every point once, the
    data hold no uncomputed point, and the run submitted each block exactly once."""
    meta = read_root_attrs(store)["pairsweep"]
    shape = [len(v) for v in meta["spec"]["axes"].values()]
    chunks = [meta["spec"]["chunks"][n] for n in meta["spec"]["axes"]]
    n_blocks = int(np.prod([-(-s // c) for s, c in zip(shape, chunks, strict=True)]))
    entries = list(ledger.iter_entries(store))
    assert sorted(e["block"] for e in entries) == list(range(n_blocks))
    assert sum(e["points"] for e in entries) == int(np.prod(shape))
    assert all(e["ok"] == e["points"] for e in entries)
    runs = ledger.read_run_log(store)
    assert len(runs) == 1
    (submitted,) = runs.values()
    assert sorted(submitted) == list(range(n_blocks)), "the client submitted some block twice or never"
    status = xr.open_zarr(str(store))["status"].values
    assert (status == Status.OK).all()
    return entries


def test_slurm_store_equals_local_store_bit_for_bit(tmp_path: Path, slurm_options: Any) -> None:
    opts = slurm_options(minimum_jobs=0, maximum_jobs=2)
    spec = tmp_path / "sweep.toml"
    spec.write_text(_spec_toml(tmp_path / "slurm.zarr", {"kind": "slurm", **opts}))

    started = time.monotonic()
    run = _cli("run", str(spec), "--no-progress")
    slurm_seconds = time.monotonic() - started
    assert run.returncode == 0, run.stderr[-3000:]
    assert "complete" in run.stdout
    local = _cli("run", str(spec), "--cluster", "local", "--workers", "2", "--store", str(tmp_path / "local.zarr"),
                 "--no-progress")
    assert local.returncode == 0, local.stderr[-3000:]

    slurm_store, local_store = tmp_path / "slurm.zarr", tmp_path / "local.zarr"
    assert read_root_attrs(slurm_store)["pairsweep"]["spec_hash"] == read_root_attrs(local_store)["pairsweep"]["spec_hash"]
    slurm_files, local_files = _data_files(slurm_store), _data_files(local_store)
    assert sorted(slurm_files) == sorted(local_files)
    differing = [name for name in slurm_files if slurm_files[name] != local_files[name]]
    assert not differing, f"chunk files differ: {differing[:5]}"
    a, b = xr.open_zarr(str(slurm_store)), xr.open_zarr(str(local_store))
    assert set(a.variables) == set(b.variables)
    for name in a.variables:
        assert a[name].dtype == b[name].dtype
        assert np.array_equal(a[name].values, b[name].values, equal_nan=a[name].dtype.kind in "fc"), name

    entries = _assert_every_block_once(slurm_store)
    # The blocks really ran in SLURM jobs: worker processes other than the local ones,
    # and adaptive scaling from 0..2 jobs brought a second worker in.
    slurm_workers = {e["worker"] for e in entries}
    local_workers = {e["worker"] for e in ledger.iter_entries(local_store)}
    assert not slurm_workers & local_workers
    assert len(slurm_workers) == 2, f"adaptive scaling never reached 2 jobs: {slurm_workers}"
    logs = list((tmp_path / "slurm-logs").glob("pairsweep-*.err"))
    assert len(logs) >= 2, "expected the worker jobs' SLURM logs"
    print(f"slurm run {slurm_seconds:.1f} s, workers {sorted(slurm_workers)}")


def _smooth_sweep(store: Path, *, x: int, delay: float, chunks: dict[str, int]) -> Sweep:
    return Sweep(kernel=KERNEL, store=store, axes={"x": np.linspace(-3, 3, x), "y": np.linspace(-2, 2, 10)},
                 fixed={"delay": delay}, chunks=chunks)


def _run_in_thread(sweep: Sweep, client: Any) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["report"] = run_sweep(sweep, client=client, progress=False)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, result


def _wait(predicate: Any, seconds: float, what: str) -> Any:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def test_scancel_of_a_worker_job_mid_sweep_loses_nothing(tmp_path: Path, slurm_options: Any, slurm: Any,
                                                         deadline: Any) -> None:
    sweep = _smooth_sweep(tmp_path / "cancel.zarr", x=40, delay=0.05, chunks={"x": 2, "y": 10})  # 20 blocks of 1 s
    # Replace the lost job quickly (dask's default waits 15 s before giving up on it).
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "1s"}), deadline(240, "scancel sweep"):
        with connect("slurm", slurm_options(jobs=2)) as client:
            thread, result = _run_in_thread(sweep, client)
            _wait(lambda: len(client.scheduler_info(n_workers=-1)["workers"]) == 2, 60, "two workers")
            assert capacity(client) == 2
            info = cluster_info(client)
            table = jobs_table(info)
            assert info["job_name"] in table and "RUNNING" in table
            _wait(lambda: ledger.done_blocks(sweep.store, 20).sum() >= 3, 60, "three blocks done")

            pids = client.run(os.getpid)
            node = os.uname().nodename

            def executing() -> tuple[str, str] | None:
                # A worker that has finished blocks and is now in the middle of another.
                done_by = {e["worker"] for e in ledger.iter_entries(sweep.store)}
                for addr, keys in client.processing().items():
                    if keys and f"{node}:{pids.get(addr)}" in done_by:
                        return addr, client.scheduler_info(n_workers=-1)["workers"][addr]["name"]
                return None

            addr, name = _wait(executing, 30, "a worker executing a block")
            victim_pid = pids[addr]
            victim_job = client.cluster.workers[name].job_id
            slurm.run("scancel", victim_job)
            cancelled_at = time.monotonic()
            thread.join()
            if "error" in result:
                raise result["error"]
            report = result["report"]
            jobs_after = cluster_info(client)["job_ids"]

    assert report.complete and report.blocks_computed == 20 and not report.block_errors
    entries = _assert_every_block_once(sweep.store)
    ds = xr.open_zarr(str(sweep.store))
    x, y = np.meshgrid(ds["x"].values, ds["y"].values, indexing="ij")
    np.testing.assert_allclose(ds["f"].values, np.sin(x) * np.exp(-(y**2)), rtol=1e-15, atol=0)
    assert (ds["n_calls"].values == 1).all()
    # The cancelled worker stopped computing; blocks finished after the cancel came from
    # the surviving worker or the replacement job the adaptive loop submitted.
    assert f"{os.uname().nodename}:{victim_pid}" in {e["worker"] for e in entries}
    state = slurm.run("squeue", "-h", "-t", "all", "-j", victim_job, "-o", "%T").strip()
    assert state == "CANCELLED", state
    replacement = [j for j in jobs_after if j not in info["job_ids"]]
    assert replacement, f"no replacement job submitted after scancel (jobs {jobs_after})"
    print(f"cancelled job {victim_job} (worker pid {victim_pid}); replacement jobs {replacement}; "
          f"sweep ended {report.seconds:.1f} s after start, {time.monotonic() - cancelled_at:.1f} s after the cancel")


def test_workers_retiring_at_their_lifetime_lose_no_block(tmp_path: Path, slurm_options: Any, deadline: Any) -> None:
    # The same --lifetime mechanism pairsweep derives from the walltime, shortened so that
    # every worker retires mid-sweep, in the middle of a block.
    sweep = _smooth_sweep(tmp_path / "lifetime.zarr", x=36, delay=0.06, chunks={"x": 2, "y": 10})  # 18 x 1.2 s
    opts = slurm_options(jobs=2, worker_extra_args=["--lifetime", "7s", "--lifetime-stagger", "1s"])
    with dask.config.set({"distributed.deploy.lost-worker-timeout": "1s"}), deadline(240, "lifetime sweep"):
        with connect("slurm", opts) as client:
            report = run_sweep(sweep, client=client, progress=False)
            jobs = cluster_info(client)["job_ids"]
    assert report.complete and not report.block_errors
    entries = _assert_every_block_once(sweep.store)
    assert len(jobs) > 2, f"no worker retired and was replaced: jobs {jobs}"
    assert len({e["worker"] for e in entries}) > 2
    print(f"lifetime sweep {report.seconds:.1f} s over jobs {jobs}")


def test_impossible_memory_request_fails_fast_with_slurm_reason(tmp_path: Path, slurm_options: Any,
                                                                deadline: Any, slurm: Any) -> None:
    opts = slurm_options(memory="1000GiB", job_name="pairsweep-too-big")
    sweep = Sweep(kernel=KERNEL, store=tmp_path / "never.zarr", axes={"x": [0.0, 1.0]},
                  cluster=ClusterSpec("slurm", opts))
    started = time.monotonic()
    with deadline(60, "a sweep whose job cannot start"), pytest.raises(WorkerStartError) as info:
        run_sweep(sweep, progress=False)
    seconds = time.monotonic() - started
    message = str(info.value)
    assert message.startswith("cluster.memory: SLURM refused the worker job")
    assert "Memory specification can not be satisfied" in message
    assert "--mem=1000G" in message
    assert seconds < 30
    assert not slurm.run("squeue", "-h", "--name", "pairsweep-too-big").strip()
    assert ledger.done_blocks(sweep.store, 2).sum() == 0
    print(f"failed after {seconds:.1f} s: {message}")


def test_held_job_fails_fast_naming_the_reason(tmp_path: Path, slurm_options: Any, deadline: Any, slurm: Any) -> None:
    opts = slurm_options(job_extra_directives=["--hold"], job_name="pairsweep-held")
    started = time.monotonic()
    with deadline(60, "connect to a held job"), pytest.raises(WorkerStartError) as info:
        with connect("slurm", opts):
            pass
    assert time.monotonic() - started < 30
    assert "can never start: pending with reason 'JobHeldUser'" in str(info.value)
    (state,) = info.value.states.values()
    assert (state.state, state.reason) == ("PENDING", "JobHeldUser")
    # Closing the cluster cancelled the held job.
    remaining = slurm.run("squeue", "-h", "--name", "pairsweep-held", "-o", "%T").split()
    assert remaining in ([], ["CANCELLED"]), remaining


def test_pending_past_start_timeout_names_state_and_reason(tmp_path: Path, slurm_options: Any,
                                                           deadline: Any) -> None:
    opts = slurm_options(job_extra_directives=["--begin=now+3600"], start_timeout=3)
    with deadline(60, "connect with a start timeout"), pytest.raises(WorkerStartError) as info:
        with connect("slurm", opts):
            pass
    message = str(info.value)
    assert message.startswith("cluster.start_timeout: no worker connected within 3 s; SLURM jobs:")
    assert "PENDING (BeginTime)" in message


def test_dry_run_job_script_is_accepted_by_sbatch(tmp_path: Path, slurm_options: Any, slurm: Any) -> None:
    spec = tmp_path / "sweep.toml"
    spec.write_text(_spec_toml(tmp_path / "dry.zarr", {"kind": "slurm", **slurm_options(partition="debug")}))
    dry = _cli("run", str(spec), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    script = dry.stdout[dry.stdout.index("#!"):]
    assert "#SBATCH -p debug" in script and "--lifetime" in script
    path = tmp_path / "worker.sh"
    path.write_text(script)
    test = subprocess.run(["sbatch", "--test-only", str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert test.returncode == 0, test.stderr
    assert "to start at" in test.stderr
    assert not (tmp_path / "dry.zarr").exists()


# The engine/CLI wiring: the run record's "cluster" is cluster_info(client) (sweeps/runner.py),
# and `pairsweep status` prints jobs_table of an unfinished run.
def test_status_shows_the_worker_jobs_while_the_sweep_runs(tmp_path: Path, slurm_options: Any,
                                                           deadline: Any) -> None:
    opts = slurm_options(jobs=1, job_name="pairsweep-status-test")
    sweep = _smooth_sweep(tmp_path / "status.zarr", x=12, delay=0.1, chunks={"x": 2, "y": 10})  # 6 blocks of 2 s
    sweep = dataclasses.replace(sweep, cluster=ClusterSpec("slurm", opts))
    with deadline(120, "status sweep"):
        thread, result = _run_in_thread(sweep, client=None)
        _wait(lambda: "error" in result or ledger.done_blocks(sweep.store, 6).sum() >= 1, 60, "the first block")
        if "error" in result:
            raise result["error"]
        status = _cli("status", str(sweep.store), timeout=60)
        thread.join()
    if "error" in result:
        raise result["error"]
    assert status.returncode == 0, status.stderr
    assert "worker jobs (pairsweep-status-test):" in status.stdout
    assert "RUNNING" in status.stdout, status.stdout
    runs = read_root_attrs(sweep.store)["pairsweep"]["runs"]
    assert runs[-1]["cluster"]["kind"] == "slurm" and runs[-1]["cluster"]["job_name"] == "pairsweep-status-test"
    assert runs[-1]["cluster"]["job_ids"]


def test_job_that_dies_before_its_worker_connects_fails_with_its_log(tmp_path: Path, slurm_options: Any,
                                                                    deadline: Any) -> None:
    opts = slurm_options(python="/nonexistent/venv/bin/python", job_name="pairsweep-no-python")
    started = time.monotonic()
    with deadline(60, "connect with a broken python"), pytest.raises(WorkerStartError) as info:
        with connect("slurm", opts):
            pass
    assert time.monotonic() - started < 30
    message = str(info.value)
    assert message.startswith("cluster: SLURM job ")
    assert "FAILED (NonZeroExitCode) ended before its Dask worker connected" in message
    assert "/nonexistent/venv/bin/python: No such file or directory" in message  # the job's own stderr


def test_adaptive_sweep_on_slurm_fills_its_budget_in_worker_jobs(tmp_path: Path, slurm_options: Any) -> None:
    """Issue 15: an adaptive sweep runs on SLURM as on a local cluster (window from the
    cluster's capacity): every block once, in the worker jobs, the budget filled with
    distinct ok points, the store verifying clean."""
    opts = slurm_options(minimum_jobs=0, maximum_jobs=2)
    store = tmp_path / "adaptive.zarr"
    spec = tmp_path / "adaptive.toml"
    spec.write_text("\n".join([
        f'kernel = "{KERNEL}"',
        f"store = {json.dumps(str(store))}",
        "[adaptive]",
        'output = "f"',
        'loss = "curvature"',
        "bounds = { x = [-3.0, 3.0], y = [-2.0, 2.0] }",
        "npoints = 48",
        "block_points = 8",
        "[fixed]",
        "delay = 0.05",
        "[cluster]",
        *[f"{k} = {_toml_value(v)}" for k, v in {"kind": "slurm", **opts}.items()],
    ]) + "\n")
    run = _cli("run", str(spec), "--no-progress")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "complete" in run.stdout
    entries = list(ledger.iter_entries(store))
    assert sorted(e["block"] for e in entries) == list(range(6))
    assert sum(e["ok"] for e in entries) == 48
    ds = xr.open_zarr(str(store)).load()
    assert (ds.status.values == Status.OK).all()
    points = set(zip(ds.x.values.tolist(), ds.y.values.tolist(), strict=True))
    assert len(points) == 48  # no point stored twice
    assert list((tmp_path / "slurm-logs").glob("pairsweep-*.err")), "expected the worker jobs' SLURM logs"
    verify = _cli("verify", str(store))
    assert verify.returncode == 0, verify.stdout + verify.stderr
