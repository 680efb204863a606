"""The VED solver's hand-written Lanczos against scipy's ``eigsh`` (ARPACK) on its own bases.

Both get the same mat-vec (the solver's compiled CSR product), the same start vector and an
equivalent stopping rule: ``lanczos_ground`` stops at a true residual ‖Hx − θx‖ < tol;
ARPACK stops at its residual estimate ≤ ``tol_arpack`` |θ|, so it gets tol/|θ| and its
true residual is printed too. Cases, on a bond-Peierls pair (d = 2, U = 8t, Ω = t, α = t)
grown by plain generations:

* cold: start vector all ones (the first solve of a series);
* warm: start from the previous generation's eigenvector (how ``grow`` calls it every step);
* K ≠ 0: the complex solve of the curvature mass, from the K = 0 eigenvector.

Printed per case: seconds, mat-vecs, |E_lanczos − E_eigsh|, the true residual of each, and
the vectors each keeps (memory = vectors × states × 8 or 16 bytes). Figures from one run on
a shared machine: compare within a row.

Usage::

    nice -n 10 .venv/bin/python bench/ved_lanczos_vs_eigsh.py [--states 30000 200000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

from pairsweep.kernels.bipolaron._ved_basis import MODEL_BP, Problem, VEDBasis
from pairsweep.kernels.bipolaron._ved_growth import compile_numba
from pairsweep.kernels.bipolaron._ved_lanczos import lanczos_ground

TOL = 1e-8  # the growth driver's lanczos_tol


def run_eigsh(mv, n: int, dtype, x0: np.ndarray, e_scale: float):
    count = [0]
    y = np.empty(n, dtype)

    def apply(x: np.ndarray) -> np.ndarray:
        count[0] += 1
        mv(np.ascontiguousarray(x.ravel(), dtype=dtype), y)
        return y.copy()

    op = LinearOperator((n, n), matvec=apply, dtype=dtype)
    t = time.perf_counter()
    w, v = eigsh(op, k=1, which="SA", v0=x0, tol=TOL / e_scale, maxiter=100_000)
    dt = time.perf_counter() - t
    x = v[:, 0]
    mv(np.ascontiguousarray(x), y)
    res = float(np.linalg.norm(y - w[0] * x))
    return float(w[0]), dt, count[0], res


def run_lanczos(mv, x0: np.ndarray, store_limit: float):
    t = time.perf_counter()
    e, x, res, nmv = lanczos_ground(mv, x0, tol=TOL, store_limit_bytes=store_limit)
    return e, time.perf_counter() - t, nmv, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--states", nargs="+", type=int, default=[30_000, 200_000],
                    help="grow until the basis holds at least this many states")
    args = ap.parse_args()
    compile_numba()
    print(f"# tol = {TOL} (true residual); lanczos keeps its m = 80 vectors when they fit in "
          "the solver's store limit, else 4 (replaying the cycle); ARPACK ncv = 20")
    print(f"{'case':<28} {'states':>8} {'lz_s':>7} {'lz_mv':>6} {'arp_s':>7} {'arp_mv':>6} "
          f"{'arp/lz':>6} {'|dE|':>8} {'lz_res':>8} {'arp_res':>8} {'lz_vec':>6} "
          f"{'arp_vec':>7}")
    prob = Problem(model=MODEL_BP, d=2, two_electrons=True, omega=1.0, coupling=1.0, U=8.0)
    for target in args.states:
        b = VEDBasis(prob, max_states=10**7)
        psi_prev = None
        while b.nstates < target:
            n_prev = b.nstates
            b.expand(None, 0.0, 0.0)
            b.build_rows()
            if b.nstates < target and b.nstates > 300:
                psi_prev = b.ground(b.nstates, tol=TOL)[1]
            elif b.nstates >= target and psi_prev is None:
                psi_prev = b.ground(n_prev, tol=TOL)[1] if n_prev > 300 else None
        n = b.nstates
        # the solver's own store limit at its default 2 M state cap (VEDBasis.ground)
        store_limit = min(5e8, 0.25 * 2_000_000 * 8)
        lz_vec = 80 if n * 80 * 8 <= store_limit else 4
        mv, _ = b.make_matvec(n)
        cases = [("cold, K = 0", np.ones(n))]
        if psi_prev is not None:
            x0 = np.zeros(n)
            x0[:psi_prev.shape[0]] = psi_prev
            x0 += 1e-3 * np.linalg.norm(x0) / np.sqrt(n)
            cases.append(("warm, K = 0", x0))
        for label, x0 in cases:
            e_l, t_l, nmv_l, res_l = run_lanczos(mv, x0, store_limit)
            e_a, t_a, nmv_a, res_a = run_eigsh(mv, n, float, x0, abs(e_l))
            print(f"{label:<28} {n:8d} {t_l:7.2f} {nmv_l:6d} {t_a:7.2f} {nmv_a:6d} "
                  f"{t_a / t_l:6.2f} {abs(e_l - e_a):8.1e} {res_l:8.1e} {res_a:8.1e} "
                  f"{lz_vec:6d} {20:7d}", flush=True)
        psi0 = b.ground(n, v0=x0, tol=TOL)[1]
        mvc, _ = b.make_matvec(n, np.array([0.05, 0.0]))
        xc = psi0.astype(complex)
        xc += 1e-3 * np.linalg.norm(xc) / np.sqrt(n)
        e_l, t_l, nmv_l, res_l = run_lanczos(mvc, xc, store_limit)
        lz_vec = 80 if n * 80 * 16 <= store_limit else 4
        e_a, t_a, nmv_a, res_a = run_eigsh(mvc, n, complex, xc, abs(e_l))
        print(f"{'K = (0.05, 0), from psi(K=0)':<28} {n:8d} {t_l:7.2f} {nmv_l:6d} {t_a:7.2f} "
              f"{nmv_a:6d} {t_a / t_l:6.2f} {abs(e_l - e_a):8.1e} {res_l:8.1e} {res_a:8.1e} "
              f"{lz_vec:6d} {20:7d}", flush=True)


if __name__ == "__main__":
    main()
