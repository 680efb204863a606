"""The two Holstein chains of ``bipolaron_qmc`` on the same points: lines sampled
(``_qmc_chain``) or summed into an action (``_qmc_action``).

Per chain: seconds, updates per second, E with its error and the means of the two halves
of the run (a drift between them = not equilibrated), τ_int, R², N_ph, the twist's
acceptance, and err(E)² × seconds (smaller = more efficient). Both chains are exact, so
where both have equilibrated they must agree; ``SUMMED_FROM_LAMBDA`` in ``qmc.py`` is set
from this table.

    OPENBLAS_NUM_THREADS=1 python bench/bipolaron_qmc_summed.py --lam 0.7 0.9 1.1 1.5
"""

from __future__ import annotations

import argparse
import time

from pairsweep.kernels.bipolaron._qmc_stats import binning
from pairsweep.kernels.bipolaron.conventions import coupling_outputs
from pairsweep.kernels.bipolaron.qmc import make_params, run_chain


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lam", type=float, nargs="+", default=[0.7, 0.9, 1.1, 1.5])
    ap.add_argument("--t-over-omega", type=float, default=2.0)
    ap.add_argument("--d", type=int, default=2)
    ap.add_argument("--U", type=float, default=8.0)
    ap.add_argument("--beta", type=float, default=20.0)
    ap.add_argument("--sweeps", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    print(f"# Holstein pair, d = {args.d}, U = {args.U}t, t/Ω = {args.t_over_omega}, "
          f"β = {args.beta}/t, {args.sweeps} sweeps after 1000 of warm-up, seed {args.seed}")
    print(f"{'λ':>4} {'chain':>6} {'s':>6} {'upd/s':>8} {'E [t]':>16} {'E halves':>16} "
          f"{'τ_int':>5} {'R² [a²]':>16} {'N_ph':>6} {'acc_Δ':>7} {'err²·s':>8}")
    for lam in args.lam:
        omega, g, _ = coupling_outputs("holstein", lam, args.t_over_omega, args.d, "lambda", 0.1)
        for summed in (True, False):
            p = make_params("holstein", args.d, 2, args.beta, omega, g, U=args.U, summed=summed)
            started = time.perf_counter()
            res = run_chain(p, args.seed, args.sweeps, warmup=1000)
            seconds = time.perf_counter() - started
            e = binning(res.column("energy"))
            half = res.sweeps // 2
            first, second = (binning(x).mean for x in (res.column("energy")[:half],
                                                         res.column("energy")[half:]))
            r2 = binning(res.column("r2"))
            nph = binning(res.column("phonons")).mean
            rate = res.moves_per_sweep * (res.sweeps + 1000) / seconds
            print(f"{lam:4.1f} {'summed' if summed else 'lines':>6} {seconds:6.1f} {rate:8.3g} "
                  f"{e.mean:9.3f}±{e.err:.3f} {first:8.3f} {second:7.3f} {e.tau:5.1f} "
                  f"{r2.mean:9.3f}±{r2.err:.3f} {nph:6.2f} {res.acceptance[3]:7.4f} "
                  f"{e.err ** 2 * seconds:8.2e}", flush=True)


if __name__ == "__main__":
    main()
