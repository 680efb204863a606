"""Numerics of the MixD+V bilayer mean field (seed: Borchia, Lange, Grusdt 2025, App. B).

Private helper of :mod:`pairsweep.kernels.mixd_bilayer`; numpy, with the k sums of the
inner loops fused in one numba loop (:func:`_moments`).

Units: V = 1. Symbols (per rung, N = L^d rungs):

* ``b = β/√N`` (so the cc density is n_cc = b² = O_BEC), ``mu`` = μ_h of seed Eq. 3,
* ``J' = J⊥ − (3/2) t∥²/J⊥`` (seed Eq. 5), ``g = (3/2) t∥²/J⊥`` (seed B11),
* γ_k = Σ_a cos k_a, recombination form factor f_k = γ_k + 2ε cos k_x cos k_y (seed Eq. 13),
* ξ_k = t∥(1 − 2b²) γ_k + J' + μ_h — derived from B9; B10/B11 print t∥|β|²/L where
  differentiating B9 gives 2t∥|β|²/L,
* Δ_k = 4 t∥ b f_k − g Σ_a C_a cos k_a with C_a = ⟨cos k_a Δ_k/E_k⟩ — seed B15 written in the
  separable basis of V_kk' = g γ_{k−k'} (cos(a − b) = cos a cos b + sin a sin b; the sin
  harmonics vanish for the even Δ_k that the ansatz pairs (k, −k) carry, see module notes),
* E_k = √(ξ_k² + Δ_k²); ⟨·⟩ = (1/N) Σ_k.

The variational energy per rung (seed B9 with β real, β = b√N) is

    e(θ, b, μ) = ⟨ξ_k(1 − cos θ_k) − 4t∥ b f_k sin θ_k⟩ + (g/2) Σ_a ⟨cos k_a sin θ_k⟩²
                 + (V + J⊥ + 2μ) b² − μ n_h,

(its sin k_a harmonics are dropped as they vanish for even θ_k). Minimising over θ_k at
fixed (b, μ) with the repulsive quadratic term written as max over C (it is (g/2)q² =
max_C [g C q − g C²/2]) gives the dual function

    h(μ, C; b) = ⟨ξ_k − E_k⟩ − (g/2)|C|² + (V + J⊥ + 2μ) b² − μ n_h,

jointly concave in (μ, C): its maximum is the fixed-(b, N_h) energy e*(b), and its
stationarity conditions are exactly B15 (∂/∂C) and B19 (∂/∂μ). The β equation B17 is
de*/db = 2 R_b = 0 (envelope theorem) with

    R_b = b [(V + J⊥ + 2μ) − 4t∥⟨v_k² γ_k⟩] − 2t∥⟨f_k Δ_k/E_k⟩,   v_k² = (1 − ξ_k/E_k)/2.

So the ground state is min over b of a concave maximum. :func:`solve_mixd` scans e*(b)
on a fixed grid from the BEC side (2b² → n_h, all holes in cc's) to the BCS side (b → 0),
brackets every local minimum (sign change of R_b between smooth neighbours; a dip of the
values next to a kink), refines each (Brent on R_b or on e*, then Newton on the full
system B15 + B17 + B19) and keeps the lowest. The β = 0 "BCS-only" branch, the sc Fermi
sea (Δ_k ≡ 0), competes as an exact stationary point.

Kinks: h is not differentiable where Δ_k = ξ_k = 0 on a mode. In a finite system with a
degenerate shell at the Fermi level, below β ~ g/(t∥√N) the repulsion cancels the
recombination field on the shell and the maximum of h sits on such a kink (Δ ≡ 0 on the
shell, fractional occupations); e* is still well defined there, R_b is not. The scan
steps over isolated kinks and stops after a run of them at tiny β (there e*(b) is
monotone), after walking the last interval before the run again on a finer grid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numba import njit
from scipy.optimize import brentq, minimize_scalar

__all__ = ["Lattice", "MixdSolution", "k_axis", "make_lattice", "solve_mixd"]

#: Coulomb repulsion, the energy unit.
V_UNIT = 1.0
#: Convergence of the inner concave maximisation: |∂h/∂μ| and |∂h/∂C|/g per rung.
_INNER_TOL = 1e-14
#: Inner residuals (times L^d) accepted as a smooth, if steep, maximum when _INNER_TOL is
#: out of reach (tiny Δ_k); a kink leaves residuals of order one mode's weight, 1/L^d.
_STEEP_TOL = 1e-3
#: Relative tolerance in b of the outer root search.
_B_RTOL = 4e-15
#: Largest relative residual of B15/B17/B19 accepted as converged.
_RESIDUAL_OK = 1e-10
#: Consecutive kink points after which the scan towards β → 0 stops, once the cc fraction
#: is below _KINK_STOP_X (isolated kinks at larger β are stepped over).
_KINK_RUN = 3
_KINK_STOP_X = 1e-2
#: Joint Newton steps tried before the bracketed nested fallback.
_JOINT_NEWTON_STEPS = 12
#: Scan of the cc fraction x = 2b²/n_h, walked from the BEC end (x → 1) towards x → 0:
#: Chebyshev-spaced in between, log-spaced towards both ends. The same for every point.
#: If R_b < 0 at its BEC end, ``_SCAN_X_BEC_TAIL`` extends it.
_SCAN_X = np.unique(
    np.concatenate(
        [
            np.logspace(-10, -2.5, 31),
            0.5 * (1.0 - np.cos(np.pi * np.arange(1, 32) / 32)),
            1.0 - np.logspace(-3, -4, 2),
        ]
    )
)[::-1]
_SCAN_X_BEC_TAIL = 1.0 - np.logspace(-5, -9, 5)


def k_axis(L: int) -> np.ndarray:
    """Momenta 2πm/L of one lattice direction, ordered from −π (excluded) to π.

    m runs over ``arange(L) − (L − 1)//2`` so Γ sits in the middle and k = π is included
    for even L (the layout of seed Figs. 2 and 7).
    """
    m = np.arange(L) - (L - 1) // 2
    return 2.0 * np.pi * m / L


@dataclass(frozen=True)
class Lattice:
    """k grid and form factors of an L^d periodic lattice (d = 1 ladder, d = 2 bilayer)."""

    L: int
    d: int
    eps: float
    kx: np.ndarray  # (L,)
    ky: np.ndarray  # (L,) for d = 2, (1,) = [0] for d = 1
    gamma: np.ndarray  # (N,) γ_k, flattened in (kx, ky) C order
    form: np.ndarray  # (N,): recombination form factor f_k

    @property
    def n_sites(self) -> int:
        return self.gamma.size


def make_lattice(L: int, d: int, eps: float = 0.0) -> Lattice:
    """Build the k grid; ``eps`` (diagonal recombination, seed Eq. 13) only for d = 2."""
    kx = k_axis(L)
    if d == 1:
        ky = np.zeros(1)
        gamma = np.cos(kx)
        form = gamma.copy()
    elif d == 2:
        ky = kx.copy()
        ckx, cky = np.meshgrid(np.cos(kx), np.cos(ky), indexing="ij")
        ckx, cky = ckx.ravel(), cky.ravel()
        gamma = ckx + cky
        # Four diagonal neighbours give Σ e^{ik·δ} = 4 cos kx cos ky against 2γ_k for the
        # four nearest ones, hence the relative weight 2ε.
        form = gamma + 2.0 * eps * ckx * cky
    else:
        raise ValueError(f"d must be 1 or 2, got {d}")
    return Lattice(L=L, d=d, eps=float(eps), kx=kx, ky=ky, gamma=gamma, form=form)


@dataclass
class _Fields:
    xi: np.ndarray
    delta: np.ndarray
    e: np.ndarray
    s: np.ndarray  # sin θ_k = Δ_k/E_k
    w: np.ndarray  # cos θ_k = ξ_k/E_k


def _bracketed_newton(
    func: Callable[[float], tuple[float, float, Any]],
    x0: float,
    lo: float,
    hi: float,
    tol: float,
    rel_width: float,
    max_iter: int = 200,
) -> tuple[float, Any, bool]:
    """Root of a decreasing function by Newton steps safeguarded with bisection.

    ``func(x) -> (value, derivative, payload)``; ``lo``/``hi`` may be infinite, in which
    case the bracket is grown geometrically. Returns (x, payload at x, converged). When
    bisection (Newton having left the bracket) narrows the bracket below ``rel_width``
    without |value| <= tol, the function jumps there — a kink of the concave function
    whose derivative it is, e.g. a node of Δ_k on the Fermi level — and the search stops
    unconverged.
    """
    x = x0
    step_scale = 1e-3
    bisected = False
    payload: Any = None
    for _ in range(max_iter):
        val, der, payload = func(x)
        if abs(val) <= tol:
            return x, payload, True
        if val > 0.0:
            lo = x
        else:
            hi = x
        if bisected and hi - lo <= rel_width * max(1.0, abs(x)):
            return x, payload, False
        cand = x - val / der if der < 0.0 else np.nan
        bisected = not (lo < cand < hi)
        if bisected:
            if np.isfinite(lo) and np.isfinite(hi):
                cand = 0.5 * (lo + hi)
            else:
                step_scale *= 4.0
                cand = x + step_scale if val > 0.0 else x - step_scale
        x = cand
    return x, payload, False


@njit(cache=True)
def _moments(
    gamma: np.ndarray, form: np.ndarray, b: float, mu: float, C: float,
    t: float, j_eff: float, g: float,
) -> tuple[float, float, float, float, float, float, float, float, float]:
    """All k averages one Newton step needs, in one pass (the inner loop of the solver).

    Returns ⟨1 − w⟩ (= n_sc), ⟨γ s⟩, ⟨ξ − E⟩, ⟨v² γ⟩, ⟨s f⟩, ⟨Δ²/E³⟩, ⟨γ ξ Δ/E³⟩,
    ⟨γ² ξ²/E³⟩ and min E, with s = Δ/E, w = ξ/E, v² = (1 − w)/2. A mode with E = 0 (a node
    of Δ on the Fermi level) counts with s = w = 0 and no curvature.
    """
    n = gamma.size
    kin = t * (1.0 - 2.0 * b * b)
    amp = 4.0 * t * b
    shift = j_eff + mu
    gc = g * C
    a_n = a_gs = a_xe = a_v2g = a_sf = a_dd = a_gxd = a_ggxx = 0.0
    e_min = np.inf
    for i in range(n):
        gi = gamma[i]
        xi = kin * gi + shift
        de = amp * form[i] - gc * gi
        e = np.sqrt(xi * xi + de * de)
        a_xe += xi - e
        if e < e_min:
            e_min = e
        if e > 0.0:
            s = de / e
            w = xi / e
            inv3 = 1.0 / (e * e * e)
            a_n += 1.0 - w
            a_gs += gi * s
            a_v2g += 0.5 * (1.0 - w) * gi
            a_sf += s * form[i]
            a_dd += de * de * inv3
            a_gxd += gi * xi * de * inv3
            a_ggxx += gi * gi * xi * xi * inv3
        else:
            a_n += 1.0
            a_v2g += 0.5 * gi
    return (a_n / n, a_gs / n, a_xe / n, a_v2g / n, a_sf / n, a_dd / n, a_gxd / n,
            a_ggxx / n, e_min)


class _Moments:
    __slots__ = ("n_sc", "gs", "xe", "v2g", "sf", "dd", "gxd", "ggxx", "e_min")

    def __init__(self, values: tuple[float, ...]) -> None:
        (self.n_sc, self.gs, self.xe, self.v2g, self.sf, self.dd, self.gxd, self.ggxx,
         self.e_min) = values


class _ScanPoint(NamedTuple):
    b: float
    e: float  # e*(b) per rung
    r_b: float  # R_b = e*'(b)/2 (meaningful where ok)
    mu: float
    C: float
    ok: bool  # inner solve smooth (not at a kink)
    x: float  # cc fraction 2b²/n_h


class _Model:
    """The dual function h, its derivatives and the stationarity residuals at one point.

    The gap coefficients C_x = C_y = C are taken equal in d = 2: h is strictly concave in
    (C_x, C_y) and symmetric under x ↔ y, so its maximiser is symmetric.
    """

    def __init__(self, lat: Lattice, J: float, t: float, n_h: float) -> None:
        self.lat = lat
        self.J = J
        self.t = t
        self.n_h = n_h
        self.g = 1.5 * t * t / J
        self.j_eff = J - 1.5 * t * t / J
        self.n_evals = 0

    def moments(self, b: float, mu: float, C: float) -> _Moments:
        self.n_evals += 1
        lat = self.lat
        return _Moments(_moments(lat.gamma, lat.form, b, mu, C, self.t, self.j_eff, self.g))

    def fields(self, b: float, mu: float, C: float) -> _Fields:
        """Per-k arrays (numpy, independent of :func:`_moments`) for outputs and checks."""
        lat = self.lat
        xi = self.t * (1.0 - 2.0 * b * b) * lat.gamma + (self.j_eff + mu)
        delta = 4.0 * self.t * b * lat.form - self.g * C * lat.gamma
        e = np.sqrt(xi * xi + delta * delta)
        if e.min() > 0.0:
            return _Fields(xi, delta, e, delta / e, xi / e)
        safe = np.where(e > 0.0, e, 1.0)
        s = np.where(e > 0.0, delta / safe, 0.0)
        w = np.where(e > 0.0, xi / safe, 0.0)
        return _Fields(xi, delta, e, s, w)

    # -- from moments (inner loops) ------------------------------------------------------

    def dual(self, b: float, mu: float, C: float, m: _Moments) -> float:
        """h(μ, C; b) per rung; equals seed B9 per rung at the stationary point."""
        return (m.xe - 0.5 * self.g * self.lat.d * C * C
                + (V_UNIT + self.J + 2.0 * mu) * b * b - mu * self.n_h)

    def residual_b(self, b: float, mu: float, m: _Moments) -> float:
        """R_b: the β equation (seed B16/B17) per rung; de*/db = 2 R_b."""
        t = self.t
        return b * ((V_UNIT + self.J + 2.0 * mu) - 4.0 * t * m.v2g) - 2.0 * t * m.sf

    def _hessian(self, m: _Moments) -> tuple[float, float, float]:
        """(h_μμ, h_μC, h_CC) of h per rung; negative definite where some Δ_k ≠ 0."""
        g = self.g
        return -m.dd, -g * m.gxd, -(g * g) * m.ggxx - g * self.lat.d

    # -- from fields (final checks, polish) ------------------------------------------------

    def stationarity(self, b: float, mu: float, C: float, f: _Fields) -> np.ndarray:
        """(B17, B19, B15) residuals from the per-k arrays: R_b, n_sc + 2b² − n_h,
        ⟨γ s⟩ − dC (per rung)."""
        lat, t = self.lat, self.t
        v2 = 0.5 * (1.0 - f.w)
        r_b = (b * ((V_UNIT + self.J + 2.0 * mu) - 4.0 * t * np.mean(v2 * lat.gamma))
               - 2.0 * t * np.mean(f.s * lat.form))
        r_n = np.mean(1.0 - f.w) + 2.0 * b * b - self.n_h
        r_c = np.mean(lat.gamma * f.s) - lat.d * C
        return np.array([r_b, r_n, r_c])

    def _jacobian(self, b: float, mu: float, f: _Fields) -> np.ndarray:
        """d(stationarity)/d(b, μ, C), analytic."""
        lat, t, g = self.lat, self.t, self.g
        gamma, form = lat.gamma, lat.form
        inv3 = 1.0 / (f.e * f.e * f.e)
        dw_dxi = f.delta**2 * inv3
        cross = -f.xi * f.delta * inv3  # ∂s/∂ξ = ∂w/∂Δ
        ds_ddelta = f.xi**2 * inv3
        v2 = 0.5 * (1.0 - f.w)
        one = np.ones_like(gamma)
        zero = np.zeros_like(gamma)
        # (∂ξ/∂z, ∂Δ/∂z) for z = b, μ, C
        moves = [(-4.0 * t * b * gamma, 4.0 * t * form), (one, zero), (zero, -g * gamma)]
        jac = np.empty((3, 3))
        for j, (dxi, ddelta) in enumerate(moves):
            ds = cross * dxi + ds_ddelta * ddelta
            dw = dw_dxi * dxi + cross * ddelta
            jac[0, j] = 2.0 * t * b * np.mean(gamma * dw) - 2.0 * t * np.mean(form * ds)
            jac[1, j] = -np.mean(dw)
            jac[2, j] = np.mean(gamma * ds)
        jac[0, 0] += (V_UNIT + self.J + 2.0 * mu) - 4.0 * t * np.mean(v2 * gamma)
        jac[0, 1] += 2.0 * b
        jac[1, 0] += 4.0 * b
        jac[2, 2] -= lat.d
        return jac

    def polish(
        self, b: float, mu: float, C: float, steps: int = 4
    ) -> tuple[float, float, float, _Fields]:
        """Newton on the full system (B15, B17, B19) from a nearby solution; a step is kept
        only if it lowers the largest residual (the refined b is limited by the accuracy
        of nested inner solves where R_b is steep)."""
        f = self.fields(b, mu, C)
        res = np.max(np.abs(self.stationarity(b, mu, C, f)))
        for _ in range(steps):
            if res <= 1e-16 or f.e.min() <= 0.0:
                break
            try:
                step = np.linalg.solve(self._jacobian(b, mu, f), -self.stationarity(b, mu, C, f))
            except np.linalg.LinAlgError:
                break
            if not np.all(np.isfinite(step)):
                break
            nb, nmu, nC = b + step[0], mu + step[1], C + step[2]
            nf = self.fields(nb, nmu, nC)
            nres = np.max(np.abs(self.stationarity(nb, nmu, nC, nf)))
            if not nres < res:
                break
            b, mu, C, f, res = nb, nmu, nC, nf, nres
        return b, mu, C, f

    # -- inner problem: max over (μ, C) of the concave dual at fixed b -----------------

    def _solve_c(self, b: float, mu: float, C0: float) -> tuple[float, _Moments, bool]:
        """C*(μ): root of the strictly decreasing ⟨γ s⟩ − dC."""
        d, g = self.lat.d, self.g
        if g == 0.0:
            return 0.0, self.moments(b, mu, 0.0), True

        def func(C: float) -> tuple[float, float, _Moments]:
            m = self.moments(b, mu, C)
            return m.gs - d * C, -g * m.ggxx - d, m

        bound = float(np.mean(np.abs(self.lat.gamma))) / d * (1.0 + 1e-12) + 1e-300
        return _bracketed_newton(
            func, min(max(C0, -bound), bound), -bound, bound, _INNER_TOL, rel_width=1e-13
        )

    def inner(self, b: float, mu0: float, C0: float) -> tuple[float, float, _Moments, bool]:
        """Maximise h(μ, C; b) over (μ, C); returns (μ, C, moments, converged).

        A few joint Newton steps from the warm start; if they do not converge, the robust
        nested solve: φ(μ) = max_C h is concave with φ'(μ) = n_sc + 2b² − n_h, decreasing
        in μ (μ_h enters the Hamiltonian as +μ_h N̂), and its curvature is the Schur
        complement of the C block. ``converged`` is False at a kink of h (a node of Δ_k
        exactly on the Fermi level, e.g. the Δ → 0 open-shell regime at tiny β).
        """
        mu, C = float(mu0), float(C0)
        g, d = self.g, self.lat.d
        for _ in range(_JOINT_NEWTON_STEPS):
            m = self.moments(b, mu, C)
            r_n = m.n_sc + 2.0 * b * b - self.n_h
            r_c = m.gs - d * C
            if abs(r_n) <= _INNER_TOL and abs(r_c) <= _INNER_TOL:
                return mu, C, m, True
            h_mm, h_mc, h_cc = self._hessian(m)
            if g:
                det = h_mm * h_cc - h_mc * h_mc
                # Newton for the maximum: H step = −∇h, ∇h = (r_n, g r_c).
                step_mu = (-r_n * h_cc + h_mc * g * r_c) / det if det else np.inf
                step_c = (-g * r_c * h_mm + h_mc * r_n) / det if det else np.inf
            else:
                step_mu, step_c = (-r_n / h_mm if h_mm else np.inf), 0.0
            if not (np.isfinite(step_mu) and np.isfinite(step_c)):
                break
            # Damp only wild steps (near-singular Hessian at tiny Δ); they end in the
            # nested fallback anyway.
            limit = max(1.0, abs(mu))
            if abs(step_mu) > limit:
                scale = limit / abs(step_mu)
                step_mu, step_c = step_mu * scale, step_c * scale
            mu += step_mu
            C += step_c
        return self._inner_nested(b, mu0, C0)

    def _inner_nested(
        self, b: float, mu0: float, C0: float
    ) -> tuple[float, float, _Moments, bool]:
        state = {"C": C0}

        def func(mu: float) -> tuple[float, float, tuple[float, _Moments, bool]]:
            C, m, ok_c = self._solve_c(b, mu, state["C"])
            state["C"] = C
            h_mm, h_mc, h_cc = self._hessian(m)
            curv = h_mm - h_mc * h_mc / h_cc if self.g else h_mm
            return m.n_sc + 2.0 * b * b - self.n_h, curv, (C, m, ok_c)

        with np.errstate(all="ignore"):
            mu, (C, m, _), _ = _bracketed_newton(
                func, mu0, -np.inf, np.inf, _INNER_TOL, rel_width=1e-10
            )
        # Where Δ_k is tiny, φ' is so steep that μ cannot be pinned to _INNER_TOL; a
        # residual far below one mode's weight 1/N is still a smooth maximum. A kink leaves
        # a jump of the number residual of order (shell degeneracy)/N.
        tol = _STEEP_TOL / self.lat.n_sites
        ok = abs(m.n_sc + 2.0 * b * b - self.n_h) <= tol and abs(m.gs - self.lat.d * C) <= tol
        return mu, C, m, ok


@dataclass
class MixdSolution:
    """Stationary point of seed B9 chosen as the ground state, with its diagnostics."""

    b: float
    mu: float
    C: float
    fields: _Fields
    energy: float  # per rung
    branch: int  # 0: β = 0 normal sc Fermi sea, 1: β ≠ 0
    n_minima: int  # local minima of e*(b) found (b = 0 included when it is one)
    residual: float  # max relative residual of B15, B17, B19
    converged: bool
    n_evals: int
    message: str = ""


def _normal_state(model: _Model) -> tuple[float, float, _Fields]:
    """β = 0 branch: the sc Fermi sea (Δ ≡ 0) at fixed even N_h; exact energy per rung.

    The N_h/2 lowest modes ε_k = t∥γ_k + J' hold two holes each (θ_k = π), the rest none
    (θ_k = 0); within a degenerate shell the first modes in k order are filled (the
    energy does not depend on the choice). Every derivative of B9 vanishes there
    (sin θ_k = 0 and β = 0), so it is a stationary point for any μ_h between the last
    filled and the first empty level; μ_h is reported at the midpoint.
    """
    lat = model.lat
    N = lat.n_sites
    eps_k = model.t * lat.gamma + model.j_eff
    order = np.argsort(eps_k, kind="stable")
    n_pairs = int(round(model.n_h * N / 2.0))
    occ = np.zeros(N)
    occ[order[:n_pairs]] = 1.0
    energy = 2.0 * float(np.sum(eps_k[order[:n_pairs]])) / N
    top = eps_k[order[n_pairs - 1]]
    bottom = eps_k[order[n_pairs]] if n_pairs < N else top
    mu = -0.5 * float(top + bottom)
    xi = eps_k + mu
    zeros = np.zeros(N)
    fields = _Fields(xi=xi, delta=zeros, e=np.abs(xi), s=zeros, w=1.0 - 2.0 * occ)
    return energy, mu, fields


def solve_mixd(J: float, t: float, n_h: float, lat: Lattice) -> MixdSolution:
    """Ground state of seed B9 at one point: global minimum over b of e*(b).

    Parameters
    ----------
    J, t
        J⊥/V and t∥/V.
    n_h
        Holes per rung, N_h / L^d, with N_h a positive even integer.
    lat
        k grid from :func:`make_lattice`.

    Notes
    -----
    e*(b) is scanned on the fixed grid ``_SCAN_X`` of cc fractions x = 2b²/n_h (the same
    for every point, so a result never depends on other points), from the BEC end down,
    warm-starting each inner solve from the previous smooth point; see the module
    docstring for how minima are bracketed and refined, and how kinks are handled.
    """
    model = _Model(lat, J, t, n_h)
    N = lat.n_sites

    def bec_start(x: float) -> float:
        # Almost all holes in cc's: v_k ≈ Δ_k/2ξ_k with Δ_k ≈ 4t∥b f_k and ξ_k ≈ ξ_0 =
        # J' + μ_h, so n_sc = 2⟨v_k²⟩ fixes ξ_0.
        b0 = np.sqrt(0.5 * n_h * x)
        xi0 = 4.0 * t * b0 * np.sqrt(np.mean(lat.form**2) / (2.0 * n_h * (1.0 - x)))
        return xi0 + t * lat.d - model.j_eff

    def walk(xs: np.ndarray, mu: float, C: float, depth: int = 0) -> list[_ScanPoint]:
        """e*(b) and R_b along xs (decreasing), warm-starting from the last smooth point.

        After ``_KINK_RUN`` kinks in a row below x = ``_KINK_STOP_X`` the walk stops: that
        is the Δ ≡ 0 region at tiny β, where e*(b) has no interior minimum. Before a kink that follows a smooth
        point where e* still rises with b (R_b > 0), a minimum may sit between the two: that
        interval is walked again on a finer geometric grid (twice at most).
        """
        out: list[_ScanPoint] = []
        kinks = 0
        for x in xs:
            b = float(np.sqrt(0.5 * n_h * x))
            mu_b, C_b, m, ok = model.inner(b, mu, C)
            point = _ScanPoint(b, model.dual(b, mu_b, C_b, m), model.residual_b(b, mu_b, m),
                               mu_b, C_b, ok, x)
            if not ok and kinks == 0 and out and out[-1].r_b > 0.0 and depth < 2:
                out += walk(np.geomspace(out[-1].x, x, 9)[1:-1], mu, C, depth + 1)
            out.append(point)
            if ok:
                mu, C, kinks = mu_b, C_b, 0
            else:
                kinks += 1
                if kinks >= _KINK_RUN and x < _KINK_STOP_X:
                    break
        return out

    scan = walk(_SCAN_X, bec_start(_SCAN_X[0]), 0.0)
    if scan[0].ok and scan[0].r_b < 0.0:
        # The minimum lies deeper on the BEC side than the scan reaches (very large J⊥).
        scan = walk(_SCAN_X_BEC_TAIL, bec_start(_SCAN_X_BEC_TAIL[-1]), 0.0)[::-1] + scan
    scan = scan[::-1]  # increasing b

    # (energy per rung, b, μ, C, fields)
    e_normal, mu_normal, f_normal = _normal_state(model)
    candidates: list[tuple[float, float, float, float, _Fields]] = [
        (e_normal, 0.0, mu_normal, 0.0, f_normal)
    ]
    # b = 0 is a local minimum if e* rises from it.
    n_minima = int(scan[0].e >= e_normal)

    def add(b: float, mu_b: float, C_b: float) -> None:
        nonlocal n_minima
        if any(abs(b - c[1]) <= 1e-9 * b for c in candidates):
            return
        b, mu_b, C_b, f_b = model.polish(b, mu_b, C_b)
        candidates.append((model.dual(b, mu_b, C_b, model.moments(b, mu_b, C_b)), b, mu_b, C_b, f_b))
        n_minima += 1

    for i in range(len(scan) - 1):
        lo, hi = scan[i], scan[i + 1]
        if lo.ok and hi.ok and lo.r_b < 0.0 <= hi.r_b:
            # A smooth bracket of de*/db = 2R_b: Brent's root search on R_b.
            cache: dict[float, tuple[float, float]] = {}

            def rb(b: float, start: _ScanPoint = hi) -> float:
                mu_b, C_b, m_b, _ = model.inner(b, start.mu, start.C)
                cache[b] = (mu_b, C_b)
                return model.residual_b(b, mu_b, m_b)

            try:
                b_star = brentq(rb, lo.b, hi.b, xtol=1e-300, rtol=_B_RTOL, maxiter=200)
            except ValueError:
                continue  # R_b not reproduced on re-solve: no smooth minimum here
            mu_b, C_b = cache[b_star] if b_star in cache else model.inner(b_star, hi.mu, hi.C)[:2]
            add(b_star, mu_b, C_b)
    for i in range(1, len(scan) - 1):
        left, mid, right = scan[i - 1], scan[i], scan[i + 1]
        # Only where smooth points meet kinks (inside a run of kinks, the Δ ≡ 0 region,
        # e* is monotone), and only a dip above the ~1e-10 accuracy of e* at a kink.
        oks = (left.ok, mid.ok, right.ok)
        dip = min(left.e, right.e) - mid.e
        if all(oks) or not any(oks) or dip <= 1e-9 * max(1.0, abs(mid.e)):
            continue
        # A minimum of the values next to a kink, where R_b is not continuous: bounded
        # Brent minimisation of e*(b) itself.
        def energy_at(b: float, start: _ScanPoint = mid) -> float:
            mu_b, C_b, m_b, _ = model.inner(b, start.mu, start.C)
            return model.dual(b, mu_b, C_b, m_b)

        found = minimize_scalar(energy_at, bounds=(left.b, right.b), method="bounded",
                                options={"xatol": 1e-13 * right.b})
        b_star = float(found.x)
        add(b_star, *model.inner(b_star, mid.mu, mid.C)[:2])

    energy, b, mu, C, f = min(candidates, key=lambda c: c[0])

    n_sc = float(np.sum(1.0 - f.w))  # N_sc = 2 Σ v_k²
    hole_residual = abs(n_sc + 2.0 * b * b * N - n_h * N)
    # Each residual relative to the size of the terms it balances: R_b near the BEC end
    # cancels O(J⊥) terms and is steep in b, so an absolute bound would be unreachable.
    resid = hole_residual / (n_h * N)
    if b == 0.0:
        branch = 0
    else:
        branch = 1
        v2 = 0.5 * (1.0 - f.w)
        scale_b = b * (V_UNIT + J + 2.0 * abs(mu) + 4.0 * t * np.mean(v2 * np.abs(lat.gamma)))
        scale_b += 2.0 * t * np.mean(np.abs(f.s * lat.form))
        scale_c = np.mean(np.abs(lat.gamma * f.s)) + lat.d * abs(C)
        r_b, _, r_c = model.stationarity(b, mu, C, f)
        resid = max(resid, abs(r_b) / scale_b, abs(r_c) / scale_c if scale_c > 0.0 else 0.0)
    # The residuals of the per-k arrays decide (computed apart from the fused sums that
    # the solver iterated on).
    converged = bool(
        resid <= _RESIDUAL_OK and hole_residual <= 1e-10 and (b == 0.0 or f.e.min() > 0.0)
    )
    message = ""
    if not converged:
        message = (
            f"relative stationarity residual {resid:.2e}, hole number off by "
            f"{hole_residual:.2e}" + ("" if f.e.min() > 0.0 else ", a gap node on the Fermi level")
        )
    return MixdSolution(
        b=b,
        mu=mu,
        C=C,
        fields=f,
        energy=energy,
        branch=branch,
        n_minima=n_minima,
        residual=resid,
        converged=converged,
        n_evals=model.n_evals,
        message=message,
    )
