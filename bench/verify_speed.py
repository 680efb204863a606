"""How long `pairsweep verify` takes on a finished 10⁶-point store.

    python bench/verify_speed.py             # 1000 x 1000 points, blocks of 100x100, 50x50, 20x25
    python bench/verify_speed.py --points 300   # 300 x 300, quicker

Builds each store in this process (no Dask: the blocks are computed and written by the same
``compute_block`` the workers run, so the ledger entries and chunk files are the real ones),
with a kernel of three float64 outputs whose values do not compress away, then times
``pairsweep verify STORE --check-only`` in a fresh process (as a user types it: imports
included) and ``verify_store`` in this process (the check alone). Prints the store's size,
the number of blocks and files, and the times. The page cache is warm (the store was just
written); a cold cache on a shared filesystem adds the time to read the bytes once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pairsweep.kernels import Kernel, Output, Parameter

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _block(params):
    a, b = params["a"], params["b"]
    phase = np.sin(1e3 * a * b + a)  # not smooth: zstd keeps most of the bytes
    return {
        "gap": phase,
        "energy": np.cos(7e2 * a + b) * a,
        "mass": 1.0 + phase**2,
        "status": np.zeros(a.shape, np.uint8),
    }


BENCH_VERIFY = Kernel(
    "verify_speed:BENCH_VERIFY", "1", "three float64 outputs, incompressible-ish", "none",
    (Parameter("a", "1", "a", default=0.5, bounds=(0.0, 1.0)), Parameter("b", "1", "b", default=0.5, bounds=(0.0, 1.0))),
    (Output("gap", "1", "g"), Output("energy", "1", "e"), Output("mass", "1", "m")),
    solve_block=_block,
)


def build(store: Path, n: int, chunks: tuple[int, int]) -> int:
    from pairsweep.sweeps import Sweep
    from pairsweep.sweeps.engine import prepare_store
    from pairsweep.sweeps.execute import compute_block
    from pairsweep.sweeps.grid import BlockGrid

    sweep = Sweep(kernel="verify_speed:BENCH_VERIFY", store=store,
                  axes={"a": np.linspace(0, 1, n), "b": np.linspace(0, 1, n)}, chunks={"a": chunks[0], "b": chunks[1]})
    rs = prepare_store(sweep)
    grid = BlockGrid(rs.shape, rs.chunks)
    for block in range(grid.n_blocks):
        compute_block(str(store), block, rs.spec_hash, "bench", False)
    return grid.n_blocks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1000, help="points per axis (default 1000: 10^6 points)")
    args = parser.parse_args()
    from pairsweep.storage.verify import verify_store

    n = args.points
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))}
    print(f"verify of a finished {n} x {n} = {n * n:,}-point store, 3 float64 outputs + status")
    print(f"{'blocks':>7} {'block':>8} {'files':>7} {'MiB':>7} {'build s':>8} {'verify s':>9} {'CLI s':>7}")
    for chunks in ((100, 100), (50, 50), (20, 25)):
        tmp = Path(tempfile.mkdtemp(prefix="pairsweep-verify-bench-"))
        try:
            store = tmp / "s.zarr"
            t0 = time.perf_counter()
            n_blocks = build(store, n, chunks)
            built = time.perf_counter() - t0
            files = [p for p in store.rglob("*") if p.is_file() and "_pairsweep" not in p.parts]
            mib = sum(p.stat().st_size for p in files) / 2**20
            t0 = time.perf_counter()
            report = verify_store(store, repair=False)
            inproc = time.perf_counter() - t0
            assert report.clean and report.blocks_checked == n_blocks, report
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "pairsweep.sweeps.cli", "verify", str(store), "--check-only"],
                                 env=env, capture_output=True, text=True)
            cli = time.perf_counter() - t0
            assert out.returncode == 0, out.stderr
            print(f"{n_blocks:>7} {chunks[0]:>4}x{chunks[1]:<3} {len(files):>7} {mib:>7.1f} {built:>8.1f} "
                  f"{inproc:>9.2f} {cli:>7.2f}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
