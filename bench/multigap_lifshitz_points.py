"""Per-point cost of the ``multigap_lifshitz`` kernel, and where the dome peaks.

    OPENBLAS_NUM_THREADS=1 python bench/multigap_lifshitz_points.py          # timings
    OPENBLAS_NUM_THREADS=1 python bench/multigap_lifshitz_points.py --dome   # + dome maxima

Timings (wall, one process; the machines are shared, so quote them as measured):
- band structure of one geometry (V_b calibration + edges + z basis), first call; later
  calls hit the per-geometry cache;
- T_c only (``tc_kelvin``), and the full point (T_c, isotope coefficient from two more
  T_c's, T = 0 gaps with the density equation) for a range of η in both cases;
- a 32-point block through ``solve_block``.
With ``--dome``: the maximum of T_c over (η, g) on a 0.01 × 0.01 grid around the top of the
dome, for cases A and B (seed: 250 K and 330 K at (η, g) ≈ (1, 0.4)).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pairsweep.kernels.multigap_lifshitz import gap as lifshitz_gap
from pairsweep.kernels.multigap_lifshitz.bands import calibrated_bands
from pairsweep.kernels.multigap_lifshitz import multigap_lifshitz_kernel as KERNEL
from pairsweep.kernels.multigap_lifshitz import solve_block, solve_point, tc_kelvin

ETAS = (-0.5, 0.0, 0.5, 0.95, 1.5)


def _clock(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, out


def timings() -> None:
    print("band structure (first call, then cached):")
    for case, dE in (("A", 0.274), ("B", 0.145)):
        calibrated_bands.cache_clear()
        t1, bands = _clock(calibrated_bands, 0.85, 0.55, 1.0, dE, 3)
        t2, _ = _clock(calibrated_bands, 0.85, 0.55, 1.0, dE, 3)
        print(f"  case {case}: {t1 * 1e3:7.1f} ms, cached {t2 * 1e6:5.1f} µs  (V_b = {bands.geo.V_b * 1e3:.3f} meV, "
              f"z basis rank {bands.z_basis.shape[1]})")
    print()
    print(f"{'case':>4} {'eta':>6} {'g':>5} {'Tc [K]':>11} {'Tc only [s]':>12} {'full [s]':>9} {'k_z nodes':>9} "
          f"{'T_c evals':>9} {'T=0 sweeps':>10}")
    full_times = []
    for case in ("A", "B"):
        for eta in ETAS:
            t_tc, _ = _clock(tc_kelvin, eta=eta, g=0.4, case=case)
            t_full, r = _clock(solve_point, eta=eta, g=0.4, case=case)
            full_times.append(t_full)
            print(f"{case:>4} {eta:6.2f} {0.4:5.2f} {r['Tc_K']:11.5g} {t_tc:12.3f} {t_full:9.3f} {r['n_kz']:9d} "
                  f"{r['tc_evaluations']:9d} {r['gap_iterations']:10d}")
    print(f"  full point: median {np.median(full_times):.3f} s, max {np.max(full_times):.3f} s")
    print()
    n = 32
    params = {p.name: np.full(n, p.default) if not isinstance(p.default, str) else np.array([p.default] * n)
              for p in KERNEL.parameters}
    params["eta"] = np.linspace(-1.0, 2.0, n)
    lifshitz_gap._PANEL_CACHE.clear()
    t_block, out = _clock(solve_block, params)
    print(f"solve_block, {n} points (case A, g = 0.4, η from -1 to 2): {t_block:.2f} s = "
          f"{t_block / n:.3f} s/point, {int(np.sum(out['status'] == 0))} ok")


def dome() -> None:
    print("dome maximum on a 0.01 x 0.01 (eta, g) grid, T_c only:")
    for case in ("A", "B"):
        etas = np.round(np.arange(0.85, 1.0501, 0.01), 4)
        gs = np.round(np.arange(0.36, 0.4601, 0.01), 4)
        tc = np.array([[tc_kelvin(eta=float(e), g=float(g), case=case) for g in gs] for e in etas])
        i, j = np.unravel_index(np.argmax(tc), tc.shape)
        at_04 = tc[:, int(np.argmin(np.abs(gs - 0.4)))]
        k = int(np.argmax(at_04))
        print(f"  case {case}: T_c,max = {tc[i, j]:.1f} K at eta = {etas[i]:.2f}, g = {gs[j]:.2f}; "
              f"at g = 0.40: {at_04[k]:.1f} K at eta = {etas[k]:.2f}  (seed: {250 if case == 'A' else 330} K)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dome", action="store_true", help="also locate the dome maximum (about a minute)")
    args = parser.parse_args()
    timings()
    if args.dome:
        print()
        dome()


if __name__ == "__main__":
    main()
