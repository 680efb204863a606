"""β against 2β for 1-D bond-Peierls pairs at t/Ω = 0.5 (issue 13, item 6).

Default point: λ = 0.5, U = 8t (t = 1, Ω = 2), the former xfail test's, which turns out to
be barely bound; ``--lam 0.8 --U 0`` is the strongly bound point the test now uses. For every
β and seed, one pair chain and one polaron chain of ``--sweeps`` measured sweeps (after the
kernel's warm-up); per row the pair's m* (twist and bridge), R², E_BP, the polaron's E_P,
Δ_BP = 2E_P − E_BP (independent chains: errors in quadrature) and β·Δ_BP, each with the
chain's own error (binning plateau / jackknife), τ_int (sweeps) of E, ⟨Δ²⟩, R² and the twist
acceptance, and R² over the first and second half of the chain (a pair that comes apart).
Under each β, the spread of the seeds' means is compared with their quoted errors:
χ²/dof = Σ (x_i − x̄)²/σ_i² / (n − 1) is ≈ 1 when the errors are honest; last,
the seeds' means (error: the larger of spread and quoted, as ``merge_chains``) at β and 2β.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/bipolaron_qmc_beta_doubling.py \
        --betas 15 30 --seeds 19 20 21 22 --sweeps 8000
    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/bipolaron_qmc_beta_doubling.py \
        --betas 5 10 --seeds 19 20 21 22 23 24 25 26 --sweeps 16000 --U 0 --lam 0.8

One core, one chain at a time.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from pairsweep.kernels.bipolaron._qmc_stats import Estimate, binning
from pairsweep.kernels.bipolaron.qmc import make_params, run_chain

POINT = dict(model="bond_peierls", d=1, omega=2.0, coupling=math.sqrt(2.0))


def fmt(e) -> str:
    return f"{e.mean:9.4f} ± {e.err:6.4f}"


def chi2(values: list) -> float:
    m = np.array([v.mean for v in values])
    s = np.array([v.err for v in values])
    w = 1.0 / s**2
    mean = (w * m).sum() / w.sum()
    return float((w * (m - mean) ** 2).sum() / max(len(m) - 1, 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--betas", type=float, nargs="+", default=[15.0, 30.0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[19, 20, 21, 22])
    ap.add_argument("--sweeps", type=int, default=8000)
    ap.add_argument("--U", type=float, default=8.0)
    ap.add_argument("--lam", type=float, default=0.5, help="λ = α²/(2Ωt), Ω = 2t")
    args = ap.parse_args()
    point = dict(POINT, U=args.U, coupling=math.sqrt(2.0 * POINT["omega"] * args.lam))
    print(f"1-D bond-Peierls, λ = {args.lam}, t/Ω = 0.5, U = {args.U}t; {args.sweeps} sweeps "
          f"per chain")
    print("  β  seed    m*(twist)          m*(bridge)          R²                  E_BP"
          "                E_P                 Δ_BP                βΔ_BP  τ_E  τ_Δ²  τ_R²  "
          "acc_Δ  R²(1st/2nd half)  s")
    summary = {}
    for beta in args.betas:
        rows = []
        for seed in args.seeds:
            t0 = time.perf_counter()
            pair = run_chain(make_params(n_electrons=2, beta=beta, **point), seed, args.sweeps)
            pol = run_chain(make_params(n_electrons=1, beta=beta, **point), seed + 1000,
                            args.sweeps)
            m, mb = pair.mass(), pair.bridge_mass()
            r2, e, ep = (binning(pair.column("r2")), binning(pair.column("energy")),
                         binning(pol.column("energy")))
            gap = Estimate(2 * ep.mean - e.mean, math.hypot(2 * ep.err, e.err))
            half = len(pair.column("r2")) // 2
            r2h = pair.column("r2")[:half].mean(), pair.column("r2")[half:].mean()
            taus = [binning(pair.column(c)).tau for c in ("energy", "delta2", "r2")]
            acc = pair.acceptance[3]
            rows.append((m, mb, r2, e, ep, gap))
            print(f"{beta:4.0f} {seed:4d} {fmt(m)} {fmt(mb)} {fmt(r2)} {fmt(e)} {fmt(ep)} "
                  f"{fmt(gap)} {beta * gap.mean:6.2f} {taus[0]:5.1f} {taus[1]:5.1f} "
                  f"{taus[2]:5.1f} {acc:5.3f}  {r2h[0]:7.2f}/{r2h[1]:7.2f}  "
                  f"{time.perf_counter() - t0:5.0f}", flush=True)
        if len(rows) > 1:
            names = ("m*", "m*bridge", "R²", "E_BP", "E_P", "Δ_BP")
            cols = list(zip(*rows))
            print(f"  β = {beta:g}: χ²/dof of the seeds' means against their own errors "
                  f"(dof {len(rows) - 1}): " + ", ".join(
                      f"{nm} {chi2(list(c)):.2f}" for nm, c in zip(names, cols)))
            for nm, c in zip(names, cols):
                means = np.array([v.mean for v in c])
                # the merge of the kernel: the larger of the propagated error and the spread
                err = max(means.std(ddof=1), math.sqrt(np.mean([v.err**2 for v in c])))
                summary.setdefault(nm, []).append((beta, means.mean(), err / math.sqrt(len(c))))
                print(f"    {nm:9s} mean of seeds {means.mean():9.4f}, spread/√n "
                      f"{means.std(ddof=1) / math.sqrt(len(means)):7.4f}, rms quoted err/√n "
                      f"{math.sqrt(np.mean([v.err**2 for v in c]) / len(c)):7.4f}")
    for nm, per_beta in summary.items():
        for (b1, m1, e1), (b2, m2, e2) in zip(per_beta, per_beta[1:]):
            print(f"  {nm:9s} β = {b1:g}: {m1:9.4f} ± {e1:6.4f}   β = {b2:g}: {m2:9.4f} ± "
                  f"{e2:6.4f}   difference {abs(m1 - m2) / math.hypot(e1, e2):4.1f}σ")


if __name__ == "__main__":
    main()
