"""Benchmark 1 of issue 15: locating the T_c maximum of the multigap dome (case A) over
η ∈ [−0.5, 2] × g ∈ [0.2, 0.49], uniform grid vs pairsweep adaptive vs python-adaptive's own
Runner on the same Dask cluster.

    python bench/adaptive_dome.py            # ~3 minutes on 2 shared cores
    python bench/adaptive_dome.py --quick

(g stops at 0.49, the kernel's upper bound: ω̃₀ = ω₀√(1−2g) vanishes at 0.5.)

The reference maximum comes from Nelder–Mead on the kernel itself (tight tolerances). Each
sample set is located the same way: interpolated onto a 201 × 201 grid (C¹ Clough–Tocher
over its Delaunay triangulation, :func:`pairsweep.sweeps.adaptive_grid.to_grid`'s "cubic";
for uniform grids, the grid itself) and refined by :func:`pairsweep.sweeps.maximum`.
Prints evaluations, |ΔT_c| [K], |Δη|, |Δg| and wall time per method and budget.
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
import xarray as xr  # noqa: E402
from adaptive_common import PointFunction, evaluate  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

KERNEL = "multigap_lifshitz"
FIXED = {"case": "A", "g_low": 0.1, "g_inter": 0.1, "n_bands": 3}
BOUNDS = {"eta": (-0.5, 2.0), "g": (0.2, 0.49)}


def reference() -> tuple[float, float, float, int]:
    from scipy.optimize import minimize

    calls = 0

    def f(p):
        nonlocal calls
        calls += 1
        return -float(evaluate(KERNEL, FIXED, {"eta": np.array([p[0]]), "g": np.array([p[1]])}, "Tc_K")[0])

    res = minimize(f, x0=[1.0, 0.42], method="Nelder-Mead", bounds=list(BOUNDS.values()),
                   options={"xatol": 1e-5, "fatol": 1e-4, "initial_simplex": [[0.9, 0.40], [1.1, 0.40], [1.0, 0.46]]})
    return -float(res.fun), float(res.x[0]), float(res.x[1]), calls


def locate(eta: np.ndarray, g: np.ndarray, tc: np.ndarray) -> tuple[float, float, float]:
    """Maximum of scattered samples: Clough–Tocher onto 201², then analysis.maximum."""
    from scipy.interpolate import CloughTocher2DInterpolator

    from pairsweep.sweeps import maximum

    ok = np.isfinite(tc)
    ip = CloughTocher2DInterpolator(np.stack([eta[ok], g[ok]], axis=1), tc[ok])
    ge, gg = np.linspace(*BOUNDS["eta"], 201), np.linspace(*BOUNDS["g"], 201)
    z = ip(ge[:, None], gg[None, :])
    ds = xr.Dataset({"Tc_K": (("eta", "g"), z), "status": (("eta", "g"), np.where(np.isfinite(z), 0, 255))},
                    coords={"eta": ge, "g": gg})
    m = maximum(ds, "Tc_K", dims=["eta", "g"])
    return m.value, m.coords["eta"], m.coords["g"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    uniform = [(11, 7), (16, 10), (21, 13)] if not args.quick else [(11, 7), (16, 10)]
    budgets = [32, 48, 64, 96, 128, 160] if not args.quick else [32, 48, 64, 96]

    from adaptive import BlockingRunner, Learner2D

    from pairsweep.sweeps import Sweep, open_result, run_sweep
    from pairsweep.sweeps.adaptive_learners import _maximum_loss_2d
    from pairsweep.sweeps.adaptive_spec import AdaptiveSweep

    t = time.perf_counter()
    ref = reference()
    print(f"reference (Nelder-Mead, {ref[3]} evaluations, {time.perf_counter() - t:.0f} s): "
          f"Tc = {ref[0]:.3f} K at eta = {ref[1]:.4f}, g = {ref[2]:.4f}")
    rows = []

    def row(method: str, n: int, found: tuple[float, float, float], seconds: float) -> None:
        rows.append((method, n, abs(found[0] - ref[0]), abs(found[1] - ref[1]), abs(found[2] - ref[2]), seconds))
        r = rows[-1]
        print(f"{r[0]:<22} {r[1]:>5} {r[2]:>9.3f} {r[3]:>8.4f} {r[4]:>8.4f} {r[5]:>7.1f}", flush=True)

    print(f"{'method':<22} {'evals':>5} {'|dTc| K':>9} {'|deta|':>8} {'|dg|':>8} {'wall s':>7}")
    tmp = Path(tempfile.mkdtemp(prefix="adaptive-dome-"))
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, Client(cluster) as client:
            client.upload_file(adaptive_common.__file__)
            for ne, ng in uniform:
                store = tmp / f"u{ne}x{ng}.zarr"
                t = time.perf_counter()
                run_sweep(Sweep(kernel=KERNEL, store=store, fixed=FIXED,
                                axes={"eta": np.linspace(*BOUNDS["eta"], ne), "g": np.linspace(*BOUNDS["g"], ng)},
                                chunks={"eta": ne, "g": 1}), client=client, progress=False, verbosity=-1)
                seconds = time.perf_counter() - t
                from pairsweep.sweeps import maximum

                m = maximum(open_result(store), "Tc_K", dims=["eta", "g"])
                row("uniform grid", ne * ng, (m.value, m.coords["eta"], m.coords["g"]), seconds)

            store = tmp / "adaptive.zarr"
            t = time.perf_counter()
            run_sweep(AdaptiveSweep(kernel=KERNEL, store=store, fixed=FIXED, adaptive={
                "output": "Tc_K", "loss": "maximum", "bounds": {k: list(v) for k, v in BOUNDS.items()},
                "npoints": budgets[-1], "block_points": 8}), client=client, progress=False, verbosity=-1)
            seconds = time.perf_counter() - t
            ds = open_result(store).load()
            for n in budgets:
                part = ds.isel(point=slice(0, n))
                row("pairsweep adaptive", n, locate(part.eta.values, part.g.values, part.Tc_K.values),
                    seconds * n / budgets[-1])

            learner = Learner2D(PointFunction(KERNEL, FIXED, ("eta", "g"), "Tc_K"), bounds=list(BOUNDS.values()),
                                loss_per_triangle=_maximum_loss_2d)
            t = time.perf_counter()
            BlockingRunner(learner, executor=client, npoints_goal=budgets[-1])
            seconds = time.perf_counter() - t
            pts = np.array(list(learner.data.keys()))
            vals = np.array(list(learner.data.values()))
            for n in budgets:
                row("adaptive.Runner", n, locate(pts[:n, 0], pts[:n, 1], vals[:n]), seconds * n / budgets[-1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("(wall s of adaptive rows: the whole run's time scaled by the share of points)")


if __name__ == "__main__":
    main()
