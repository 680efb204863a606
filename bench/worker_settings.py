"""Local workers with distributed's defaults against pairsweep's local-worker settings.

    python bench/worker_settings.py             # 3 interleaved pairs, 57 600 points each
    python bench/worker_settings.py --reps 1 --points 14400

The ~1 ms/point Python kernel of bench/engine_overhead.py, on 2 workers x 1 thread: a raw
``LocalCluster`` (distributed's profiler, tick and system-monitor intervals and the nanny's
MALLOC_TRIM_THRESHOLD_) against ``pairsweep.cluster.connect("local")``, which changes them
(see ``cluster/local.py``). The pairs are interleaved because the machine's speed drifts
by several percent between minutes; compare within a pair.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_kernels import LOOP_1MS  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from engine_overhead import direct_rate, engine_rate, square_axes, warm_up_workers  # noqa: E402

from pairsweep.cluster import connect  # noqa: E402


def _run(make_client, axes, chunks) -> float:
    # A raw LocalCluster's nannies export MALLOC_TRIM_THRESHOLD_ into this process, and
    # every later worker would inherit it; a user's `pairsweep run` starts without it.
    os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    work = Path(tempfile.mkdtemp(prefix="pairsweep-bench-"))
    try:
        with make_client() as client:
            warm_up_workers(client)
            rate, _, _ = engine_rate(client, LOOP_1MS, axes, chunks, work / "s.zarr")
        return rate
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _raw_local_cluster(workers: int):
    from contextlib import contextmanager

    @contextmanager
    def make():
        with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as cluster:
            with Client(cluster) as client:
                yield client
    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--points", type=int, default=57_600)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    axes, chunks = square_axes(args.points), {"a": 10}
    direct = direct_rate(LOOP_1MS, axes, chunks, max_seconds=12)
    print(f"plain loop, one process: {direct:,.0f} pt/s; ratios are engine / ({args.workers} x that)")
    variants = {
        "distributed's defaults": _raw_local_cluster(args.workers),
        "pairsweep local workers": lambda: connect("local", {"n_workers": args.workers, "dashboard_address": ":0"}),
    }
    for rep in range(args.reps):
        for name, make in variants.items():
            rate = _run(make, axes, chunks)
            print(f"pair {rep + 1}  {name:<24} {rate:8,.0f} pt/s  ratio {rate / (args.workers * direct):.3f}", flush=True)


if __name__ == "__main__":
    main()
