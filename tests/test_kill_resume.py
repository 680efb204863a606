"""Kill ``pairsweep run`` with SIGKILL mid-sweep, resume, and compare bit for bit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

from pairsweep.storage import ledger
from pairsweep.sweeps import load_spec, run_sweep

N_BLOCKS = 24
MAX_IN_FLIGHT = 4


def spec_text(store: Path) -> str:
    # 24 blocks of 8 points, each block sleeping 0.25 s: ~3 s of work on 2 workers, so the
    # kill lands mid-sweep with blocks in flight.
    return textwrap.dedent(f"""
        kernel = "engine_kernels:SMOOTH"
        store = "{store}"
        [axes]
        x = {{ linspace = [-3.0, 3.0, 24] }}
        y = {{ linspace = [-2.0, 2.0, 8] }}
        [fixed]
        delay = 0.03125
        [execution]
        chunks = {{ x = 1, y = 8 }}
        max_in_flight = {MAX_IN_FLIGHT}
        [cluster]
        kind = "local"
        n_workers = 2
        dashboard_address = ":0"
        """)


def chunk_bytes(store: Path) -> dict[str, bytes]:
    """Every file of the store except pairsweep's own state and the root attributes (which
    hold timestamps and run ids by design)."""
    files = {}
    for path in sorted(store.rglob("*")):
        rel = path.relative_to(store).as_posix()
        if path.is_file() and not rel.startswith("_pairsweep") and rel not in ("zarr.json",):
            files[rel] = path.read_bytes()
    return files


@pytest.mark.slow
def test_sigkill_then_resume_is_bit_identical(tmp_path, subprocess_env, client):
    killed_store, reference_store = tmp_path / "killed.zarr", tmp_path / "reference.zarr"
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(spec_text(killed_store))

    proc = subprocess.Popen(
        [sys.executable, "-m", "pairsweep.sweeps.cli", "run", str(spec_path), "--no-progress"],
        env=subprocess_env,
        start_new_session=True,  # its own process group: the kill takes the workers too
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = ledger.done_blocks(killed_store, N_BLOCKS).sum() if killed_store.exists() else 0
        if done >= 6:
            break
        assert proc.poll() is None, proc.stdout.read().decode()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    done_at_kill = ledger.done_blocks(killed_store, N_BLOCKS)
    assert 6 <= done_at_kill.sum() < N_BLOCKS, "the kill must land mid-sweep"
    first_run = set(next(iter(ledger.read_run_log(killed_store).values())))

    report = run_sweep(load_spec(spec_path), client=client, progress=False)
    assert report.complete
    assert report.blocks_already_done == done_at_kill.sum()

    runs = ledger.read_run_log(killed_store)
    assert len(runs) == 2
    second_run = set(list(runs.values())[1])
    # nothing finished before the kill is computed again...
    assert not second_run & set(np.flatnonzero(done_at_kill).tolist())
    # ...and what is computed again is at most what was in flight at the kill
    assert len(second_run & first_run) <= MAX_IN_FLIGHT
    assert second_run | set(np.flatnonzero(done_at_kill).tolist()) == set(range(N_BLOCKS))

    spec_path.write_text(spec_text(reference_store))
    run_sweep(load_spec(spec_path), client=client, progress=False)
    killed, reference = chunk_bytes(killed_store), chunk_bytes(reference_store)
    assert killed.keys() == reference.keys()
    different = [name for name in reference if killed[name] != reference[name]]
    assert not different, f"files differ after resume: {different[:5]}"
    for name in ("f", "moments", "status"):
        np.testing.assert_array_equal(
            zarr.open_array(str(killed_store), path=name)[...],
            zarr.open_array(str(reference_store), path=name)[...],
        )
