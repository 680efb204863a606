"""Engine overhead: pairsweep throughput against the same kernel run directly, in one run.

    python bench/engine_overhead.py            # full (a few minutes on 2 cores)
    python bench/engine_overhead.py --quick    # smaller grids

Prints, for a ~1 ms/point Python-loop kernel and ~10 µs and ~1 µs/point vectorized numpy
kernels: (a) points/s of the kernel in one process (plain loop, or vectorized over blocks
of the same shape the sweep uses), (b) points/s of the same grid through pairsweep on a
LocalCluster with one single-threaded worker per core, and (b) / (cores × a); also (c) the
same plain loops in `cores` processes at once without Dask, the machine's own ceiling on
that many cores, and (b) / (c); where the workers' time went (kernel at plain-loop speed,
the kernel's slowdown inside a worker, writes and fsyncs, dispatch and idle), from the
ledger entries; and numpy code with fresh temporaries timed in a plain process and in a
worker (glibc's malloc settings). Then the
client's peak Python memory (tracemalloc) as the grid grows 10⁴ → 10⁷ points, and the wall
time of `pairsweep status` and of resuming a finished 10⁶-point store (fresh processes, as a
user types them). Ratios are measured in one run: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # bench_kernels, for this process and the spawned workers

from bench_kernels import LOOP_1MS, VECTOR_1US, VECTOR_10US  # noqa: E402
from distributed import Client  # noqa: E402

from pairsweep.cluster import connect  # noqa: E402
from pairsweep.sweeps import Sweep, run_sweep  # noqa: E402
from pairsweep.sweeps.execute import evaluate_block  # noqa: E402
from pairsweep.sweeps.grid import BlockGrid, block_parameters  # noqa: E402
from pairsweep.sweeps.spec import resolve  # noqa: E402


def square_axes(n_points: int) -> dict[str, np.ndarray]:
    side = int(round(n_points**0.5))
    return {"a": np.linspace(0.0, 1.0, side), "b": np.linspace(0.0, 1.0, side)}


def direct_rate(kernel, axes, chunks, max_seconds: float) -> float:
    """Points/s of the kernel in this process, block by block as the engine cuts them,
    through the same evaluate_block the workers use (so only distribution differs)."""
    rs = resolve(Sweep(kernel=kernel.name, store="unused", axes=axes, chunks=chunks))
    grid = BlockGrid(rs.shape, rs.chunks)
    coords = [np.asarray(a.values) for a in rs.axes]
    points, start = 0, time.perf_counter()
    for block_id in grid.iter_blocks():
        params = block_parameters(rs.dims, coords, grid.block_slices(block_id))
        evaluate_block(kernel, params, {})
        points += grid.block_size(block_id)
        if time.perf_counter() - start > max_seconds:
            break
    return points / (time.perf_counter() - start)


def _direct_share(kernel_name: str, axes, chunks, share: int, n_shares: int) -> tuple[int, float]:
    from pairsweep.kernels import get_kernel

    kernel = get_kernel(kernel_name)
    rs = resolve(Sweep(kernel=kernel.name, store="unused", axes=axes, chunks=chunks))
    grid = BlockGrid(rs.shape, rs.chunks)
    coords = [np.asarray(a.values) for a in rs.axes]
    points, start = 0, time.perf_counter()
    for block_id in range(share, grid.n_blocks, n_shares):
        evaluate_block(kernel, block_parameters(rs.dims, coords, grid.block_slices(block_id)), {})
        points += grid.block_size(block_id)
    return points, time.perf_counter() - start


def parallel_direct_rate(kernel, axes, chunks, processes: int) -> float:
    """Points/s of plain loops in ``processes`` processes at once, no Dask: what the machine
    itself delivers on that many cores (shared caches, memory bandwidth, SMT, noisy
    neighbours), the ceiling any distribution layer can reach."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.map(abs, range(processes))  # start-up out of the timing
        start = time.perf_counter()
        results = pool.starmap(_direct_share, [(kernel.name, axes, chunks, i, processes) for i in range(processes)])
        wall = time.perf_counter() - start
    return sum(points for points, _ in results) / wall


