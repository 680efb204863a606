"""Does averaging the bridge over more time origins shrink the bridge mass's error?

The bridge estimator (``_qmc_chain.bridge``) averages Q(s) = |R(τ+s) − R(τ) − (s/β)Δ|² over
``BRIDGE_SLICES`` equally spaced origins τ. This runs ONE pair chain of ``bipolaron_qmc`` at a
fixed β and a fixed number of sweeps, exactly as ``qmc.run_chain`` does (same warm-up, leash,
sweep length and random stream: the bridge draws no random numbers), and after every sweep
evaluates the bridge on the same configuration with 16, 64 and 256 origins. The comparison is
therefore paired: equal work, identical configurations, only the number of origins differs
(and, where the kernel's low lag is not a whole number of sixteenths of β, the 16-origin
row's lag, rounded down to one).
It prints, per setting, the jackknifed bridge mass, the mean of D = Q(β/2) − Q(s) with its
binning error, τ_int and per-sweep variance, and the microseconds one bridge evaluation costs
next to the sweep's. Results: bench/results/bipolaron_qmc_bridge_slices.txt.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/bipolaron_qmc_bridge_slices.py \
        --t-over-omega 2 --lam 0.9 --beta 20 --sweeps 60000 --seed 1
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

SLICES = (16, 64, 256)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="bond_peierls")
    ap.add_argument("--t-over-omega", type=float, default=2.0)
    ap.add_argument("--lam", type=float, default=0.9)
    ap.add_argument("--U", type=float, default=8.0)
    ap.add_argument("--d", type=int, default=2)
    ap.add_argument("--beta", type=float, default=20.0, help="β t of the pair chain")
    ap.add_argument("--sweeps", type=int, default=40000, help="measured sweeps (fixed)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--save", default="", help="also save the per-sweep series (.npz)")
    args = ap.parse_args()

    omega, c, _ = coupling_outputs(args.model, args.lam, args.t_over_omega, args.d, "lambda", 0.1)
    p = qmc.make_params(args.model, args.d, 2, args.beta, omega, c, args.U, 0.0)
    print(f"# kernel BRIDGE_SLICES = {wl.BRIDGE_SLICES}; {args.model} d={args.d} U={args.U} "
          f"t/Ω={args.t_over_omega} λ={args.lam} β={args.beta} seed={args.seed} "
          f"sweeps={args.sweeps}", flush=True)

    # the kernel's own warm-up (same random stream as qmc.run_chain for the same seed)
    walker, moves, stats = qmc.warm_up(p, args.seed)
    p = walker.p
    n_meas = len(wl.MEASURED)

    n = args.sweeps
    out = np.zeros((n, n_meas))
    q = np.zeros((len(SLICES), n, 2))
    sweep_s = 0.0
    bridge_s = np.zeros(len(SLICES))
    for i in range(n):
        t0 = time.perf_counter()
        walker.sweeps(1, moves, out[i:i + 1], stats)
        sweep_s += time.perf_counter() - t0
        cfg = walker.cfg
        for k, s in enumerate(SLICES):
            t0 = time.perf_counter()
            q[k, i] = wl.bridge(p, cfg, cfg.delta, s)
            if i > 0:  # the first call loads the compiled code
                bridge_s[k] += time.perf_counter() - t0
        # the kernel's own column must be its bridge of the same configuration
        own = SLICES.index(wl.BRIDGE_SLICES)
        if q[own, i, 0] != out[i, wl.M_BRIDGE_HALF] or q[own, i, 1] != out[i, wl.M_BRIDGE_LOW]:
            raise AssertionError(f"sweep {i}: the kernel's bridge differs from its column")

    acc = stats[:, 1] / np.maximum(stats[:, 0], 1)
    print(f"# moves/sweep {moves}, sweep {1e3 * sweep_s / n:.3f} ms "
          f"({moves * n / sweep_s / 1e3:.0f}k updates/s without the extra bridges), "
          f"acc_Δ {acc[wl.UPDATES.index('delta')]:.2g}, kinks {out[:, wl.M_KINKS].mean():.0f}, "
          f"Δ_x² {np.mean(out[:, wl.M_DX] ** 2):.2f}", flush=True)
    print(f"{'slices':>6} {'m* bridge':>14} {'rel err':>8} {'D=Qh-Qs':>16} {'τ_int(D)':>9} "
          f"{'var(D)':>7} {'µs/bridge*':>10} {'% of sweep':>10}")
    masses = []
    # the lag in whole slices of each setting (the kernel's, rounded down where it is finer)
    lags = [p.bridge_lag * s // wl.BRIDGE_SLICES * p.beta / s for s in SLICES]
    factors = [p.d * (0.5 * p.beta - lag) ** 2 / p.beta for lag in lags]
    for k, s in enumerate(SLICES):
        factor = factors[k]
        m = jackknife([q[k, :, 0], q[k, :, 1]],
                      lambda qh, qq: factor / (qh - qq) if qh > qq else math.inf)
        d = binning(q[k, :, 0] - q[k, :, 1])
        var = float(np.var(q[k, :, 0] - q[k, :, 1]))
        masses.append(m)
        us = 1e6 * bridge_s[k] / (n - 1)
        print(f"{s:>6} {m.mean:>8.2f}±{m.err:<5.2f} {m.err / m.mean:>8.3f} "
              f"{d.mean:>8.4f}±{d.err:<7.4f} {d.tau:>9.1f} {var:>7.4f} {us:>10.2f} "
              f"{100 * bridge_s[k] / sweep_s:>9.2f}%", flush=True)
    print("# * one call from Python, dispatch overhead (~10 µs) included; inside the kernel the\n"
          "#   bridge runs without it, so the difference between the rows is its real cost")
    # paired difference of the masses (same configurations): is the mean the same?
    for k in range(1, len(SLICES)):
        fk, f0 = factors[k], factors[0]
        diff = jackknife([q[k, :, 0], q[k, :, 1], q[0, :, 0], q[0, :, 1]],
                         lambda a, b, c_, d_: fk / (a - b) - f0 / (c_ - d_))
        print(f"# m*({SLICES[k]}) − m*(16) = {diff.mean:+.3f} ± {diff.err:.3f} (paired); "
              f"error ratio 16/{SLICES[k]} = {masses[0].err / masses[k].err:.2f}", flush=True)
    if args.save:
        np.savez_compressed(args.save, q=q, out=out, slices=np.array(SLICES))


if __name__ == "__main__":
    main()
