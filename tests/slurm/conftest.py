"""A live one-node SLURM for the tests in this directory.

The session fixture :func:`slurm` runs ``.ci/slurm.sh start`` (starts a private munged,
slurmctld and slurmd) and ``stop`` at the end, which cancels leftover jobs and stops exactly
those daemons by PID. Running the tests never installs anything: SLURM itself comes from
``sudo .ci/slurm.sh install`` (apt; CI's ``.ci/run`` calls it).

It skips, saying why, only where a SLURM cannot be had: not root, or slurm-wlm and munge not
installed. With ``CI=true`` those are failures, as is any start that goes wrong: CI must
never pass by silently not testing SLURM. ``PAIRSWEEP_SLURM=external`` uses the SLURM the environment
already points at (``sinfo`` must work) and starts nothing. ``PAIRSWEEP_SLURM_DIR`` puts
the cluster's files in that directory instead of a fresh one under /tmp.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
TESTS_DIR = HERE.parent
ROOT = TESTS_DIR.parent
SCRIPT = ROOT / ".ci" / "slurm.sh"

_START_TIMEOUT = 180  # the daemons and a first srun; nothing is installed


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.slurm)
            item.add_marker(pytest.mark.slow)


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"SLURM tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"no live SLURM: {reason}")


@dataclass(frozen=True)
class Slurm:
    """The running test cluster."""

    directory: Path | None
    conf: str | None
    pids: dict[str, int]
    start_seconds: float

    def run(self, *cmd: str, check: bool = True) -> str:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout


def _read_pids(directory: Path) -> dict[str, int]:
    pids = {}
    for path in (directory / "pids").glob("*"):
        text = path.read_text().strip()
        if text.isdigit():
            pids[path.name] = int(text)
    return pids


@pytest.fixture(scope="session")
def slurm() -> Iterator[Slurm]:
    if os.environ.get("PAIRSWEEP_SLURM") == "external":
        proc = subprocess.run(["sinfo"], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            _unavailable(f"PAIRSWEEP_SLURM=external but sinfo fails: {proc.stderr.strip()}")
        yield Slurm(None, os.environ.get("SLURM_CONF"), {}, 0.0)
        return
    if sys.platform != "linux":
        _unavailable("the test SLURM needs Linux")
    if os.geteuid() != 0:
        _unavailable("not root (a private slurmctld/slurmd runs as root; CI runs as root)")
    if os.environ.get("PAIRSWEEP_SLURM_DIR"):
        # A fixed place, so that a CI script can `.ci/slurm.sh stop` it even if pytest is killed.
        directory = Path(os.environ["PAIRSWEEP_SLURM_DIR"])
        directory.mkdir(parents=True, exist_ok=True)
    else:
        # Short path: munged's socket path must fit a sockaddr_un (108 bytes).
        directory = Path(tempfile.mkdtemp(prefix="pairsweep-slurm-", dir="/tmp"))
    started = time.monotonic()
    try:
        proc = subprocess.run(["bash", str(SCRIPT), "start", str(directory)], capture_output=True, text=True,
                              timeout=_START_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        subprocess.run(["bash", str(SCRIPT), "stop", str(directory)], capture_output=True, timeout=120, check=False)
        _unavailable(f".ci/slurm.sh start did not finish within {_START_TIMEOUT} s")
    start_seconds = time.monotonic() - started
    if proc.returncode == 77:
        _unavailable(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "prerequisite missing")
    if proc.returncode != 0:
        pytest.fail(f".ci/slurm.sh start failed ({proc.returncode}); logs in {directory}:\n{proc.stderr}",
                    pytrace=False)
    conf = str(directory / "slurm.conf")
    pids = _read_pids(directory)
    sys.stderr.write(f"\n[slurm fixture] up in {start_seconds:.1f} s ({proc.stderr.strip().splitlines()[-1]})\n")
    saved = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = conf
    try:
        yield Slurm(directory, conf, pids, start_seconds)
    finally:
        if saved is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = saved
        stop = subprocess.run(["bash", str(SCRIPT), "stop", str(directory)], capture_output=True, text=True,
                              timeout=180, check=False)
        left = [f"{name} {pid}" for name, pid in pids.items() if Path(f"/proc/{pid}").exists()
                and Path(f"/proc/{pid}/comm").read_text().strip() == name]
        if stop.returncode != 0 or left:
            raise RuntimeError(f".ci/slurm.sh stop failed ({stop.returncode}), still running: {left}\n{stop.stderr}")
        shutil.rmtree(directory, ignore_errors=True)  # kept (with its logs) only when something failed


@pytest.fixture
def slurm_options(tmp_path: Path) -> Any:
    """Factory of cluster options for test sweeps: one core and little memory per job, the
    test kernels importable on the workers (through the job-script prologue, as a user
    would do it), logs under ``tmp_path``."""

    def make(**overrides: Any) -> dict[str, Any]:
        return _slurm_options(tmp_path, **overrides)

    return make


def _slurm_options(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "cores": 1,
        "memory": "1GiB",
        "walltime": "00:10:00",
        "job_script_prologue": [f"export PYTHONPATH={TESTS_DIR}${{PYTHONPATH:+:$PYTHONPATH}}"],
        "log_directory": str(tmp_path / "slurm-logs"),
        "scheduler_options": {"dashboard_address": ":0"},
        "start_timeout": 120,
    }
    options.update(overrides)
    return options


@pytest.fixture
def deadline() -> Any:
    return _deadline


@contextmanager
def _deadline(seconds: float, what: str) -> Iterator[None]:
    """Fail instead of hanging: raise TimeoutError in the main thread after ``seconds``."""

    def expired(signum: int, frame: Any) -> None:
        raise TimeoutError(f"{what} did not finish within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
