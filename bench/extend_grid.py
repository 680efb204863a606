"""Extending a grid store: a 41-value axis extended to 81 interleaved values computes only
the 40 new lines, and the store opens as one sorted Dataset.

    python bench/extend_grid.py            # mixd_bilayer, J_perp 41 -> 81 values x 7 dopings
    python bench/extend_grid.py --workers 2

Runs ``examples/mixd_crossover.toml``'s model (``mixd_bilayer``, ~5 ms per point) over
J⊥/V = linspace(0.5, 2, 41) × 7 dopings with one block per line of J⊥ (7 points), then the
same spec with linspace(0.5, 2, 81), which holds the 41 old values and 40 new ones between
them. Counts from the ledgers (never from the engine's own report alone): blocks and points
in part 0 before and after, blocks and points in the new part, blocks each run submitted
(run logs); then checks the union Dataset (sorted, 81 values, every point ok) against a
fresh store of the 81-value spec, bit for bit. Prints the counts and, for scale, the wall
time of the extension against the fresh 81-value run measured in the same process.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from pairsweep.storage import ledger
from pairsweep.storage.parts import part_stores
from pairsweep.sweeps import Sweep, open_result, run_sweep

DOPING = np.linspace(2 / 30, 14 / 30, 7)
FIXED = {"L": 30, "d": 1, "t_par": 0.1, "eps": 0.0}


def sweep(store: Path, n: int) -> Sweep:
    return Sweep(kernel="mixd_bilayer", store=store, axes={"J_perp": np.linspace(0.5, 2.0, n), "doping": DOPING},
                 fixed=FIXED, chunks={"J_perp": 1, "doping": len(DOPING)})


def ledger_counts(store: Path) -> tuple[int, int]:
    entries = list(ledger.iter_entries(store))
    return len(entries), sum(e["points"] for e in entries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    tmp = Path(tempfile.mkdtemp(prefix="pairsweep-extend-"))
    try:
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=":0") as cluster, \
                Client(cluster) as client:
            store = tmp / "zoom.zarr"
            first = run_sweep(sweep(store, 41), client=client, progress=False)
            before = ledger_counts(store)
            part0_files = {p: p.read_bytes() for p in (store / "_pairsweep" / "blocks").iterdir()}

            started = time.perf_counter()
            ext = run_sweep(sweep(store, 81), client=client, progress=False)
            t_extend = time.perf_counter() - started
            after = ledger_counts(store)
            parts = part_stores(store)
            new_part = ledger_counts(parts[1])
            runs = ledger.read_run_log(store)
            part0_unchanged = part0_files == {p: p.read_bytes() for p in (store / "_pairsweep" / "blocks").iterdir()}

            started = time.perf_counter()
            fresh = run_sweep(sweep(tmp / "fresh.zarr", 81), client=client, progress=False)
            t_fresh = time.perf_counter() - started

        ds, ref = open_result(store).load(), open_result(tmp / "fresh.zarr").load()
        j = ds["J_perp"].values
        identical = all(
            np.array_equal(ds[v].values, ref[v].values, equal_nan=ds[v].dtype.kind == "f") for v in ref.data_vars
        ) and np.array_equal(j, ref["J_perp"].values)
        print("extend a grid store: mixd_bilayer, J_perp 41 -> 81 interleaved values x 7 dopings, "
              "one block per J_perp line")
        print(f"  first run: {first.blocks_computed} blocks, {first.points_computed} points")
        print(f"  part 0 ledger before / after the extension: {before} / {after} (blocks, points); "
              f"entries byte-identical: {part0_unchanged}; runs that submitted part-0 blocks: {len(runs)}")
        print(f"  parts after: {len(parts)}; new part's ledger: {new_part[0]} blocks (J_perp lines), "
              f"{new_part[1]} points")
        print(f"  extension run report: {ext.blocks_computed} blocks, {ext.points_computed} points computed, "
              f"{ext.blocks_already_done} already done, complete {ext.complete}")
        print(f"  open_result: J_perp {j.size} values, sorted {bool(np.all(np.diff(j) > 0))}, "
              f"status ok {int((ds['status'] == 0).sum())}/{ds['status'].size}, "
              f"bit-identical to a fresh 81-value store {identical}")
        print(f"  wall time: extension {t_extend:.2f} s, fresh 81-value run {t_fresh:.2f} s "
              f"(ratio {t_extend / t_fresh:.2f}; fresh computed {fresh.points_computed} points)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
