"""The bond-Peierls twist update with and without dissolving and re-pairing broken lines.

Runs one pair chain of ``bipolaron_qmc`` (``qmc.run_chain``: the kernel's warm-up, leash and
sweep length) at a fixed β with the twist update of kernel 0.2 (``_delta_move``: any broken
phonon line rejects the move) and with the repairing update of 0.3 (``_twist_repair``), on
the same seeds, and prints per chain: the Δ update's acceptance, the twist mass
β d/⟨|Δ|²⟩ and the bridge mass (jackknifed), R², E, ⟨N_ph⟩, τ_int of ⟨Δ²⟩ and of the bridge
(sweeps), and sweeps per second (measured within this run, so the ratio is what counts on a
loaded machine).

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/bipolaron_qmc_twist_repair.py \
        --d 1 --t-over-omega 2 --lam 1.3 --beta 10 --sweeps 20000
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pairsweep.kernels.bipolaron import _qmc_chain as wl  # noqa: E402
from pairsweep.kernels.bipolaron import qmc  # noqa: E402
from pairsweep.kernels.bipolaron._qmc_stats import binning  # noqa: E402
from pairsweep.kernels.bipolaron.conventions import coupling_outputs  # noqa: E402


def describe(res: qmc.ChainResult) -> str:
    acc = res.acceptance[wl.UPDATES.index("delta")]
    m, b = res.mass(), res.bridge_mass()
    r2, e, nph = (binning(res.column(n)) for n in ("r2", "energy", "phonons"))
    tau_d, tau_b = binning(res.column("delta2")).tau, binning(res.column("bridge_half")).tau
    return (f"acc_Δ {acc:8.2e}  m* twist {m.mean:7.3f}±{m.err:6.3f}  bridge {b.mean:7.3f}±"
            f"{b.err:6.3f}  R² {r2.mean:6.3f}±{r2.err:5.3f}  E {e.mean:8.3f}±{e.err:5.3f}  "
            f"N_ph {nph.mean:5.2f}  τ(Δ²) {tau_d:6.1f}  τ(Q) {tau_b:5.1f}  "
            f"{res.sweeps / res.seconds:6.0f} sweeps/s" + repair_means(res))


def repair_means(res: qmc.ChainResult) -> str:
    """Per-proposal means of the repairing update's terms (empty for the old update)."""
    sums = res.twist_sums
    if sums is None or sums[0] == 0:
        return ""
    mean = dict(zip(wl.TWIST_SUMS, sums / sums[0]))
    return ("\n      per proposal: " + ", ".join(f"{k} {v:.3g}" for k, v in mean.items()
                                            if k != "proposals"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--t-over-omega", type=float, default=2.0)
    ap.add_argument("--lam", type=float, default=1.3)
    ap.add_argument("--U", type=float, default=8.0)
    ap.add_argument("--d", type=int, default=1)
    ap.add_argument("--beta", type=float, default=10.0, help="β t of the pair chain")
    ap.add_argument("--sweeps", type=int, default=20000, help="measured sweeps per chain")
    ap.add_argument("--seeds", type=int, default=1, help="chains per variant (seeds 1, 2, …)")
    ap.add_argument("--only", choices=("old", "new", "both"), default="both")
    args = ap.parse_args()
    omega, c, _ = coupling_outputs("bond_peierls", args.lam, args.t_over_omega, args.d,
                                   "lambda", 0.1)
    print(f"# bond_peierls d={args.d} U={args.U} t/Ω={args.t_over_omega} λ={args.lam} "
          f"β={args.beta} sweeps={args.sweeps} ({time.strftime('%Y-%m-%d %H:%M')}, load "
          f"{os.getloadavg()[0]:.1f})", flush=True)
    variants = {"old": False, "new": True}
    for seed in range(1, args.seeds + 1):
        for name, repair in variants.items():
            if args.only not in (name, "both"):
                continue
            p = qmc.make_params("bond_peierls", args.d, 2, args.beta, omega, c, args.U,
                                twist_repair=repair)
            res = qmc.run_chain(p, seed, args.sweeps)
            print(f"{name:>3} seed {seed}  {describe(res)}", flush=True)


if __name__ == "__main__":
    main()
