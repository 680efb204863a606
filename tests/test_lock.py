"""One writer per store: a second run is refused with who holds the store; a lock left by a
killed run is taken over. Real processes, real lock files on the local filesystem."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pairsweep.storage import ledger
from pairsweep.storage.errors import StoreLockedError
from pairsweep.storage.lock import EXPIRY_S, StoreLock, lock_path, read_holder
from pairsweep.sweeps import load_spec, run_sweep
from test_kill_resume import N_BLOCKS, spec_text

RUN = [sys.executable, "-m", "pairsweep.sweeps.cli", "run"]


def fake_lock(store: Path, *, host: str, pid: int, age_s: float, pid_start: str | None = None) -> None:
    """A lock file as another process would have left it, touched ``age_s`` seconds ago."""
    path = lock_path(store)
    record = {"host": host, "pid": pid, "pid_start": pid_start, "started": "2026-01-01T00:00:00+00:00",
              "token": "f" * 32, "purpose": "run"}
    path.write_text(json.dumps(record))
    now = time.time()
    os.utime(path, (now - age_s, now - age_s))


def test_lock_of_a_live_process_is_refused_with_its_host_pid_and_start(tmp_path):
    store = tmp_path / "s.zarr"
    with StoreLock.acquire(store) as held:
        assert lock_path(store).exists() and not store.exists()  # taken before the store exists
        with pytest.raises(StoreLockedError) as err:
            StoreLock.acquire(store)
        message = str(err.value)
        assert message.startswith(f"store: {store} is held by pid {os.getpid()} on {socket.gethostname()}")
        assert f"started {held.record['started']}" in message
    assert not lock_path(store).exists()
    StoreLock.acquire(store).release()  # free again


def test_lock_of_another_host_is_kept_while_its_heartbeat_is_fresh_and_taken_when_expired(tmp_path):
    store = tmp_path / "s.zarr"
    fake_lock(store, host="node-that-is-not-here", pid=4242, age_s=5)
    with pytest.raises(StoreLockedError, match="pid 4242 on node-that-is-not-here"):
        StoreLock.acquire(store)
    fake_lock(store, host="node-that-is-not-here", pid=4242, age_s=EXPIRY_S + 30)
    lock = StoreLock.acquire(store)
    try:
        assert "took over the lock" in lock.takeover_message and "no heartbeat for" in lock.takeover_message
        assert read_holder(store)["pid"] == os.getpid()
    finally:
        lock.release()


def test_same_host_lock_is_stale_when_its_pid_is_gone_or_reused(tmp_path):
    store = tmp_path / "s.zarr"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    fake_lock(store, host=socket.gethostname(), pid=dead.pid, age_s=0)
    with StoreLock.acquire(store) as lock:
        assert "its process is gone" in lock.takeover_message
    # a live pid whose start time differs is another process that reused the pid
    fake_lock(store, host=socket.gethostname(), pid=os.getppid(), age_s=0, pid_start="1")
    with StoreLock.acquire(store) as lock:
        assert "its process is gone" in lock.takeover_message
    fake_lock(store, host=socket.gethostname(), pid=os.getppid(), age_s=0)  # alive, no start time
    with pytest.raises(StoreLockedError):
        StoreLock.acquire(store)


def test_holder_notices_when_its_lock_was_taken(tmp_path):
    store = tmp_path / "s.zarr"
    lock = StoreLock.acquire(store)
    before = os.stat(lock.path).st_mtime
    os.utime(lock.path, (before - 100, before - 100))
    lock.refresh()  # a heartbeat
    assert not lock.lost and os.stat(lock.path).st_mtime > before - 100
    fake_lock(store, host="elsewhere", pid=1, age_s=0)
    lock.refresh()
    assert lock.lost
    lock.release()
    assert read_holder(store)["host"] == "elsewhere"  # never removes a lock that is not its own


@pytest.mark.slow  # ~2 s of racing processes; the single takeover stays quick
def test_concurrent_takeovers_of_a_stale_lock_leave_exactly_one_holder(tmp_path):
    store = tmp_path / "s.zarr"
    fake_lock(store, host="gone-node", pid=1, age_s=EXPIRY_S + 30)
    script = textwrap.dedent(f"""
        import os, pathlib, sys, time
        from pairsweep.storage.lock import StoreLock
        from pairsweep.storage.errors import StoreLockedError
        time.sleep(max(0.0, {time.time() + 1.5} - time.time()))  # start together
        try:
            lock = StoreLock.acquire({str(store)!r})
        except StoreLockedError as exc:
            print("refused", exc)
            pathlib.Path({str(tmp_path)!r}, f"refused-{{os.getpid()}}").touch()
            sys.exit(0)
        print("holder")
        deadline = time.monotonic() + 60
        while len(list(pathlib.Path({str(tmp_path)!r}).glob("refused-*"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)  # hold until the others have tried
        lock.release()
        """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert sorted(o.split()[0] for o in outputs) == ["holder", "refused", "refused", "refused"], outputs


def wait_for_blocks(proc: subprocess.Popen, store: Path, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if store.exists() and ledger.done_blocks(store, N_BLOCKS).sum() >= count:
            return
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.05)
    raise AssertionError("the first run never got going")


@pytest.mark.slow
def test_two_runs_started_together_compute_each_block_once(tmp_path, subprocess_env):
    store, spec = tmp_path / "s.zarr", tmp_path / "spec.toml"
    spec.write_text(spec_text(store))
    procs = [subprocess.Popen(RUN + [str(spec), "--no-progress"], env=subprocess_env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    results = [(p.wait(timeout=180), p.stdout.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 2], results
    refused = next(out for rc, out in results if rc == 2)
    winner = next(p for p, (rc, _) in zip(procs, results, strict=True) if rc == 0)
    assert f"is held by pid {winner.pid} on {socket.gethostname()} (run, started" in refused
    assert "Traceback" not in refused
    runs = ledger.read_run_log(store)
    assert len(runs) == 1 and sorted(next(iter(runs.values()))) == list(range(N_BLOCKS))
    assert not lock_path(store).exists()


@pytest.mark.slow
def test_second_run_started_later_is_refused_and_a_killed_holder_is_taken_over(
    tmp_path, subprocess_env, client, capsys
):
    store, spec = tmp_path / "s.zarr", tmp_path / "spec.toml"
    spec.write_text(spec_text(store))
    first = subprocess.Popen(RUN + [str(spec), "--no-progress"], env=subprocess_env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_blocks(first, store, 2)
    second = subprocess.run(RUN + [str(spec), "--no-progress"], env=subprocess_env, text=True,
                            capture_output=True, timeout=120)
    assert second.returncode == 2 and "Traceback" not in second.stderr
    assert f"is held by pid {first.pid} on {socket.gethostname()}" in second.stderr
    with pytest.raises(StoreLockedError, match=f"pid {first.pid}"):  # the Python API too
        run_sweep(load_spec(spec), client=client, progress=False)

    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    assert read_holder(store)["pid"] == first.pid  # the killed run's lock is still there
    report = run_sweep(load_spec(spec), client=client, progress=False)
    assert report.complete
    assert f"took over the lock of {store} from pid {first.pid}" in capsys.readouterr().err
    assert len(list((store / "_pairsweep/locks-broken").glob("*.json"))) == 1  # kept as a record
    assert len(ledger.read_run_log(store)) == 2 and not lock_path(store).exists()
