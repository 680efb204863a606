"""Per-point timings of the spinor-BEC kernels on one core (prints a table, asserts nothing).

    .venv/bin/python bench/spinor_bec_points.py            # all rows
    .venv/bin/python bench/spinor_bec_points.py --quick    # three rows
    .venv/bin/python bench/spinor_bec_points.py --mu both  # each row with μ fixed and from n = n_F

BLAS is pinned to one thread before numpy loads, as on a Dask worker. The first call pays
numba's compile (or cache load); it is timed separately and excluded from the rows. Each
row is the best of ``--repeat`` runs of one full ``spinor_bec`` point: scout grid, three
T_c,ℓ, Δ_ℓ(T) on the main and the refinement-check grid.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from pairsweep.kernels import get_kernel  # noqa: E402
from pairsweep.kernels.spinor_bec import solve_gap_point  # noqa: E402

ROWS = [
    # (δg̃, g̃_F, T/T_F, interaction)
    (1e-3, 2.0, 0.0, "retarded"),  # the issue's reference point (seed Fig. 3a)
    (1e-5, 2.0, 0.0, "retarded"),
    (1e-1, 2.0, 0.0, "retarded"),
    (1e-3, 2.0, 0.03, "retarded"),
    (1e-3, 1.0, 0.0, "retarded"),
    (1e-1, 1.0, 0.0, "retarded"),  # T_c,2 ~ 4e-6: the most graded grid
    (0.19, 1.0, 0.0, "retarded"),  # weak coupling
    (1e-3, 2.0, 0.0, "static"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first three rows only")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mu", choices=("fixed", "number", "both"), default="fixed",
                        help="chemical_potential of the rows (both: each row twice)")
    args = parser.parse_args()
    gap_k = get_kernel("spinor_bec")
    defaults = {p.name: p.default for p in gap_k.parameters}

    t0 = time.perf_counter()
    solve_gap_point(**{**defaults, "delta_g": 1e-2, "g_F": 2.0})
    print(f"first call (numba compile or cache load + one point): {time.perf_counter() - t0:.2f} s\n")

    head = f"{'δg̃':>8} {'g̃_F':>5} {'T/T_F':>6} {'interaction':>11} {'μ':>6} {'t/point [s]':>11} {'N':>4} {'N_main':>6}  " \
           f"{'Δ_0/ε_F':>9} {'T_c,0/T_F':>10} {'T_c,2/T_F':>10} {'μ_0/ε_F':>10} {'max refine diff':>15}"
    print(head)
    print("-" * len(head))
    modes = ("fixed", "number") if args.mu == "both" else (args.mu,)
    for dg, gf, T, inter in ROWS[: 3 if args.quick else None]:
        for mode in modes:
            best = np.inf
            for _ in range(args.repeat):
                t = time.perf_counter()
                r = solve_gap_point(**{**defaults, "delta_g": dg, "g_F": gf, "T": T, "interaction": inter,
                                       "chemical_potential": mode})
                best = min(best, time.perf_counter() - t)
            diff = max(np.nanmax(r["refine_diff_gap"]), np.nanmax(r["refine_diff_tc"]), np.nanmax(r["refine_diff_mu"]))
            print(f"{dg:8.0e} {gf:5.1f} {T:6.3f} {inter:>11} {mode:>6} {best:11.3f} {int(r['n_nodes']):4d} {int(r['n_nodes_main']):6d}  "
                  f"{r['gap'][0]:9.5f} {r['Tc'][0]:10.3e} {r['Tc'][2]:10.3e} {r['mu'][0]:10.6f} {diff:15.1e}")

    coup = get_kernel("spinor_bec_couplings")
    n = 50
    params = {p.name: np.full(n, float(p.default)) for p in coup.parameters}
    params["delta_g"] = np.geomspace(1e-5, 0.19, n)
    t = time.perf_counter()
    coup.solve_block(params)
    print(f"\nspinor_bec_couplings: {(time.perf_counter() - t) / n * 1e3:.2f} ms/point (block of {n}, δg̃ 1e-5…0.19)")


if __name__ == "__main__":
    main()
