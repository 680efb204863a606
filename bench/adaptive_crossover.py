"""Benchmark 2 of issue 15: the MixD ladder's crossover line sc_cc_balance = 0 over
J⊥/V ∈ [0.5, 2] × t∥/V ∈ [0.05, 0.3] (L = 30, δ = 8/30), uniform grid vs pairsweep
adaptive (loss "level"), error against a dense reference line vs kernel evaluations.

    python bench/adaptive_crossover.py           # ~1-2 minutes on 2 shared cores
    python bench/adaptive_crossover.py --quick

Reference: for 26 values of t∥ the root in J⊥ by Brent's method on the kernel (xtol 1e-7).
A sample set's line: its points interpolated (C¹ Clough–Tocher over their Delaunay
triangulation, the same for grids and adaptive samples) along J⊥ (2001 values) at each
reference t∥, root by linear interpolation between the sign change. Prints the max and
mean |ΔJ⊥| over the 26 reference points, then, for a few line errors, the evaluations each
method needs: the smallest n from which every larger grid (budget) of its series has a max
|ΔJ⊥| at most that error (the uniform grid's error does not fall monotonically).
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

import numpy as np  # noqa: E402
from adaptive_common import evaluate, needs  # noqa: E402
from pairsweep.cluster import connect  # noqa: E402

KERNEL = "mixd_bilayer"
FIXED = {"L": 30, "d": 1, "doping": 8 / 30, "eps": 0.0}
J, T = (0.5, 2.0), (0.05, 0.3)
T_REF = np.linspace(*T, 26)


def f(j: np.ndarray, t: np.ndarray) -> np.ndarray:
    return evaluate(KERNEL, FIXED, {"J_perp": np.asarray(j, float), "t_par": np.asarray(t, float)}, "sc_cc_balance")


def reference() -> np.ndarray:
    from scipy.optimize import brentq

    return np.array([brentq(lambda j, t=t: float(f([j], [t])[0]), *J, xtol=1e-7) for t in T_REF])


def line(j: np.ndarray, t: np.ndarray, v: np.ndarray) -> np.ndarray:
    from scipy.interpolate import CloughTocher2DInterpolator

    ok = np.isfinite(v)
    ip = CloughTocher2DInterpolator(np.stack([j[ok], t[ok]], axis=1), v[ok])
    js = np.linspace(*J, 2001)
    roots = []
    for t_ref in T_REF:
        z = ip(js, np.full_like(js, t_ref))
        cross = np.flatnonzero(np.isfinite(z[:-1]) & np.isfinite(z[1:]) & (np.sign(z[:-1]) != np.sign(z[1:])))
        if not len(cross):
            roots.append(np.nan)
            continue
        i = cross[0]
        roots.append(js[i] - z[i] * (js[i + 1] - js[i]) / (z[i + 1] - z[i]))
    return np.array(roots)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="adaptive runs (the learner's choices depend "
                        "on the order blocks finish)")
    args = parser.parse_args()
    # up to 64 x 64: where the uniform grid reaches the error adaptive reaches at 250 points
    sizes = [6, 8, 12, 16, 24, 32, 36, 40, 44, 48, 56, 64] if not args.quick else [6, 8, 12, 16]
    budgets = [36, 64, 100, 150, 175, 200, 225, 250, 300, 350, 400] if not args.quick else [36, 64, 100, 150]

    from pairsweep.sweeps import open_result, run_sweep
    from pairsweep.sweeps.adaptive_spec import AdaptiveSweep

    t0 = time.perf_counter()
    ref = reference()
    print(f"reference line: {len(T_REF)} roots, J_perp from {ref.min():.4f} to {ref.max():.4f} "
          f"({time.perf_counter() - t0:.0f} s)")
    print(f"{'method':<22} {'evals':>6} {'max |dJ|':>10} {'mean |dJ|':>10} {'inside':>9}")

    # "inside": the max over the reference points off the box's edges (t_par = 0.05 and 0.3
    # excluded), to tell the line's ends from its course
    errors: dict[str, list[tuple[int, float]]] = {}
    inside: dict[str, list[tuple[int, float]]] = {}

    def row(method: str, n: int, found: np.ndarray) -> None:
        err = np.abs(found - ref)
        errors.setdefault(method, []).append((n, float(np.max(err))))  # NaN (a missed crossing) never meets
        inside.setdefault(method, []).append((n, float(np.max(err[1:-1]))))
        bad = int(np.isnan(err).sum())
        print(f"{method:<22} {n:>6} {np.nanmax(err):>10.5f} {np.nanmean(err):>10.5f} {np.nanmax(err[1:-1]):>9.5f}"
              + (f"  ({bad} reference points without a crossing)" if bad else ""), flush=True)

    for n in sizes:
        jj, tt = np.meshgrid(np.linspace(*J, n), np.linspace(*T, n), indexing="ij")
        row("uniform grid", n * n, line(jj.ravel(), tt.ravel(), f(jj.ravel(), tt.ravel())))

    tmp = Path(tempfile.mkdtemp(prefix="adaptive-crossover-"))
    try:
        with connect("local", {"n_workers": 2, "dashboard_address": ":0"}) as client:
            for repeat in range(args.repeats):
                store = tmp / f"a{repeat}.zarr"
                run_sweep(AdaptiveSweep(kernel=KERNEL, store=store, fixed=FIXED, adaptive={
                    "output": "sc_cc_balance", "loss": "level", "level": 0.0,
                    "bounds": {"J_perp": list(J), "t_par": list(T)}, "npoints": budgets[-1], "block_points": 10,
                }), client=client, progress=False, verbosity=-1)
                ds = open_result(store).load()
                for n in budgets:
                    part = ds.isel(point=slice(0, n))
                    row(f"pairsweep adaptive #{repeat + 1}", n,
                        line(part.J_perp.values, part.t_par.values, part.sc_cc_balance.values))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for label, table in (("max |dJ|", errors), ("inside, max |dJ|", inside)):
        for target in (1e-3, 3e-4, 1e-4):
            # a NaN error (a missed crossing) never meets the target
            u = needs([(n, err <= target) for n, err in table["uniform grid"]])
            runs = [needs([(n, err <= target) for n, err in rows]) for m, rows in table.items() if m != "uniform grid"]
            median = float(np.median(runs)) if u and None not in runs else None
            ratio = f"median {median:g} = {median / u:.2f}" if median else "n/a"
            print(f"{label} <= {target:g}: uniform grid needs {u}, pairsweep adaptive "
                  f"{', '.join(map(str, runs))} in {len(runs)} runs ({ratio})")


if __name__ == "__main__":
    main()
