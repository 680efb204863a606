"""What a sweep of ``bipolaron_qmc``'s line chain spends its time on: µs per call of each update.

Warms up one pair chain exactly as ``qmc.run_chain`` does (``qmc.warm_up``: leash, sweep
length, the repair decision), then calls each update of ``_qmc_chain`` on the warmed-up
configuration many times in a row (the chain keeps moving, so the figures average over the
configurations it visits) and prints µs per call and the acceptance, and the share of a
sweep's time each update takes under ``run_sweeps``' mix (30 % hop pairs, 30 % lines, 20 %
kink shifts, 20 % twists, and one ``walk`` + ``bridge`` measurement per sweep). Both twist
updates are timed; the sweep share counts the one the chain measures with.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/bipolaron_qmc_update_costs.py \
        --t-over-omega 2 --lam 1.1 --beta 20
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from numba import njit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pairsweep.kernels.bipolaron import _qmc_chain as wl  # noqa: E402
from pairsweep.kernels.bipolaron import qmc  # noqa: E402
from pairsweep.kernels.bipolaron.conventions import coupling_outputs  # noqa: E402

UPDATES = ("hop_pair", "bond_line", "shift", "twist_repair", "plain_twist", "walk+bridge")
SHARE = {"hop_pair": 0.3, "bond_line": 0.3, "shift": 0.2}


@njit
def _drive(p, c, sc, which, n):
    accepted = 0
    for _ in range(n):
        if which == 0:
            ok = wl._hop_pair(p, c, sc)
        elif which == 1:
            ok = wl._bond_line(p, c, sc)
        elif which == 2:
            ok = wl._shift(p, c, sc)
        elif which == 3:
            ok = wl._twist_repair(p, c, sc)
        elif which == 4:
            ok = wl._delta_move(p, c, sc)
        else:
            res = wl.walk(p, c, sc.pos, sc.lline)
            c.lw[0] = res[1]
            wl.bridge(p, c, res[2], wl.BRIDGE_SLICES)
            ok = True
        accepted += ok
    return accepted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--t-over-omega", type=float, default=2.0)
    ap.add_argument("--lam", type=float, default=1.1)
    ap.add_argument("--U", type=float, default=8.0)
    ap.add_argument("--d", type=int, default=2)
    ap.add_argument("--beta", type=float, default=20.0, help="β t of the pair chain")
    ap.add_argument("--calls", type=int, default=20000, help="calls per update")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    omega, c, _ = coupling_outputs("bond_peierls", args.lam, args.t_over_omega, args.d,
                                   "lambda", 0.1)
    p = qmc.make_params("bond_peierls", args.d, 2, args.beta, omega, c, args.U)
    walker, moves, _ = qmc.warm_up(p, args.seed)
    p, cfg, sc = walker.p, walker.cfg, walker.scratch
    print(f"# bond_peierls d={args.d} U={args.U} t/Ω={args.t_over_omega} λ={args.lam} "
          f"β={args.beta}: {moves} updates a sweep, {cfg.count[0] + cfg.count[1]} kinks, "
          f"{cfg.nlines[0]} lines; the chain measures with the "
          f"{'repairing' if p.twist_repair else 'plain'} twist")
    cost = {}
    for which, name in enumerate(UPDATES):
        calls = args.calls if name != "walk+bridge" else max(args.calls // 40, 10)
        _drive(p, cfg, sc, which, 10)  # compile
        started = time.perf_counter()
        accepted = _drive(p, cfg, sc, which, calls)
        cost[name] = (time.perf_counter() - started) / calls * 1e6
        # the twists' local ln W is exact; start the next update from the full value anyway
        cfg.lw[0] = wl.walk(p, cfg, sc.pos, sc.lline)[1]
        print(f"{name:>13} {cost[name]:8.2f} µs/call  acceptance {accepted / calls:.4f}")
    twist = "twist_repair" if p.twist_repair else "plain_twist"
    shares = {name: SHARE[name] * moves * cost[name] for name in SHARE}
    shares[twist] = 0.2 * moves * cost[twist]
    shares["walk+bridge"] = cost["walk+bridge"]
    total = sum(shares.values())
    print(f"# a sweep ≈ {total / 1e3:.1f} ms: " + ", ".join(
        f"{name} {share / total:.0%}" for name, share in shares.items()))
    print(f"# ({np.round(1e6 / total, 1)} sweeps/s on this core)")


if __name__ == "__main__":
    main()
