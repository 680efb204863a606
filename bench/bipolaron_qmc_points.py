"""Reach of the path-integral Monte Carlo bipolaron kernel where the seed's dome lives.

2-D, U = 8t: bond-Peierls at t/Ω = 1 and 2 (λ from 0.3 to 1.5 in steps of 0.2), Holstein at
t/Ω = 2 (λ = 0.3, 0.7, 1.1, 1.5). Each
point runs ``bipolaron_qmc`` with the target relative error 3 % on m* and R² and a wall-clock
cap per point (one core each, ``--jobs`` points at a time); the table gives per point what it
reached (m*, and separately its bridge and twist estimates), the updates per second, τ_int, the
twist update's acceptance and the core-minutes to
3 %: measured when the target was reached, else extrapolated as seconds × (worst relative
error / 3 %)² (marked ≈; errors fall as 1/√time once the binning has plateaued).

    OPENBLAS_NUM_THREADS=1 python bench/bipolaron_qmc_points.py --seconds 420 --jobs 2 \
        --out bench/results/bipolaron_qmc_2d_U8.txt
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pairsweep.kernels.bipolaron.qmc import solve_point  # noqa: E402

LAMBDAS = (0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 1.5)
CASES = ([("bond_peierls", 1.0, lam) for lam in LAMBDAS]
         + [("bond_peierls", 2.0, lam) for lam in LAMBDAS]
         + [("holstein", 2.0, lam) for lam in LAMBDAS[::2]])


def run(case: tuple[str, float, float], seconds: float, seed: int) -> tuple:
    model, t_over_omega, lam = case
    started = time.perf_counter()
    out = solve_point(model=model, lam=lam, t_over_omega=t_over_omega, U_over_t=8.0, d=2,
                      rel_error=0.03, max_seconds=seconds, seed=seed)
    return case, out, time.perf_counter() - started


def fmt(x: float, e: float, digits: int = 3) -> str:
    if not math.isfinite(x):
        return "nan"
    return f"{x:.{digits}f}±{e:.{digits}f}"


def row(case: tuple, out: dict, wall: float) -> str:
    model, t_over_omega, lam = case
    rel = max(out["mass_bp_err"] / out["mass_bp"], out["r2_bp_err"] / out["r2_bp"]) \
        if out["bound"] else math.nan
    reached = out["status"] == 0
    if reached:
        to_target = f"{out['diagnostics']['seconds'] / 60:.1f}"
    elif math.isfinite(rel):
        to_target = f"≈{out['diagnostics']['seconds'] * (rel / 0.03) ** 2 / 60:.0f}"
    else:
        to_target = "-"
    status = {0: "ok", 1: "not conv.", 2: "failed"}[int(out["status"])]
    return (f"{model[:4]:<5}{t_over_omega:>4.1f}{lam:>5.1f}  {status:<10}{out['beta_pair']:>6.1f} "
            f"{fmt(out['delta_bp'], out['delta_bp_err']):>14} {fmt(out['mass_bp'], out['mass_bp_err'], 2):>12} "
            f"{fmt(out['mass_bp_bridge'], out['mass_bp_bridge_err'], 2):>12} "
            f"{fmt(*twist_mass(out), 2):>12} "
            f"{fmt(out['r2_bp'], out['r2_bp_err'], 2):>12} {fmt(out['tc_over_omega'], out['tc_over_omega_err'], 4):>16} "
            f"{out['nph_bp']:>6.2f} {out['diagnostics']['updates_per_second'] / 1e3:>7.0f}k {out['tau_int']:>6.0f} "
            f"{out['acceptance_delta']:>6.3f} {wall / 60:>6.1f} {to_target:>8}"
            + (f"  [{out.get('message', '')}]" if out.get("message") else ""))


def twist_mass(out: dict) -> tuple[float, float]:
    """The twist mass β d/⟨|Δ|²⟩ of the pair chain, also where ``mass_bp`` is the bridge's."""
    diag = out.get("diagnostics", {})
    if not out["bound"] or "mass_twist" not in diag:
        return math.nan, math.nan
    return diag["mass_twist"], diag["mass_twist_err"]


HEADER = (f"{'model':<5}{'t/Ω':>4}{'λ':>5}  {'status':<10}{'β t':>6} {'Δ_BP [t]':>14} {'m*/2m_e':>12} "
          f"{'m* bridge':>12} {'m* twist':>12} {'R² [a²]':>12} {'T_c/Ω':>16} {'N_ph':>6} {'upd/s':>8} {'τ_int':>6} {'acc_Δ':>6} "
          f"{'min':>6} {'core-min to 3%':>8}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=420.0, help="wall-clock cap per point")
    ap.add_argument("--jobs", type=int, default=2, help="points run at once (one core each)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", default="", help="comma list of model:t_over_omega:lam")
    ap.add_argument("--out", default="", help="also write the table here")
    args = ap.parse_args()
    cases = CASES
    if args.only:
        cases = [(m, float(t), float(lam)) for m, t, lam in
                 (item.split(":") for item in args.only.split(","))]
    lines = [f"# bench/bipolaron_qmc_points.py --seconds {args.seconds:g} --jobs {args.jobs} "
             f"--seed {args.seed}  ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)",
             "# 2-D, U = 8t; errors are one standard error; T_c from seed Eq. 8 with C = 0.5",
             HEADER]
    print("\n".join(lines), flush=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run, case, args.seconds, args.seed) for case in cases]
        for fut in futures:
            line = row(*fut.result())
            lines.append(line)
            print(line, flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