def warm_up_workers(client) -> None:
    """One-off worker start-up (imports of the kernel module, zarr and the block task),
    kept out of the timings like the cluster start."""
    client.run(lambda: [__import__(m) for m in ("bench_kernels", "zarr", "pairsweep.sweeps.execute")])


def engine_rate(client, kernel, axes, chunks, store: Path) -> tuple[float, int, float]:
    sweep = Sweep(kernel=kernel.name, store=store, axes=axes, chunks=chunks)
    start = time.perf_counter()
    report = run_sweep(sweep, client=client, progress=False)
    elapsed = time.perf_counter() - start
    assert report.complete and report.failed == 0
    return report.points_computed / elapsed, report.n_blocks, elapsed


def time_budget(store: Path, wall: float, workers: int, direct: float) -> dict[str, float]:
    """Where the workers' time went, as shares of workers x wall, from the ledger entries:
    the kernel at its single-process speed, the kernel's slowdown inside a worker (GIL
    and CPU taken by the worker's own threads, the nanny, the scheduler), writing and
    fsyncing the block, and the rest (dispatch, ledger entry, idle tail)."""
    from pairsweep.storage import ledger

    entries = list(ledger.iter_entries(store))
    points = sum(e["points"] for e in entries)
    kernel = sum(e["kernel_seconds"] for e in entries)
    busy = sum(e["seconds"] for e in entries)
    total = wall * workers
    ideal = points / direct
    return {"kernel at direct speed": ideal / total, "kernel slowdown in worker": (kernel - ideal) / total,
            "write + fsync": (busy - kernel) / total, "dispatch, ledger, idle": 1.0 - busy / total}


def fresh_temporaries_us_per_point(blocks: int = 10, size: int = 65536) -> float:
    """µs/point of numpy code that makes fresh ~200 KiB temporaries, as most kernels do.
    Timed in this process and in a worker: a worker whose nanny exported
    MALLOC_TRIM_THRESHOLD_ (distributed's default) pays a page fault storm here."""
    x, k = np.linspace(0.0, 1.0, size), np.linspace(0.0, 1.0, 100)
    start = time.perf_counter()
    for _ in range(blocks):
        for first in range(0, size, 256):
            np.exp(-np.multiply.outer(x[first:first + 256], k)).sum(axis=1)
    return (time.perf_counter() - start) / (blocks * size) * 1e6


