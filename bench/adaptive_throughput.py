"""Benchmark 3 of issue 15: throughput of an adaptive sweep of the ~5 ms mixd_bilayer kernel
on 2 single-threaded workers, against 2 × the kernel's single-core loop and against
python-adaptive's own Runner (one future per point) on the same cluster, in one run.

    python bench/adaptive_throughput.py                 # 10^4 points, ~1.5 minutes on 2 cores
    python bench/adaptive_throughput.py --points 3000   # a shorter sweep
    python bench/adaptive_throughput.py --quick

Same learner (Learner2D, default loss) and region (J⊥/V ∈ [0.5, 2] × t∥/V ∈ [0.05, 0.3],
L = 30, δ = 8/30) for both. The single-core rate is measured before and after the sweeps
(the machine is shared; the mean is used). points/s of a sweep = points / its wall time,
cluster start excluded, the sweep's own start (store creation, ~0.5 s) included: with
10^4 points it is a few per cent of the run, with 3000 about a tenth. All three run on
pairsweep's local cluster (what ``pairsweep run`` starts). The grid engine on the same
kernel, points and block size gives pairsweep's own ceiling on the machine (the client
shares the 2 cores with the workers). The kernel's cost per point depends on where the
point is; the adaptive sweep's rate is also given against the loop over 300 of the points
it chose.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import adaptive_common  # noqa: E402
import numpy as np  # noqa: E402
from adaptive_common import PointFunction, evaluate  # noqa: E402

from pairsweep.cluster import connect  # noqa: E402

KERNEL = "mixd_bilayer"
FIXED = {"L": 30, "d": 1, "doping": 8 / 30, "eps": 0.0}
BOUNDS = {"J_perp": (0.5, 2.0), "t_par": (0.05, 0.3)}


def loop_rate(n: int, points: dict[str, np.ndarray] | None = None) -> float:
    """Single-core loop rate over ``n`` uniformly random points, or ``points``."""
    rng = np.random.default_rng(1)
    pts = points if points is not None else {k: rng.uniform(*b, n) for k, b in BOUNDS.items()}
    n = len(next(iter(pts.values())))
    t = time.perf_counter()
    evaluate(KERNEL, FIXED, pts, "sc_cc_balance")
    return n / (time.perf_counter() - t)


def sweep_points(store: Path, n: int) -> dict[str, np.ndarray]:
    """``n`` of the points an adaptive sweep chose (its kernel cost per point differs from a
    uniform sample's: the learner gathers points where the function changes)."""
    from pairsweep.sweeps import open_result

    ds = open_result(store)
    pick = np.random.default_rng(2).choice(ds.sizes["point"], size=min(n, ds.sizes["point"]), replace=False)
    return {k: np.asarray(ds[k].values)[pick] for k in BOUNDS}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--points", type=int, default=10000)
    args = parser.parse_args()
    n_pairsweep, n_runner = (args.points, 400) if not args.quick else (1000, 200)

    from adaptive import BlockingRunner, Learner2D

    from pairsweep.sweeps import Sweep, run_sweep
    from pairsweep.sweeps.adaptive_spec import AdaptiveSweep

    loop_rate(20)  # warm up (imports, numba)
    before = loop_rate(300)
    tmp = Path(tempfile.mkdtemp(prefix="adaptive-throughput-"))
    try:
        # pairsweep's own local cluster (what `pairsweep run` starts; see cluster/local.py),
        # used by all three contenders
        with connect("local", {"n_workers": 2, "dashboard_address": ":0"}) as client:
            client.upload_file(adaptive_common.__file__)
            client.run(loop_rate, 20)  # the same warm-up on the workers
            t = time.perf_counter()
            report = run_sweep(AdaptiveSweep(kernel=KERNEL, store=tmp / "a.zarr", fixed=FIXED, adaptive={
                "output": "sc_cc_balance", "loss": "curvature",
                "bounds": {k: list(v) for k, v in BOUNDS.items()}, "npoints": n_pairsweep,
            }), client=client, progress=False, verbosity=-1)
            pairsweep_rate = report.points_computed / (time.perf_counter() - t)
            block = report.points_computed // report.blocks_computed
            chosen = sweep_points(tmp / "a.zarr", 300)

            # the grid engine on the same kernel, same number of points and block size:
            # pairsweep's own ceiling on this (shared) machine
            side = int(round(n_pairsweep ** 0.5))
            t = time.perf_counter()
            grid = run_sweep(Sweep(kernel=KERNEL, store=tmp / "g.zarr", fixed=FIXED,
                                   axes={k: np.linspace(*b, side) for k, b in BOUNDS.items()},
                                   chunks={"J_perp": max(1, block // side), "t_par": side}),
                             client=client, progress=False, verbosity=-1)
            grid_rate = grid.points_computed / (time.perf_counter() - t)
            grid_block = grid.points_computed // grid.blocks_computed

            learner = Learner2D(PointFunction(KERNEL, FIXED, tuple(BOUNDS), "sc_cc_balance"),
                                bounds=list(BOUNDS.values()))
            t = time.perf_counter()
            BlockingRunner(learner, executor=client, npoints_goal=n_runner)
            runner_rate = learner.npoints / (time.perf_counter() - t)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    after = loop_rate(300)
    own = loop_rate(0, chosen)
    single = (before + after) / 2
    ideal = 2 * single
    print(f"single-core loop: {before:.0f} points/s before, {after:.0f} after; ideal on 2 workers {ideal:.0f} points/s")
    print(f"single-core loop over 300 of the points the adaptive sweep chose: {own:.0f} points/s")
    print(f"pairsweep adaptive ({n_pairsweep} points, blocks of {block}): {pairsweep_rate:.0f} points/s "
          f"= {pairsweep_rate / ideal:.2f} of ideal ({pairsweep_rate / (2 * own):.2f} of 2 x the loop over its own points)")
    print(f"pairsweep grid, same kernel ({side}x{side} points, blocks of {grid_block}): {grid_rate:.0f} points/s "
          f"= {grid_rate / ideal:.2f} of ideal; adaptive / grid = {pairsweep_rate / grid_rate:.2f}")
    print(f"adaptive.BlockingRunner ({n_runner} points, one future per point): {runner_rate:.0f} points/s "
          f"= {runner_rate / ideal:.2f} of ideal")
    print(f"pairsweep / adaptive Runner: {pairsweep_rate / runner_rate:.1f}x")


if __name__ == "__main__":
    main()
