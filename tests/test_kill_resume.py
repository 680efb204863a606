"""Kill ``pairsweep run`` with SIGKILL mid-sweep, resume, and compare bit for bit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr

from kill_helpers import kill_after_blocks
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

    done_at_kill = kill_after_blocks(spec_path, killed_store, N_BLOCKS, 6, subprocess_env, 120)
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


# ---------------------------------------------------------------------------------------
# Kills at random moments, many aimed at the creation window
# ---------------------------------------------------------------------------------------

CREATION_DELAY = 0.3  # s between building a store and renaming it into place (tests only)


def _kill_sequence(spec_path: Path, store: Path, env: dict[str, str], rng: np.random.Generator) -> dict[str, Any]:
    """Run and SIGKILL ``pairsweep run`` on one store again and again; after every kill the
    store must be absent or sound (every done block verified, metadata intact)."""
    from pairsweep.storage.verify import verify_store

    kills = {"creation": 0, "of which after the rename": 0, "startup": 0, "mid-run": 0}
    problems = []
    # while the store does not exist: up to 13 kills aimed at its creation (cheap: no
    # cluster starts); then 1 anywhere in the start-up, then 2 mid-run
    plan = ["creation"] * 13 + ["startup"] * 1 + ["mid-run"] * 2
    for attempt, mode in enumerate(plan):
        existed = store.exists()
        if mode == "creation" and existed:
            continue
        # temporary stores of earlier killed attempts, removed by the next creation
        leftovers = set(store.parent.glob(f".{store.name}.creating-*/_pairsweep/manifest.json"))
        kind = mode
        proc = subprocess.Popen(
            [sys.executable, "-m", "pairsweep.sweeps.cli", "run", str(spec_path), "--no-progress"],
            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        if kind == "creation":
            # aim: wait until the temporary store is built (its manifest is written last),
            # then kill inside the window before the rename; the last two straddle it
            pattern = f".{store.name}.creating-*/_pairsweep/manifest.json"
            while proc.poll() is None and not set(store.parent.glob(pattern)) - leftovers:
                assert time.monotonic() < deadline
                time.sleep(0.002)
            low, high = (0.0, 0.95) if attempt < 11 else (0.9, 2.5)
            time.sleep(rng.uniform(low, high) * CREATION_DELAY)
        elif kind == "startup":
            time.sleep(rng.uniform(0.0, 3.0))  # anywhere from import to the first blocks
        else:
            start = ledger.done_blocks(store, N_BLOCKS).sum() if existed else 0
            target = start + rng.integers(1, 4)
            while proc.poll() is None and time.monotonic() < deadline:
                if store.exists() and ledger.done_blocks(store, N_BLOCKS).sum() >= target:
                    break
                time.sleep(0.02)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills[kind] += 1
            if kind == "creation" and store.exists():
                kills["of which after the rename"] += 1
        proc.wait(timeout=30)
        if store.exists():
            report = verify_store(store, repair=False)
            if not report.clean:
                problems.append(str(report))
        if store.exists() and ledger.done_blocks(store, N_BLOCKS).all():
            break
    return {"kills": kills, "problems": problems}


@pytest.mark.slow
def test_sigkill_at_random_moments_including_store_creation_is_always_resumable(tmp_path, subprocess_env, client):
    """>= 30 SIGKILLs of the process group over two stores (two kill sequences side by
    side), 24 or more of them aimed at the creation window: after each one the store is absent or
    sound, and the final stores are bit-identical to an uninterrupted run."""
    from concurrent.futures import ThreadPoolExecutor

    env = {**subprocess_env, "PAIRSWEEP_TEST_CREATION_DELAY": str(CREATION_DELAY)}
    stores = [tmp_path / f"killed{i}.zarr" for i in range(2)]
    specs = []
    for i, store in enumerate(stores):
        specs.append(tmp_path / f"spec{i}.toml")
        specs[-1].write_text(spec_text(store))
    rngs = [np.random.default_rng(seed) for seed in (14, 41)]
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(_kill_sequence, specs, stores, [env, env], rngs))
    total = sum(sum(o["kills"].values()) - o["kills"]["of which after the rename"] for o in outcomes)
    print("kills per store:", [o["kills"] for o in outcomes])
    assert not [p for o in outcomes for p in o["problems"]]
    assert total >= 30 and sum(o["kills"]["creation"] for o in outcomes) >= 24

    reference = tmp_path / "reference.zarr"
    ref_spec = tmp_path / "reference.toml"
    ref_spec.write_text(spec_text(reference))
    run_sweep(load_spec(ref_spec), client=client, progress=False)
    for spec_path, store in zip(specs, stores, strict=True):
        report = run_sweep(load_spec(spec_path), client=client, progress=False)
        assert report.complete
        assert not list(tmp_path.glob(f".{store.name}.creating-*"))  # leftovers cleaned
        killed, ref = chunk_bytes(store), chunk_bytes(reference)
        assert killed.keys() == ref.keys()
        assert [name for name in ref if killed[name] != ref[name]] == []
