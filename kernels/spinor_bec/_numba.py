"""Compiled angular moments of seed Eq. 6 for many (k, k') pairs (the gap solver's hot loop).

Same mathematics as :func:`.physics.mode_moments` (see its module docstring),
written as a scalar loop for numba: the numpy version allocates a dozen complex temporaries
per pair and dominates the cost of assembling the gap-equation matrices. The two are
checked against each other in the tests.
"""

from __future__ import annotations

import cmath
import math

import numpy as np
from numba import njit

# The numpy version's constants, not copies: numba freezes these globals at compile time.
from .physics import _DD_SWITCH, _GL_X, _GL_W
from .physics import M_F as _M_F

__all__ = ["accumulate_moments"]


@njit(cache=True)
def _g(y: complex, k: float, kp: float, nell: int, deriv: bool, res: np.ndarray) -> None:
    """res[ℓ] = y·M_ℓ(y) (or its y-derivative), M_ℓ(y) = ∫dθ/2π cos(ℓθ)/(x(θ) − y)."""
    two = 2.0 * k * kp
    eps = ((k - kp) ** 2 - y) / two
    z = 1.0 + eps
    s = cmath.sqrt(eps * (2.0 + eps))
    zs = z + s
    if abs(zs) < 1.0:
        s = -s
        zs = z + s
    w = 1.0 / zs
    wl = 1.0 + 0.0j
    for ell in range(nell):
        M = wl / (s * two)
        if deriv:
            dM = wl * (ell * s + z) / (s * s * s * two * two)
            res[ell] = M + y * dM
        else:
            res[ell] = y * M
        wl = wl * w


@njit(cache=True)
def accumulate_moments(
    k: np.ndarray,
    kp: np.ndarray,
    mc2: float,
    m: float,
    pre: float,
    static: bool,
    out: np.ndarray,
) -> None:
    """out[i, ℓ] += pre · ∫dθ/2π cos(ℓθ) x/((x − x₊)(x − x₋)) at (k[i], kp[i]).

    ``static`` sets Ω = 0 (then only the x₋ = −4m·mc² pole remains). V_ℓ = −4nmG² × moment.
    """
    nell = out.shape[1]
    gp = np.empty(nell, dtype=np.complex128)
    gm = np.empty(nell, dtype=np.complex128)
    acc = np.empty(nell, dtype=np.complex128)
    for i in range(k.size):
        ki = k[i]
        kpi = kp[i]
        two = 2.0 * ki * kpi
        if static:
            eps = ((ki - kpi) ** 2 + 4.0 * m * mc2) / two
            s = math.sqrt(eps * (2.0 + eps))
            w = 1.0 / (1.0 + eps + s)
            wl = 1.0
            for ell in range(nell):
                out[i, ell] += pre * wl / (s * two)
                wl *= w
            continue
        omega = (kpi * kpi - ki * ki) / (2.0 * _M_F)
        disc = cmath.sqrt(complex(mc2 * mc2 - omega * omega, 0.0))
        c = -2.0 * m * mc2
        h = 2.0 * m * disc
        dist = (ki - kpi) ** 2 + 2.0 * m * mc2
        if abs(h) < _DD_SWITCH * dist:
            for ell in range(nell):
                acc[ell] = 0.0
            for j in range(_GL_X.size):
                _g(c + h * _GL_X[j], ki, kpi, nell, True, gp)
                for ell in range(nell):
                    acc[ell] += 0.5 * _GL_W[j] * gp[ell]
            for ell in range(nell):
                out[i, ell] += pre * acc[ell].real
        else:
            xp = c + h
            xm = c - h
            _g(xm, ki, kpi, nell, False, gm)
            if xp == 0.0:
                # Ω = 0 (k = k'): x₊ M(x₊) → 0 although M(0) diverges.
                for ell in range(nell):
                    gp[ell] = 0.0
            else:
                _g(xp, ki, kpi, nell, False, gp)
            for ell in range(nell):
                out[i, ell] += pre * ((gp[ell] - gm[ell]) / (xp - xm)).real
