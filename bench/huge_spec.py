"""Client memory and `pairsweep status` time for a 10^9-point spec, against the number of
blocks (issue 14, item 7).

For each block shape, in a fresh subprocess: validate the spec and create its store
(``prepare_store``), read the ledger's done-mask and walk every pending block id the way
the engine's submission loop does (``BlockGrid.iter_blocks``), without computing anything.
Prints the subprocess's peak RSS, the Python-heap peak (tracemalloc) of that walk, the root
``zarr.json`` size, the wall time of ``pairsweep status STORE`` run as a user runs it
(best of 3; mostly interpreter start-up and imports), and of ``store_status()`` in-process.

    python bench/huge_spec.py            # 10^5 x 10^4 grid, 10^3 .. 10^6 blocks
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time, tracemalloc
import numpy as np
from pairsweep.storage import ledger
from pairsweep.sweeps import Sweep, prepare_store
from pairsweep.sweeps.grid import BlockGrid
store, cx, cy = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0 = time.perf_counter()
rs = prepare_store(Sweep(kernel="spinor_bec_couplings", store=store,
                         axes={"delta_g": np.geomspace(1e-5, 1e-1, 100_000), "g_F": np.linspace(0.25, 2.0, 10_000)},
                         chunks={"delta_g": cx, "g_F": cy}))
t_prepare = time.perf_counter() - t0
grid = BlockGrid(rs.shape, rs.chunks)
tracemalloc.start()
t0 = time.perf_counter()
done = ledger.done_blocks(store, grid.n_blocks)
pending = sum(1 for _ in grid.iter_blocks(skip=done))
t_walk = time.perf_counter() - t0
heap = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
from pairsweep.storage import store_status
store_status(store)
t0 = time.perf_counter()
store_status(store)
t_status = time.perf_counter() - t0
print(json.dumps({"status_call_s": t_status, "points": rs.n_points, "blocks": grid.n_blocks, "pending": pending, "prepare_s": t_prepare,
                  "walk_s": t_walk, "walk_heap_peak_B": heap,
                  "rss_peak_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

SHAPES = [(1000, 10_000), (100, 10_000), (10, 10_000), (1, 1000)]  # 10^3 .. 10^6 blocks


def main() -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    exe = Path(sys.executable).with_name("pairsweep")
    print(f"{'blocks':>9} {'points':>12} {'prepare s':>9} {'walk s':>7} {'walk heap KiB':>13} {'RSS MiB':>8} "
          f"{'zarr.json B':>11} {'status s':>8} {'store_status() ms':>17}")
    with tempfile.TemporaryDirectory() as tmp:
        for cx, cy in SHAPES:
            store = Path(tmp) / f"s{cx}x{cy}.zarr"
            out = subprocess.run([sys.executable, "-c", CHILD, str(store), str(cx), str(cy)], env=env,
                                 capture_output=True, text=True, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            timings = []
            for _ in range(3):
                t0 = time.perf_counter()
                subprocess.run([str(exe), "status", str(store)], env=env, capture_output=True, check=True)
                timings.append(time.perf_counter() - t0)
            print(f"{r['blocks']:>9} {r['points']:>12.3g} {r['prepare_s']:>9.2f} {r['walk_s']:>7.2f} "
                  f"{r['walk_heap_peak_B'] / 1024:>13.0f} {r['rss_peak_MiB']:>8.0f} "
                  f"{(store / 'zarr.json').stat().st_size:>11} {min(timings):>8.2f} {r['status_call_s'] * 1e3:>17.1f}")


if __name__ == "__main__":
    main()
