"""Per-point cost of the bipolaron kernel: time, basis size, peak memory, last ΔE.

Each point runs in a fresh subprocess so that its peak RSS (ru_maxrss) is its own; numba
compile time is measured separately (a warm-up point first, cached afterwards) and is not
included in the per-point times.

Usage (the shared 2-core machine is noisy; run niced)::

    nice -n 10 .venv/bin/python bench/bipolaron_points.py                 # issue's grid
    nice -n 10 .venv/bin/python bench/bipolaron_points.py --d 1 --lam 0.3 0.6 1.0 \
        --tom 0.5 1 2 --models bond_peierls holstein --mem 8 --timeout 300

``--timeout`` is the point's wall-clock budget, passed to the kernel as ``max_seconds``: the
point stops growing before a step that would overrun it (keeping time for the mass and K
checks) and reports NOT_CONVERGED with the basis it reached. ``time_s`` shows how well the
budget held; a point still running at twice the budget + 60 s is killed and reported so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

_CHILD = r"""
import json, resource, sys, time
from pairsweep.kernels.bipolaron import solve_point
kw = json.loads(sys.argv[1])
t0 = time.perf_counter()
out = solve_point(**kw)
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
keep = {k: (v if not hasattr(v, "item") else v.item()) for k, v in out.items()}
keep["status"] = int(out["status"])
print(json.dumps({"time_s": dt, "rss_mb": rss, **keep}, default=float))
"""


def run_point(kw: dict, timeout: float) -> dict:
    try:
        res = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(kw)],
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"killed": True}
    if res.returncode != 0:
        return {"error": res.stderr.strip().splitlines()[-1:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["bond_peierls"])
    ap.add_argument("--lam", nargs="+", type=float, default=[0.3, 0.6, 1.0])
    ap.add_argument("--tom", nargs="+", type=float, default=[0.5, 1.0, 2.0])
    ap.add_argument("--U", type=float, default=8.0)
    ap.add_argument("--d", type=int, default=2)
    ap.add_argument("--mem", type=float, default=8.0, help="max_memory_gb per point")
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="wall-clock budget per point (s), the kernel's max_seconds")
    ap.add_argument("--energy-tol", type=float, default=1e-3)
    ap.add_argument("--rel-tol", type=float, default=0.02, help="the kernel's rel_tol (m*, R²)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    run_point({"model": "holstein", "d": 1, "lam": 0.1, "t_over_omega": 1.0, "U_over_t": 0.0,
               "max_steps": 3}, 600)
    print(f"# warm-up (numba compile or cache load): {time.perf_counter() - t0:.1f} s")
    print(f"# d = {args.d}, U = {args.U} t, max_memory_gb = {args.mem}, "
          f"energy_tol = {args.energy_tol} t, rel_tol = {args.rel_tol}, "
          f"max_seconds = {args.timeout} s")
    hdr = (f"{'model':<14} {'lam':>5} {'t/Om':>5} {'time_s':>8} {'states':>10} {'rss_MB':>8} "
           f"{'arr_MB':>8} {'dE_last':>9} {'dm*/m*':>8} {'dR2/R2':>8} {'E_BP':>10} "
           f"{'Delta':>8} {'m*/2me':>8} {'R2':>7} {'Tc/Om':>8} status")
    print(hdr)
    for model in args.models:
        for tom in args.tom:
            for lam in args.lam:
                kw = {"model": model, "d": args.d, "lam": lam, "t_over_omega": tom,
                      "U_over_t": args.U, "max_memory_gb": args.mem,
                      "energy_tol": args.energy_tol, "rel_tol": args.rel_tol,
                      "max_seconds": args.timeout}
                r = run_point(kw, 2 * args.timeout + 60)
                if "killed" in r or "error" in r:
                    why = "killed" if "killed" in r else f"error {r['error']}"
                    print(f"{model:<14} {lam:5.2f} {tom:5.2f} {'>' + str(int(2 * args.timeout)):>8}"
                          f" {'-':>10} {'-':>8} {'-':>8} {why}", flush=True)
                    continue
                st = {0: "OK", 1: "NOT_CONVERGED", 2: "FAILED"}[r["status"]]
                caps = [c for c in ("time cap", "state cap", "step cap")
                        if f"bipolaron not converged ({c}" in r.get("message", "")]
                if caps:
                    st += f" ({caps[0]})"
                print(f"{model:<14} {lam:5.2f} {tom:5.2f} {r['time_s']:8.1f} "
                      f"{r['basis_size']:10d} {r['rss_mb']:8.0f} {r['memory_mb']:8.0f} "
                      f"{r['de_last']:9.2e} {r['dmass_rel']:8.2e} {r['dr2_rel']:8.2e} "
                      f"{r['e_bp']:10.5f} {r['delta_bp']:8.4f} {r['mass_bp']:8.3f} "
                      f"{r['r2_bp']:7.3f} {r['tc_over_omega']:8.4f} {st}", flush=True)


if __name__ == "__main__":
    main()
