"""Start ``pairsweep run`` in its own process group and SIGKILL it once enough blocks are done
(shared by the engine's and the Monte Carlo kernel's kill-and-resume tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from pairsweep.storage import ledger


def kill_after_blocks(spec_path: Path, store: Path, n_blocks: int, min_done: int,
                      env: dict[str, str], timeout: float) -> np.ndarray:
    """Run the spec, kill the whole process group (workers too) as soon as ``min_done``
    blocks are in the ledger, and return the ledger's done mask after the kill."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pairsweep.sweeps.cli", "run", str(spec_path), "--no-progress"],
        env=env,
        start_new_session=True,  # its own process group: the kill takes the workers too
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = ledger.done_blocks(store, n_blocks).sum() if store.exists() else 0
        if done >= min_done:
            break
        assert proc.poll() is None, proc.stdout.read().decode()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return ledger.done_blocks(store, n_blocks)