def client_peak_memory(client, n_points: int, store: Path) -> tuple[float, int]:
    axes = square_axes(n_points)
    tracemalloc.start()
    tracemalloc.reset_peak()
    report = run_sweep(Sweep(kernel=VECTOR_1US.name, store=store, axes=axes), client=client, progress=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, report.n_blocks


@contextmanager
def separate_process_cluster(workers: int, directory: Path):
    """Scheduler and workers in their own processes, as with ``kind = "address"`` or a
    batch cluster's workers: the client process then holds only pairsweep's client state.
    (A LocalCluster's scheduler lives in the client process and keeps bounded logs of
    every task, which would be counted as client memory.)"""
    scheduler_file = directory / "scheduler.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    bin_dir = Path(sys.executable).parent
    procs = [subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--scheduler-file", str(scheduler_file),
                               "--port", "0", "--dashboard-address", ":0"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        procs += [subprocess.Popen([str(bin_dir / "dask"), "worker", "--scheduler-file", str(scheduler_file),
                                    "--nthreads", "1", "--nworkers", str(workers), "--no-dashboard"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        with Client(scheduler_file=str(scheduler_file)) as client:
            client.wait_for_workers(workers, timeout=120)
            yield client
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)


def timed_command(args: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cores = args.workers
    scale = 0.25 if args.quick else 1.0
    work = Path(tempfile.mkdtemp(prefix="pairsweep-bench-"))
    print(f"pairsweep engine overhead, {cores} workers x 1 thread, {os.cpu_count()} cores, python {sys.version.split()[0]}")
    cases = [
        # 24 blocks of 2500 points: an even number of rounds on 2 workers, so the figure is
        # steady-state throughput, not the idle tail of the last round.
        ("~1 ms/point, Python loop", LOOP_1MS, int(57_600 * scale), {"a": max(1, int(10 * scale))}),
        ("~10 µs/point, numpy", VECTOR_10US, int(2_000_000 * scale), None),
        ("~1 µs/point, numpy", VECTOR_1US, int(4_000_000 * scale), None),
    ]
    try:
        # The single-process rates come first, while this process has no scheduler threads
        # competing for its GIL (a LocalCluster's scheduler lives in the client process).
        direct = {
            label: direct_rate(kernel, square_axes(n), chunks, max_seconds=10 * scale + 2)
            for label, kernel, n, chunks in cases
        }
        parallel = {
            label: parallel_direct_rate(kernel, square_axes(n), chunks, cores) for label, kernel, n, chunks in cases
        }
        temporaries_direct = fresh_temporaries_us_per_point()
        t0 = time.perf_counter()
        # pairsweep's own local cluster (its worker settings included), as `pairsweep run` makes it
        with connect("local", {"n_workers": cores, "dashboard_address": ":0"}) as client:
            print(f"LocalCluster start: {time.perf_counter() - t0:.2f} s (not counted below)\n")
            warm_up_workers(client)

            budgets: dict[str, dict[str, float]] = {}
            print(f"{'kernel':<28}{'points':>10}{'blocks':>8}{'direct pt/s':>14}{'engine pt/s':>14}"
                  f"{'engine/(cores*direct)':>24}{f'{cores} plain procs pt/s':>20}{'engine/plain procs':>20}")
            for label, kernel, n_points, chunks in cases:
                axes = square_axes(n_points)
                store = work / f"{kernel.name.split(':')[1]}.zarr"
                engine, n_blocks, wall = engine_rate(client, kernel, axes, chunks, store)
                n = len(axes["a"]) * len(axes["b"])
                ratio = engine / (cores * direct[label])
                print(f"{label:<28}{n:>10}{n_blocks:>8}{direct[label]:>14,.0f}{engine:>14,.0f}{ratio:>24.3f}"
                      f"{parallel[label]:>20,.0f}{engine / parallel[label]:>20.3f}")
                budgets[label] = time_budget(store, wall, cores, direct[label])
            print("(engine: wall time of run_sweep, store creation and every write, fsync and ledger entry included)")
            in_worker = client.submit(fresh_temporaries_us_per_point, pure=False).result()
            print(f"\nnumpy code with fresh 200 KiB temporaries: {temporaries_direct:.2f} µs/point in a plain "
                  f"process, {in_worker:.2f} in a worker (ratio {in_worker / temporaries_direct:.2f})")
            print("\nworkers' time (workers x wall of run_sweep), from the ledger entries:")
            for label, budget in budgets.items():
                print(f"  {label:<28}" + "  ".join(f"{k} {v:6.1%}" for k, v in budget.items()))

        print("\nclient peak Python memory during run_sweep (tracemalloc), ~1 µs/point kernel,")
        print("scheduler and workers in separate processes:")
        sizes = [10**4, 10**5, 10**6] + ([] if args.quick else [10**7])
        with separate_process_cluster(cores, work) as client:
            for n in sizes:
                peak, n_blocks = client_peak_memory(client, n, work / f"mem{n}.zarr")
                print(f"  {n:>10} points, {n_blocks:>5} blocks: {peak:7.2f} MiB")

        million = work / "mem1000000.zarr"
        spec = work / "million.toml"
        spec.write_text(
            f'kernel = "{VECTOR_1US.name}"\nstore = "{million}"\n[axes]\n'
            'a = { linspace = [0.0, 1.0, 1000] }\nb = { linspace = [0.0, 1.0, 1000] }\n'
        )
        exe = [sys.executable, "-m", "pairsweep.sweeps.cli"]
        print("\nfinished 10^6-point store, fresh processes (includes Python start-up and imports):")
        print(f"  pairsweep status:            {timed_command(exe + ['status', str(million)]):.2f} s")
        print(f"  pairsweep run (resume, done): {timed_command(exe + ['run', str(spec), '--no-progress']):.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
