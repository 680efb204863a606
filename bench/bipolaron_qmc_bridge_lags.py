"""Which low lag s should the bridge mass use? Q(β/2) − Q(s) for s from β/32 to β/4.

The bridge estimator (``_qmc_chain.bridge``) takes M = d (β/2 − s)²/(β[Q(β/2) − Q(s)])
from Q(s) = ⟨|R(τ+s) − R(τ) − (s/β)Δ|²⟩ of the centre of mass R. A short lag s gives a larger
difference (the signal) but is biased low while the pair's internal fluctuation has not
saturated at s. This runs ONE pair chain of ``bipolaron_qmc`` at a fixed β and a fixed number
of sweeps, exactly as ``qmc.run_chain`` does (warm-up with leash, sweep length, random
stream), records the centre of mass at 64 equally spaced times after every sweep, and prints
per lag s the jackknifed bridge mass, its relative error and τ_int, next to the twist mass
β d/⟨|Δ|²⟩ of the same chain. Rows agree (within errors) from the lag at which the internal
part has saturated; the first such lag, in units of 1/Ω, sets ``qmc.BRIDGE_SATURATION``.
Results: bench/results/bipolaron_qmc_bridge_lags.txt.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/bipolaron_qmc_bridge_lags.py \
        --t-over-omega 2 --lam 1.1 --beta 20 --sweeps 12000 --seed 1
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pairsweep.kernels.bipolaron import _qmc_chain as wl  # noqa: E402
from pairsweep.kernels.bipolaron import qmc  # noqa: E402
from pairsweep.kernels.bipolaron._qmc_stats import binning, jackknife  # noqa: E402
from pairsweep.kernels.bipolaron.conventions import coupling_outputs  # noqa: E402

ORIGINS = 64
LAGS = (2, 4, 6, 8, 12, 16)  # in slices of β/64: β/32 … β/4


def q_of_lag(com: np.ndarray, delta: np.ndarray, lag: int) -> np.ndarray:
    """Per sweep, Q at ``lag`` slices averaged over the origins (com: sweeps × origins × 3)."""
    n = com.shape[1]
    ahead = np.arange(n) + lag
    wrap = (ahead >= n).astype(float)
    ahead %= n
    dev = (com[:, ahead, :] + wrap[None, :, None] * delta[:, None, :] - com
           - delta[:, None, :] * (lag / n))
    return (dev ** 2).sum(axis=2).mean(axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="bond_peierls")
    ap.add_argument("--t-over-omega", type=float, default=2.0)
    ap.add_argument("--lam", type=float, default=1.1)
    ap.add_argument("--U", type=float, default=8.0)
    ap.add_argument("--d", type=int, default=2)
    ap.add_argument("--beta", type=float, default=20.0, help="β t of the pair chain")
    ap.add_argument("--sweeps", type=int, default=12000, help="measured sweeps (fixed)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    omega, c, _ = coupling_outputs(args.model, args.lam, args.t_over_omega, args.d, "lambda", 0.1)
    p = qmc.make_params(args.model, args.d, 2, args.beta, omega, c, args.U, 0.0)
    print(f"# {args.model} d={args.d} U={args.U} t/Ω={args.t_over_omega} λ={args.lam} "
          f"β={args.beta} seed={args.seed} sweeps={args.sweeps}; kernel's low lag "
          f"{qmc.bridge_low_lag(p):.3g}/t = {qmc.bridge_low_lag(p) * omega:.3g}/Ω", flush=True)

    # the kernel's own warm-up (same random stream as qmc.run_chain for the same seed)
    walker, moves, stats = qmc.warm_up(p, args.seed)
    p = walker.p
    n_meas = len(wl.MEASURED)

    n = args.sweeps
    out = np.zeros((n, n_meas))
    com = np.zeros((n, ORIGINS, 3))
    delta = np.zeros((n, 3))
    started = time.perf_counter()
    for i in range(n):
        walker.sweeps(1, moves, out[i:i + 1], stats)
        cfg = walker.cfg
        if p.summed:
            for e in range(2):
                k = cfg.count[e]
                wl.add_to_centre(com[i], cfg.start[e], cfg.tk[e, :k], cfg.code[e, :k], p.beta, 2)
        else:
            for e in range(2):
                slots = cfg.order[e, :cfg.count[e]]
                wl.add_to_centre(com[i], cfg.start[e], cfg.tk[slots], cfg.code[slots], p.beta, 2)
        delta[i] = cfg.delta
    wall = time.perf_counter() - started
    acc = stats[:, 1] / np.maximum(stats[:, 0], 1)
    print(f"# moves/sweep {moves}, {wall:.0f} s, "
          f"acc_Δ {acc[wl.UPDATES.index('delta')]:.2g}, kinks {out[:, wl.M_KINKS].mean():.0f}",
          flush=True)

    q_half = q_of_lag(com, delta, ORIGINS // 2)
    print(f"{'s [1/t]':>8} {'s Ω':>6} {'m* bridge':>14} {'rel err':>8} {'τ_int':>6}")
    for lag in LAGS:
        s = lag * p.beta / ORIGINS
        q_low = q_of_lag(com, delta, lag)
        factor = p.d * (0.5 * p.beta - s) ** 2 / p.beta
        m = jackknife([q_half, q_low], lambda qh, ql: factor / (qh - ql) if qh > ql else math.inf)
        tau = binning(q_half - q_low).tau
        print(f"{s:>8.3f} {s * omega:>6.2f} {m.mean:>8.2f}±{m.err:<5.2f} {m.err / m.mean:>8.3f} "
              f"{tau:>6.1f}", flush=True)
    d2 = binning(out[:, wl.M_DELTA2])
    twist = jackknife([out[:, wl.M_DELTA2]], lambda x: p.beta * p.d / x if x > 0 else math.inf)
    print(f"# twist: m* {twist.mean:.2f}±{twist.err:.2f} (rel {twist.err / twist.mean:.3f}, "
          f"τ_int(Δ²) {d2.tau:.1f})")


if __name__ == "__main__":
    main()
