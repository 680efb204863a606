"""Lowest eigenpair of the VED Hamiltonian: a restarted Lanczos written for this solver.

Private to the VED solver (:mod:`pairsweep.kernels.bipolaron.ved`). Pure numpy/scipy.

Why not ``scipy.sparse.linalg.eigsh``
-------------------------------------
Memory first. A point may hold ``max_memory_gb`` of arrays, and the state cap is set from
the bytes per state, counting five Lanczos vectors (``VEDBasis.bytes_per_state``). ARPACK
keeps ncv >= 2k + 1 vectors (20 by default at k = 1) for the whole solve; here, on large
bases, the cycle keeps four and replays itself to rebuild the Ritz vector
(``store_limit_bytes``). Twenty complex vectors are 320 bytes per state against the ~130 of
its key, hash slot and CSR entries: with ARPACK about half as many states would fit.

Speed is no reason for ARPACK either. On the solver's own bases, with the same mat-vec, the
same start vector and the same final residual, ``eigsh`` needs about half the mat-vecs (no
replay, more vectors) but 1.0–2.5× the time (reorthogonalisation over 20 vectors, a copy per
``LinearOperator`` call). At 0.56 M states: the warm K = 0 solve of a growth step 1.1 s
against 2.1 s, the complex curvature solve 4.7 s against 12.0 s
(``bench/ved_lanczos_vs_eigsh.py``). The stopping rule is the true residual ‖Hx − θx‖ < tol
in units of t, not ARPACK's estimate relative to |θ|.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["TimeCap", "lanczos_ground"]


class TimeCap(Exception):
    """A solve ran past its wall-clock deadline (``time.perf_counter()`` seconds)."""


def lanczos_ground(matvec, v0: np.ndarray, tol: float = 1e-9, m: int = 80,
                   max_matvecs: int = 20000, store_limit_bytes: float = 5e8,
                   deadline: float | None = None) -> tuple[float, np.ndarray, float, int]:
    """Lowest eigenpair of a Hermitian operator by restarted Lanczos.

    Each cycle runs up to ``m`` Lanczos steps from the current vector, takes the lowest
    Ritz pair, and restarts from it; it stops when the true residual ‖Hx − θx‖ < ``tol``.
    The Lanczos vectors are kept when they fit in ``store_limit_bytes``; otherwise the cycle
    is replayed to rebuild the Ritz vector (twice the mat-vecs, four vectors of memory).
    Deterministic. Returns (θ, x, residual, mat-vec count). Raises :class:`TimeCap` when a
    mat-vec ends past ``deadline`` (a ``time.perf_counter()`` value).
    """
    from scipy.linalg import eigh_tridiagonal

    if deadline is not None:
        inner = matvec

        def matvec(x: np.ndarray, y: np.ndarray) -> None:
            inner(x, y)
            if time.perf_counter() > deadline:
                raise TimeCap

    n = v0.shape[0]
    v = v0 / np.linalg.norm(v0)
    nmv = 0
    store = n * m * v.itemsize <= store_limit_bytes
    theta = np.inf
    res = np.inf
    w = np.empty_like(v)
    while nmv < max_matvecs:
        alphas: list[float] = []
        betas: list[float] = []
        basis: list[np.ndarray] = []
        q_prev = np.zeros_like(v)
        q = v.copy()
        b = 0.0
        kmax = min(m, n)
        prev_theta = np.inf
        for j in range(kmax):
            if store:
                basis.append(q.copy())
            matvec(q, w)
            nmv += 1
            a = float(np.real(np.vdot(q, w)))
            w -= a * q
            if j > 0:
                w -= b * q_prev
            alphas.append(a)
            b = float(np.linalg.norm(w))
            betas.append(b)
            if b < 1e-13 * max(1.0, abs(a)):
                break
            q_prev, q = q, w / b
            if j >= 4 and j % 5 == 0:
                th = eigh_tridiagonal(np.array(alphas), np.array(betas[:-1]),
                                      select="i", select_range=(0, 0),
                                      eigvals_only=True)[0]
                # Ritz value settled to far below tol²: the restart will confirm it
                if abs(th - prev_theta) < 1e-3 * tol * tol:
                    break
                prev_theta = th
        k = len(alphas)
        if k == 1:
            evals = np.array([alphas[0]])
            evecs = np.ones((1, 1))
        else:
            evals, evecs = eigh_tridiagonal(np.array(alphas), np.array(betas[:-1]),
                                            select="i", select_range=(0, 0))
        theta = float(evals[0])
        s = evecs[:, 0]
        x = np.zeros_like(v)
        if store:
            for j in range(k):
                x += s[j] * basis[j]
        else:
            q_prev = np.zeros_like(v)
            q = v.copy()
            b = 0.0
            for j in range(k):
                x += s[j] * q
                if j == k - 1:
                    break
                matvec(q, w)
                nmv += 1
                w -= alphas[j] * q
                if j > 0:
                    w -= betas[j - 1] * q_prev
                q_prev, q = q, w / betas[j]
        x /= np.linalg.norm(x)
        matvec(x, w)
        nmv += 1
        theta = float(np.real(np.vdot(x, w)))
        w -= theta * x
        res = float(np.linalg.norm(w))
        v = x
        if res < tol:
            break
    return theta, v, res, nmv

