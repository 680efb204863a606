"""Binning curves of one ``bipolaron_qmc`` pair chain: does the error reach a plateau?

For each measured column, the naive standard error of the block means at block lengths
1, 2, 4, … sweeps (while at least 32 blocks are left, as ``_qmc_stats.binning``), divided
by the error at block length 1: the ratio² / 2 is τ_int. A plateau means the error bar is
read off where the blocks are longer than the autocorrelation time; a curve still rising
at the last level means the quoted error (the largest along the curve) is too small.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/bipolaron_qmc_binning_curve.py \
        --beta 10 --sweeps 64000 --U 0 --lam 0.8

One core, one chain.
"""

from __future__ import annotations

import argparse
import math

from pairsweep.kernels.bipolaron._qmc_stats import MIN_BLOCKS
from pairsweep.kernels.bipolaron.qmc import make_params, run_chain

COLUMNS = ("energy", "delta2", "r2", "bridge_half", "bridge_low")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--beta", type=float, default=10.0)
    ap.add_argument("--sweeps", type=int, default=64000)
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--U", type=float, default=0.0)
    ap.add_argument("--lam", type=float, default=0.8, help="λ = α²/(2Ωt), Ω = 2t")
    args = ap.parse_args()
    p = make_params("bond_peierls", 1, 2, args.beta, 2.0, math.sqrt(4.0 * args.lam), args.U)
    res = run_chain(p, args.seed, args.sweeps)
    print(f"1-D bond-Peierls pair, λ = {args.lam}, t/Ω = 0.5, U = {args.U}t, β = {args.beta}/t, "
          f"seed {args.seed}, {res.sweeps} sweeps: error(block)/error(1) per block length")
    print("block  " + "  ".join(f"{c:>14s}" for c in COLUMNS))
    curves = []
    for c in COLUMNS:
        x = res.column(c).astype(float)
        row = []
        while len(x) >= MIN_BLOCKS:
            row.append(x.std(ddof=1) / math.sqrt(len(x)))
            x = 0.5 * (x[: len(x) // 2 * 2: 2] + x[1: len(x) // 2 * 2: 2])
        curves.append([r / row[0] for r in row])
    for level in range(min(len(cv) for cv in curves)):
        print(f"{2 ** level:5d}  " + "  ".join(f"{cv[level]:14.2f}" for cv in curves))


if __name__ == "__main__":
    main()
