"""Why does the repairing twist end at its surviving lines' stage? (kernels 0.6.0-0.7.0)

Runs one 2-D bond-Peierls pair chain (the kernel's warm-up, repair forced on) with an
instrumented copy of ``_qmc_chain._twist_repair`` (its source, with recording lines added
where a line survives and after the stage; the copy asserts that the lines it patches are
still there) and prints: the share of proposals rejected as too_long, the share whose
surviving lines' ln ratio is below −3, and of those, how many leave Δ = 0 and how many have
as their worst line one whose ends are more than β/2 apart in [0, β) order (it crosses the
time boundary). Results: bench/results/bipolaron_qmc_twist_lines_stage.txt.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python bench/bipolaron_qmc_twist_lines_stage.py 2 1.3 20 2000

Arguments: t/Ω, λ, β t, measured sweeps (U = 8t).
"""

import inspect
import os
import sys

import numpy as np
from numba import njit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pairsweep.kernels.bipolaron import _qmc_chain as wl  # noqa: E402
from pairsweep.kernels.bipolaron import qmc  # noqa: E402
from pairsweep.kernels.bipolaron.conventions import coupling_outputs  # noqa: E402

too, lam, beta, nsw = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
omega, c, _ = coupling_outputs("bond_peierls", lam, too, 2, "lambda", 0.1)
p = qmc.make_params("bond_peierls", 2, 2, beta, omega, c, 8.0, 0.0, twist_repair=True)
src = inspect.getsource(wl._twist_repair.py_func).replace("@njit(cache=True)\n", "")
src = src.replace("def _twist_repair(p, c, sc):", "def trv(p, c, sc, rec):")
old = """                    log_w0 += log_c2 + math.log(f) - c.lline[k]
                    continue"""
assert old in src
src = src.replace(old, """                    dl = log_c2 + math.log(f) - c.lline[k]
                    log_w0 += dl
                    if dl < worst:
                        worst = dl
                        worst_wrap = 1.0 if abs(c.tk[k] - c.tk[j]) > 0.5 * p.beta else 0.0
                    continue""")
src = src.replace("    log_c2 = math.log(p.coupling2)\n", "    log_c2 = math.log(p.coupling2)\n    worst = 0.0\n    worst_wrap = -1.0\n    zero_before = 1.0 if zero_old else 0.0\n", 1)
old = "    log_lines = log_w0 - log_pot\n"
assert old in src
src = src.replace(old, old + """    nrec = int(rec[0, 0])
    if nrec + 1 < rec.shape[0]:
        rec[0, 0] += 1
        rec[nrec + 1, 0] = log_lines
        rec[nrec + 1, 1] = worst
        rec[nrec + 1, 2] = worst_wrap
        rec[nrec + 1, 3] = zero_before
        rec[nrec + 1, 4] = 1.0 if too_long else 0.0
""")
rs = inspect.getsource(wl.run_sweeps.py_func).replace("@njit(cache=True)\n", "")
rs = rs.replace("def run_sweeps(p, c, sc, n_sweeps, moves_per_sweep, out, stats, check):", "def rsv(p, c, sc, n_sweeps, moves_per_sweep, out, stats, check, rec):")
rs = rs.replace("ok = _twist_repair(p, c, sc)", "ok = trv(p, c, sc, rec)")
ns = dict(wl.__dict__)
exec(src, ns); ns["trv"] = njit(ns["trv"]); exec(rs, ns); rsv = njit(ns["rsv"])
walker, moves, stats = qmc.warm_up(p, 1)
rec = np.zeros((400000, 5))
out = np.zeros((nsw, len(wl.MEASURED)))
rsv(walker.p, walker.cfg, walker.scratch, nsw, moves, out, stats, False, rec)
n = int(rec[0, 0]); r = rec[1:n + 1]
bad = r[:, 0] < -3
print(f"t/Ω {too} λ {lam}: {n} proposals past the potential's stage; too_long {r[:, 4].mean():.3f}; ln r_lines < −3: {bad.mean():.3f}")
print(f"  of those: from Δ = 0 {r[bad, 3].mean():.3f}; worst line wraps the time boundary {np.mean(r[bad, 2] == 1):.3f}; worst line's ln change median {np.median(r[bad, 1]):.1f}")
print(f"  ⟨Δ = 0⟩ over all proposals {r[:, 3].mean():.3f}")
