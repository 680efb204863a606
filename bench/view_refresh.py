"""What one refresh of `pairsweep view` costs on a 10⁶-point store, against re-reading the map.

Builds a 1000 x 1000 store of the test kernel SMOOTH (blocks of 100 x 100, 100 blocks),
lands blocks one at a time with the engine's own compute_block (as workers do), and times
ViewApp.update() after each landing (ledger scan + the new block's part of the slice + the
image patch), the update when nothing landed, and, for comparison, reading the whole map
from the store (what a page without the ledger would do every second).

    .venv/bin/python bench/view_refresh.py [--side 1000] [--chunk 100] [--blocks 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # engine_kernels


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--blocks", type=int, default=20, help="blocks landed (and refreshes timed)")
    args = parser.parse_args()

    from bokeh.document import Document

    from pairsweep.sweeps import Sweep, open_result
    from pairsweep.sweeps.engine import prepare_store
    from pairsweep.sweeps.execute import compute_block
    from pairsweep.sweeps.view import ViewApp

    with tempfile.TemporaryDirectory() as tmp:
        axis = np.linspace(-3, 3, args.side).tolist()
        rs = prepare_store(Sweep(kernel="engine_kernels:SMOOTH", store=Path(tmp) / "big.zarr",
                                 axes={"x": axis, "y": axis}, chunks={"x": args.chunk, "y": args.chunk}))
        compute_block(str(rs.store), 0, rs.spec_hash, "bench", False)
        t = time.perf_counter()
        app = ViewApp(Document(), rs.store, interval_ms=0)
        open_s = time.perf_counter() - t
        idle, landed = [], []
        for b in range(1, args.blocks + 1):
            t = time.perf_counter()
            app.update()
            idle.append(time.perf_counter() - t)
            compute_block(str(rs.store), b, rs.spec_hash, "bench", False)
            t = time.perf_counter()
            assert app.update() == [b]
            landed.append(time.perf_counter() - t)
        t = time.perf_counter()
        full = open_result(rs.store).f.values
        full_s = time.perf_counter() - t
        n_points = args.side**2
        print(f"store: {n_points} points, {rs.chunks} per block, "
              f"{(args.side // args.chunk) ** 2} blocks; image mode: {app.image_mode}")
        print(f"open the page (1 block done):          {open_s * 1e3:8.1f} ms")
        print(f"refresh, nothing new (median):         {np.median(idle) * 1e3:8.2f} ms")
        print(f"refresh after one block landed (median): {np.median(landed) * 1e3:6.2f} ms "
              f"(max {max(landed) * 1e3:.2f} ms), blocks read in total: {app.live.blocks_read}")
        print(f"reading the whole map instead:         {full_s * 1e3:8.1f} ms ({full.nbytes / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
