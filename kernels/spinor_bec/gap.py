"""Radial gap equation of the spinor-BEC kernel: grid, product integration, solvers.

Private helper of :mod:`pairsweep.kernels.spinor_bec`. Units and the interaction are those
of :mod:`.physics` (k_F = ε_F = 1, m_F = 1/2).

Channel reduction (seed Eq. 10). With Δ(k) = Δ_ℓ(|k|) e^{iℓφ} (chiral for ℓ ≥ 1, so that
|Δ(k)| and E(k) are isotropic and the channel closes exactly; the linearised equation is
the same for cos ℓφ),

    Δ_ℓ(k) = −∫₀^∞ k'dk'/2π  V_ℓ(k, k') Δ_ℓ(k')/(2E(k')) tanh(E(k')/2T),

V_ℓ(k, k') = ∫dθ/2π cos(ℓθ) V_kk' with V of seed Eq. 6 (exact angular moments), E =
√(ξ² + Δ_ℓ²), ξ = k² − μ: μ = ε_F = 1 (``number=False``, the default) or, with
``number=True``, μ solved jointly with Δ_ℓ from the number equation (both spins, 2-D)

    n/n_F = 2π ∫₀^∞ k dk/2π [1 − ξ/E tanh(E/2T)] = 1,

the normal-state μ(T) = T ln(e^{ε_F/T} − 1) (2-D ideal Fermi gas, exact) wherever Δ_ℓ = 0,
in particular in the linearised equation that gives T_c,ℓ.

Discretisation (Nyström with product integration):

- k ∈ [0, ∞) is cut into panels, geometrically graded towards k_F from a smallest width
  ``d_min`` (resolves T and Δ down to the floor), up to K₁; [K₁, ∞) is mapped by
  k = K₁/t, t ∈ (0, 1] (the integrand falls as k'^-5 there, so no cutoff is imposed).
  Panels are also graded towards k = 0 down to 0.1 min(m_F c, 1/ξ): where the fermion is
  slower than sound, retardation no longer cuts the forward peak and Δ(k) has structure
  on that scale (without this grading T_c is off by ~5e-6 relative at δg̃ = 1e-5).
- F(k') = Δ(k')/(2E) tanh(E/2T) is smooth on each panel and is interpolated by the
  Lagrange polynomial through the panel's Gauss–Legendre nodes.
- V_ℓ(k_i, k') has an integrable cusp at k' = k_i (forward scattering: height ∝ ξ_s, width
  ∝ δg, plus a |k − k'|^{-1/2} shoulder from retardation). Panels closer to k_i than their
  own length are integrated against the Lagrange basis with sub-intervals graded
  geometrically (ratio 2) towards k_i down to 1/50 of the kernel's narrowest scale.
  Far panels use the Gauss–Legendre rule directly.

This gives W with Δ_i = −Σ_j W_ij F_j, one extra row for the target k = k_F (the reported
Δ_ℓ(k_F) is the Nyström interpolant there).

Solvers. T_c,ℓ: the largest eigenvalue of −Wχ(T), χ = tanh(ξ/2T)/2ξ, equals 1 (ξ at the
μ of the mode: ε_F or the normal-state μ(T)); located
with the sign of det(1 + Wχ) (scan down from 4 T_F by factors 2.5, Brent in ln T) and
confirmed by the eigenvalue, with Brent on the eigenvalue itself as fallback. Δ_ℓ(T):
Newton with backtracking on Δ + W F(Δ) = 0 from the T_c eigenvector scaled to the BCS
Δ(T), relative residual ≤ 1e-12. With the number equation, Newton runs on the N + 1
unknowns (Δ_i, μ) with the number residual as the extra row (the radial quadrature weights
of the same Nyström grid integrate it), residuals ≤ 1e-12 relative to max|Δ| and to n_F.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from scipy.optimize import brentq

from .._quadrature import gauss_legendre
from ._numba import accumulate_moments
from .physics import ELLS, M_F, Model

__all__ = [
    "ChannelResult",
    "GapResult",
    "GridSpec",
    "Outcome",
    "TcResult",
    "Discretisation",
    "build",
    "mu_normal",
    "number_density",
    "solve_tc",
    "solve_gap",
    "solve_gap_number",
    "solve_point",
    "TC_FLOOR",
    "REFINE_RTOL",
]


@dataclass(frozen=True)
class GridSpec:
    """Knobs of the radial grid; :meth:`refined` gives the convergence-check grid."""

    nodes_per_panel: int = 8
    ratio: float = 3.0  # growth of panel widths away from k_F
    d_min: float = 1e-7  # width of the panels touching k_F
    k1: float = 3.0  # start of the mapped tail panel [K₁, ∞)
    n_tail_panels: int = 2  # t ∈ (0, 1] split into this many equal panels
    near_order: int = 8  # Gauss–Legendre order on the graded sub-intervals of near panels
    stop_fraction: float = 0.02  # grading stops at this fraction of the kernel's narrowest scale

    def refined(self) -> GridSpec:
        return GridSpec(
            nodes_per_panel=self.nodes_per_panel + 4,
            ratio=math.sqrt(self.ratio),
            d_min=self.d_min / 4.0,
            k1=self.k1 * 1.5,
            n_tail_panels=self.n_tail_panels + 1,
        )


@dataclass
class Panel:
    ta: float
    tb: float
    mapped: bool  # k = K₁/t if True, else k = t


def _panels(spec: GridSpec, k_small: float, k_fermi: float = 1.0) -> list[Panel]:
    """Panels graded geometrically towards k_F (from ``d_min``) and towards k = 0 (down to
    ``k_small``, where the fermion velocity 2k drops below the sound velocities and the
    forward interaction is no longer cut off by retardation), plus the mapped tail."""
    edges = [0.0, k_fermi]
    d = spec.d_min
    while k_fermi - d > 0.3 * k_fermi:
        edges.append(k_fermi - d)
        d *= spec.ratio
    e = min(edges[2:] or [k_fermi]) / spec.ratio
    while e > k_small:
        edges.append(e)
        e /= spec.ratio
    d = spec.d_min
    while k_fermi + d < 0.85 * spec.k1:
        edges.append(k_fermi + d)
        d *= spec.ratio
    edges.append(spec.k1)
    edges = sorted(set(edges))
    panels = [Panel(a, b, False) for a, b in zip(edges[:-1], edges[1:])]
    t_edges = np.linspace(0.0, 1.0, spec.n_tail_panels + 1)
    panels += [Panel(float(a), float(b), True) for a, b in zip(t_edges[1:][::-1], t_edges[:-1][::-1])]
    return panels


def _k_of_t(t: np.ndarray, mapped: bool, k1: float) -> tuple[np.ndarray, np.ndarray]:
    """k(t) and dk/dt (absolute value) on a panel."""
    if mapped:
        return k1 / t, k1 / t**2
    return t, np.ones_like(t)


@dataclass
class Discretisation:
    """Nodes and product-integration matrices of one grid for one parameter point."""

    spec: GridSpec
    k: np.ndarray  # (N,) nodes
    W: np.ndarray  # (L, N, N): Δ_i = −Σ_j W[ℓ, i, j] F_j
    W_fermi: np.ndarray  # (L, N): the row for the target k = k_F
    wk: np.ndarray  # (N,) radial quadrature weights: ∫₀^∞ f(k) dk ≈ Σ_j wk_j f(k_j)

    @property
    def xi(self) -> np.ndarray:
        return self.xi_at(1.0)

    def xi_at(self, mu: float) -> np.ndarray:
        """ξ = ε_k − μ (μ in ε_F)."""
        return self.k**2 / (2.0 * M_F) - mu


def _lagrange_matrix(nodes: np.ndarray, bary: np.ndarray, x: np.ndarray) -> np.ndarray:
    """L[s, j] = ℓ_j(x_s) for the interpolant through ``nodes`` (barycentric form)."""
    diff = x[:, None] - nodes[None, :]
    exact = diff == 0.0
    diff = np.where(exact, 1.0, diff)
    terms = bary[None, :] / diff
    L = terms / terms.sum(axis=1, keepdims=True)
    hit = exact.any(axis=1)
    if np.any(hit):
        L[hit] = exact[hit].astype(float)
    return L


def _graded_sides(
    d_lo: np.ndarray, d_hi: np.ndarray, stop: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sub-intervals of [d_lo, d_hi] (distances from a target) graded towards distance 0.

    For each side s: one interval [d_lo, stop] if d_lo < stop, then doubling intervals
    [c, 2c] from c = max(d_lo, stop), the last one clipped at d_hi. On [c, 2c] a function
    singular at distance 0 (or within ``stop`` of it) is analytic in a Bernstein ellipse of
    parameter ≥ 3 + √8, so a p-point Gauss–Legendre rule errs by ~(3 + √8)^{-2p}.
    Returns (side index, left, right) of every sub-interval.
    """
    first = d_lo < stop
    c0 = np.maximum(d_lo, np.minimum(stop, d_hi))
    with np.errstate(divide="ignore"):
        n_double = np.where(c0 < d_hi, np.ceil(np.log2(d_hi / np.maximum(c0, 1e-300)) - 1e-12), 0)
    n_double = np.maximum(n_double, 0).astype(int)
    first_i = first.astype(int) * (c0 > d_lo).astype(int)
    counts = first_i + n_double
    side = np.repeat(np.arange(d_lo.size), counts)
    start = np.cumsum(counts) - counts
    j = np.arange(side.size) - start[side]
    jd = j - first_i[side]  # doubling index (−1 for the first, linear interval)
    left = np.where(jd < 0, d_lo[side], c0[side] * 2.0 ** np.maximum(jd, 0))
    right = np.where(jd < 0, c0[side], np.minimum(c0[side] * 2.0 ** (jd + 1), d_hi[side]))
    return side, left, right


def _kernel_scale(model: Model, k: np.ndarray) -> np.ndarray:
    """Narrowest structure of V_ℓ(k, ·) near k' = k: retardation width and 1/ξ of each mode."""
    scale = np.full(k.shape, np.inf)
    for mc2 in (float(model.mc2_s), float(model.mc2_d)):
        if mc2 <= 0:
            continue
        scale = np.minimum(scale, mc2 * M_F / np.maximum(k, 1e-3))  # |Ω| = mc² at |k'−k| ≈ m_F mc²/k
        scale = np.minimum(scale, 2.0 * math.sqrt(float(model.m) * mc2))  # 1/ξ = 2mc
    return scale


def build(model: Model, spec: GridSpec, static: bool = False, ells: tuple[int, ...] = ELLS) -> Discretisation:
    """Assemble the product-integration matrices of one point on grid ``spec``."""
    gx, gw = gauss_legendre(spec.nodes_per_panel)
    # Below k ~ m_F c (fermion slower than sound) retardation no longer cuts the forward
    # peak: Δ(k) has structure on the scale min(m_F c, 1/ξ) there.
    k_small = 0.1 * min(
        min(M_F * float(c), 2.0 * float(model.m) * float(c)) for c in (model.c_s, model.c_d) if float(c) > 0
    )
    panels = _panels(spec, k_small)
    # Barycentric weights of Gauss–Legendre nodes (same on every panel up to a factor).
    bary = np.array([1.0 / np.prod([gx[j] - gx[m] for m in range(len(gx)) if m != j]) for j in range(len(gx))])
    p = len(gx)
    k_nodes, wk_nodes = [], []
    for pan in panels:
        t = 0.5 * (pan.ta + pan.tb) + 0.5 * (pan.tb - pan.ta) * gx
        k, jac = _k_of_t(t, pan.mapped, spec.k1)
        k_nodes.append(k)
        wk_nodes.append(0.5 * abs(pan.tb - pan.ta) * gw * jac)
    k_all = np.concatenate(k_nodes)
    N = k_all.size
    targets = np.concatenate([k_all, [1.0]])
    nt = targets.size

    n_pan = len(panels)
    ta = np.array([pn.ta for pn in panels])
    tb = np.array([pn.tb for pn in panels])
    mapped = np.array([pn.mapped for pn in panels])
    lo = np.minimum(ta, tb)
    hi = np.maximum(ta, tb)
    with np.errstate(divide="ignore"):
        t_tar_mapped = spec.k1 / targets
    t_tar = np.where(mapped[None, :], t_tar_mapped[:, None], targets[:, None])  # (nt, P)
    dist = np.maximum(lo[None, :] - t_tar, t_tar - hi[None, :])
    near_mask = dist < (hi - lo)[None, :]
    it, ip = np.nonzero(near_mask)
    tt = t_tar[it, ip]
    # Grading stops at 1/50 of the kernel's narrowest scale, converted to the panel variable.
    dk_dt = np.where(mapped[ip], targets[it] ** 2 / spec.k1, 1.0)
    stop = _kernel_scale(model, targets[it]) * spec.stop_fraction / dk_dt
    # Up to two sides per near pair: below and above the target (in t).
    inside = (lo[ip] < tt) & (tt < hi[ip])
    below = tt <= lo[ip]
    # side A: towards larger t from the target; side B: towards smaller t.
    a_lo = np.where(below, lo[ip] - tt, 0.0)
    a_hi = hi[ip] - tt
    a_ok = below | inside
    b_lo = np.where(inside, 0.0, tt - hi[ip])
    b_hi = tt - lo[ip]
    b_ok = ~below
    pair = np.concatenate([np.flatnonzero(a_ok), np.flatnonzero(b_ok)])
    sgn = np.concatenate([np.ones(a_ok.sum()), -np.ones(b_ok.sum())])
    d_lo = np.concatenate([a_lo[a_ok], b_lo[b_ok]])
    d_hi = np.concatenate([a_hi[a_ok], b_hi[b_ok]])
    side, left, right = _graded_sides(d_lo, d_hi, stop[pair])
    # Gauss–Legendre nodes on every sub-interval.
    sx, sw = gauss_legendre(spec.near_order)
    q = sx.size
    half = 0.5 * (right - left)
    dsub = (0.5 * (right + left))[:, None] + half[:, None] * sx[None, :]
    wsub = half[:, None] * sw[None, :]
    sp = pair[side]  # near-pair index of each sub-interval
    ts = (tt[sp][:, None] + sgn[side][:, None] * dsub).ravel()
    ws = wsub.ravel()
    sp = np.repeat(sp, q)
    pan_s = ip[sp]
    ks = np.where(mapped[pan_s], spec.k1 / ts, ts)
    jac = np.where(mapped[pan_s], spec.k1 / ts**2, 1.0)
    xloc = (2.0 * ts - (ta[pan_s] + tb[pan_s])) / (tb[pan_s] - ta[pan_s])
    L = _lagrange_matrix(gx, bary, xloc)  # (S, p)
    r_near = it[sp]
    c0_near = ip[sp] * p
    w_near = (ws * jac * ks / (2.0 * math.pi))[:, None] * L
    ells_arr = ells
    W_all = np.zeros((len(ells_arr), nt, N))
    # Far part: plain Gauss–Legendre.
    panel_of_node = np.repeat(np.arange(n_pan), p)
    far = ~near_mask[:, panel_of_node]  # (nt, N)
    ti, sj = np.nonzero(far)
    if ti.size:
        V = _moments(model, targets[ti], k_all[sj], static, ells_arr)  # (S, L)
        wfac = (np.concatenate(wk_nodes) * k_all / (2.0 * math.pi))[sj]
        for il in range(len(ells_arr)):
            W_all[il, ti, sj] = V[:, il] * wfac
    if r_near.size:
        V = _moments(model, targets[r_near], ks, static, ells_arr)  # (S, L)
        flat = (r_near[:, None] * N + c0_near[:, None] + np.arange(p)[None, :]).ravel()
        for il in range(len(ells_arr)):
            contrib = (V[:, il, None] * w_near).ravel()
            W_all[il] += np.bincount(flat, weights=contrib, minlength=nt * N).reshape(nt, N)
    return Discretisation(spec=spec, k=k_all, W=W_all[:, :N, :], W_fermi=W_all[:, N, :], wk=np.concatenate(wk_nodes))


def _moments(model: Model, k: np.ndarray, kp: np.ndarray, static: bool, ells: tuple[int, ...]) -> np.ndarray:
    """V_ℓ(k, k') for arrays of pairs, both modes, retarded (seed Eq. 6) or static (Ω = 0).

    ``ells`` must be 0, 1, …, L−1 (the compiled loop builds w^ℓ by repeated products).
    """
    if tuple(ells) != tuple(range(len(ells))):
        raise ValueError(f"ells must be 0..L-1, got {ells}")
    m = float(model.m)
    out = np.zeros(np.shape(k) + (len(ells),))
    k = np.ascontiguousarray(k, dtype=float).ravel()
    kp = np.ascontiguousarray(kp, dtype=float).ravel()
    flat = out.reshape(-1, len(ells))
    for G, mc2 in ((float(model.G_s), float(model.mc2_s)), (float(model.G_d), float(model.mc2_d))):
        if G == 0.0:
            continue
        pre = -4.0 * float(model.n) * m * G * G
        accumulate_moments(k, kp, mc2, m, pre, static, flat)
    return out


# ----------------------------------------------------------------------------- solvers


def mu_normal(T: float) -> float:
    """Chemical potential (ε_F) of the 2-D ideal Fermi gas at density n_F and temperature T.

    n = (m_F/π) T ln(1 + e^{μ/T}) = n_F gives μ = T ln(e^{ε_F/T} − 1) exactly, written as
    ε_F + T ln(1 − e^{−ε_F/T}) so that it neither overflows at small T nor loses digits
    (log1p for ε_F/T > ln 2, expm1 below): below T ≈ ε_F/745 the exponential underflows and
    μ = ε_F exactly.
    """
    if T <= 0.0:
        return 1.0
    x = 1.0 / T
    log_one_minus = math.log1p(-math.exp(-x)) if x > math.log(2.0) else math.log(-math.expm1(-x))
    return 1.0 + T * log_one_minus


def _mu_of(T: float, number: bool) -> float:
    """μ of the normal state used by the linearised equation: ε_F, or μ(T) with ``number``."""
    return mu_normal(T) if number else 1.0


def _chi(xi: np.ndarray, T: float) -> np.ndarray:
    """tanh(ξ/2T)/2ξ (the linearised pair susceptibility), 1/(2|ξ|) at T = 0."""
    axi = np.abs(xi)
    if T <= 0.0:
        return 0.5 / axi
    x = axi / (2.0 * T)
    small = x < 1e-6
    safe = np.where(small, 1.0, axi)
    return np.where(small, 1.0 / (4.0 * T), np.tanh(x) / (2.0 * safe))


def _log_det(disc: Discretisation, il: int, T: float, number: bool = False) -> tuple[float, float]:
    A = np.eye(disc.k.size) + disc.W[il] * _chi(disc.xi_at(_mu_of(T, number)), T)[None, :]
    sign, logdet = np.linalg.slogdet(A)
    return float(sign), float(logdet)


def leading_eigenvalue(disc: Discretisation, il: int, T: float, number: bool = False) -> tuple[float, np.ndarray]:
    """Largest real eigenvalue of −W χ(T) (the linearised gap operator) and its vector.

    ``number``: ξ at the normal-state μ(T) of :func:`mu_normal` instead of ε_F.
    """
    M = -disc.W[il] * _chi(disc.xi_at(_mu_of(T, number)), T)[None, :]
    vals, vecs = np.linalg.eig(M)
    i = int(np.argmax(vals.real))
    v = vecs[:, i].real
    return float(vals[i].real), v


class Outcome(enum.Enum):
    """How a solve ended, decided where it ends (never read back out of a message).

    ``FAILED``: no answer exists where the solver looks (T_c above the search range), so
    a finer grid or more iterations cannot help. ``NOT_CONVERGED``: an answer was found but
    missed its tolerance (Newton residual, eigenvalue check, grid refinement).
    """

    OK = "ok"
    NOT_CONVERGED = "not converged"
    FAILED = "failed"


@dataclass
class TcResult:
    Tc: float  # 0.0 means below the floor
    outcome: Outcome
    message: str
    eigenvalue_check: float  # leading eigenvalue at T_c (should be 1)
    vector: np.ndarray | None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


_SCAN_FACTOR = 2.5


def _det_function(disc: Discretisation, il: int, number: bool = False):
    """det(1 + Wχ(T)) as a function of ln T, scaled by its first value.

    Linear in 1 − λ_max near a simple crossing, so Brent's method converges superlinearly
    (|det|^{1/N}, the obvious overflow-safe choice, is flat-then-steep and forces bisection).
    """
    ref: list[float] = []

    def f(logT: float) -> float:
        s, ld = _log_det(disc, il, math.exp(logT), number)
        if not ref:
            ref.append(ld)
        return s * math.exp(float(np.clip(ld - ref[0], -700.0, 700.0)))

    return f


def solve_tc(disc: Discretisation, il: int, t_floor: float, t_max: float = 4.0, number: bool = False) -> TcResult:
    """T_c,ℓ: where the leading eigenvalue of the linearised equation crosses 1.

    det(1 + Wχ(T)) = Π(1 − λ_i(T)) is positive while every eigenvalue is below 1 and changes
    sign when the largest crosses 1; the crossing is bracketed by a downward scan in ln T
    (factor 2.5) and located by Brent's method in ln T, then confirmed by the eigenvalue. If
    two eigenvalues crossed within one scan step (no sign change, or a leading eigenvalue
    ≠ 1 at the root), Brent's method is run on λ_max(T) − 1 itself. ``number``: the normal
    state's μ(T) (:func:`mu_normal`) at every T instead of μ = ε_F.
    """
    chi_max = _chi(disc.xi_at(_mu_of(t_max, number)), t_max)
    if np.max(np.abs(disc.W[il]) @ chi_max) >= 1.0:  # row-sum bound on every |λ_i|
        lam_hi, _ = leading_eigenvalue(disc, il, t_max, number)
        if lam_hi >= 1.0:
            return TcResult(math.nan, Outcome.FAILED, f"T_c above the search range {t_max:g} T_F", lam_hi, None)

    f = _det_function(disc, il, number)

    def g(logT: float) -> float:
        return leading_eigenvalue(disc, il, math.exp(logT), number)[0] - 1.0

    T_hi = t_max
    logtc = None
    while T_hi > t_floor:
        T_lo = max(T_hi / _SCAN_FACTOR, t_floor)
        if _log_det(disc, il, T_lo, number)[0] < 0:
            logtc = brentq(f, math.log(T_lo), math.log(T_hi), xtol=1e-11, rtol=1e-15)
            break
        T_hi = T_lo
    if logtc is None:
        lam, _ = leading_eigenvalue(disc, il, t_floor, number)
        if lam < 1.0:
            return TcResult(0.0, Outcome.OK, "", lam, None)
        lower = math.log(t_floor)
    else:
        lam, vec = leading_eigenvalue(disc, il, math.exp(logtc), number)
        if abs(lam - 1.0) < 1e-6:
            return TcResult(math.exp(logtc), Outcome.OK, "", lam, vec)
        if lam < 1.0:
            return TcResult(math.exp(logtc), Outcome.NOT_CONVERGED,
                            f"leading eigenvalue at the det root is {lam:.8f} < 1", lam, vec)
        lower = logtc
    # λ_max > 1 at ``lower`` and < 1 at t_max: the first crossing lies in between.
    logtc = brentq(g, lower, math.log(t_max), xtol=1e-11, rtol=1e-15)
    Tc = math.exp(logtc)
    lam, vec = leading_eigenvalue(disc, il, Tc, number)
    if abs(lam - 1.0) < 1e-6:
        return TcResult(Tc, Outcome.OK, "", lam, vec)
    return TcResult(Tc, Outcome.NOT_CONVERGED, f"leading eigenvalue at T_c is {lam:.8f}, not 1", lam, vec)


def _pair_function(E: np.ndarray, T: float) -> tuple[np.ndarray, np.ndarray]:
    """φ = tanh(E/2T)/2E (1/2E at T = 0) and dφ/dE."""
    if T <= 0.0:
        return 0.5 / E, -0.5 / E**2
    x = E / (2.0 * T)
    th = np.tanh(x)
    sech2 = 1.0 / np.cosh(np.minimum(x, 350.0)) ** 2  # the cap keeps cosh finite
    return th / (2.0 * E), sech2 / (4.0 * T * E) - th / (2.0 * E * E)


def _F_and_dF(delta: np.ndarray, xi: np.ndarray, T: float) -> tuple[np.ndarray, np.ndarray]:
    """F = Δ tanh(E/2T)/2E and ∂F/∂Δ (Δ real)."""
    E = np.sqrt(xi * xi + delta * delta)
    phi, dphi = _pair_function(E, T)
    F = delta * phi
    dF = phi + delta * delta / E * dphi
    return F, dF


@dataclass
class GapResult:
    gap_fermi: float
    outcome: Outcome
    message: str
    iterations: int
    residual: float
    delta: np.ndarray
    mu: float = 1.0  # chemical potential (ε_F) the solution belongs to

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


def solve_gap(
    disc: Discretisation,
    il: int,
    T: float,
    guess: np.ndarray,
    tol: float = 1e-12,
    max_iter: int = 60,
    mu: float = 1.0,
) -> GapResult:
    """Newton's method with backtracking on R(Δ) = Δ + W F(Δ) = 0 (nodes of one channel).

    ``guess`` must be a non-trivial (e.g. eigenvector-shaped) start; the sign is fixed so that
    Δ(k_F) > 0. Converged when max|R| ≤ tol · max|Δ|. ``mu``: the fixed chemical potential.
    """
    W = disc.W[il]
    xi = disc.xi_at(mu)
    delta = guess.astype(float).copy()
    N = delta.size
    F, dF = _F_and_dF(delta, xi, T)
    R = delta + W @ F
    rnorm = float(np.max(np.abs(R)))
    it = 0
    for it in range(1, max_iter + 1):
        J = np.eye(N) + W * dF[None, :]
        try:
            step = -sla.solve(J, R, check_finite=False)
        except (sla.LinAlgError, ValueError):
            return GapResult(math.nan, Outcome.NOT_CONVERGED, "singular Jacobian in Newton step", it, rnorm, delta)
        lam = 1.0
        while True:
            trial = delta + lam * step
            Ft, dFt = _F_and_dF(trial, xi, T)
            Rt = trial + W @ Ft
            rt = float(np.max(np.abs(Rt)))
            if rt < rnorm or lam < 1e-4:
                break
            lam *= 0.5
        delta, F, dF, R, rnorm = trial, Ft, dFt, Rt, rt
        scale = float(np.max(np.abs(delta)))
        if scale == 0.0:
            break
        if rnorm <= tol * scale:
            break
    scale = float(np.max(np.abs(delta)))
    gap_fermi = float(-disc.W_fermi[il] @ F)
    if gap_fermi < 0:
        gap_fermi, delta = -gap_fermi, -delta
    rel = rnorm / scale if scale > 0 else math.inf
    if rel <= 1e3 * tol and scale > 0:
        return GapResult(gap_fermi, Outcome.OK, "", it, rel, delta, mu)
    msg = f"Newton stopped at relative residual {rel:.2e} after {it} iterations"
    return GapResult(gap_fermi, Outcome.NOT_CONVERGED, msg, it, rel, delta, mu)


def _number_parts(
    delta: np.ndarray, xi: np.ndarray, T: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gap and number integrands with their Δ- and μ-derivatives (ξ = ε_k − μ, Δ real).

    Returns F = Δ tanh(E/2T)/2E, ∂F/∂Δ, ∂F/∂μ, ν = 1 − ξ/E tanh(E/2T) (both spins' occupation),
    ∂ν/∂Δ, ∂ν/∂μ. ν is formed without cancellation: 1 − ξ/E = Δ²/(E(E + ξ)) for ξ > 0 and
    1 − tanh(E/2T) = 2/(e^{E/T} + 1), so that its far tails ≈ Δ²/2ξ² keep their digits.
    """
    E = np.sqrt(xi * xi + delta * delta)
    pos = xi > 0.0
    one_minus_xi_over_e = np.where(pos, delta * delta / (E * (E + np.abs(xi))), 1.0 - xi / E)
    phi, dphi = _pair_function(E, T)
    if T <= 0.0:
        nu = one_minus_xi_over_e
    else:
        ex = np.exp(-np.minimum(E / T, 700.0))
        nu = one_minus_xi_over_e + (xi / E) * (2.0 * ex / (1.0 + ex))
    F = delta * phi
    dF = phi + delta * delta / E * dphi
    dF_dmu = -delta * dphi * xi / E  # ∂E/∂μ = −ξ/E
    # ν = 1 − 2ξφ(E): ∂ν/∂Δ = −2ξφ'Δ/E, ∂ν/∂μ = 2φ + 2ξ²φ'/E.
    dnu = -2.0 * xi * dphi * delta / E
    dnu_dmu = 2.0 * phi + 2.0 * xi * xi * dphi / E
    return F, dF, dF_dmu, nu, dnu, dnu_dmu


def number_density(disc: Discretisation, delta: np.ndarray, mu: float, T: float) -> float:
    """n/n_F = 2π ∫₀^∞ k dk/2π [1 − ξ/E tanh(E/2T)] for the chiral/s gap Δ(|k|) on ``disc``'s nodes.

    Both spins, 2-D; |Δ(k)| is isotropic for every channel (see the module docstring), so
    the angular integral is trivial. n_F = k_F²/2π.
    """
    nu = _number_parts(np.asarray(delta, dtype=float), disc.xi_at(mu), T)[3]
    return float((disc.wk * disc.k) @ nu)


def solve_gap_number(
    disc: Discretisation,
    il: int,
    T: float,
    guess: np.ndarray,
    mu_guess: float,
    tol: float = 1e-12,
    max_iter: int = 60,
) -> GapResult:
    """Newton with backtracking on (Δ + W F(Δ, μ), n(Δ, μ)/n_F − 1) = 0 for (Δ_i, μ).

    The gap equation of :func:`solve_gap` plus the number equation (:func:`number_density`)
    as one extra unknown and row. Converged when the gap residual is ≤ tol · max|Δ| and the
    number residual ≤ tol. The sign is fixed so that Δ(k_F) > 0.
    """
    W = disc.W[il]
    eps_k = disc.xi_at(0.0)
    wkk = disc.wk * disc.k
    N = guess.size
    delta = guess.astype(float).copy()
    mu = float(mu_guess)

    def evaluate(d: np.ndarray, m: float):
        parts = _number_parts(d, eps_k - m, T)
        R = d + W @ parts[0]
        rn = float(wkk @ parts[3]) - 1.0
        scale = float(np.max(np.abs(d)))
        merit = max(float(np.max(np.abs(R))) / scale, abs(rn)) if scale > 0 else math.inf
        return R, rn, parts, merit

    R, rn, parts, merit = evaluate(delta, mu)
    J = np.empty((N + 1, N + 1))
    it = 0
    for it in range(1, max_iter + 1):
        _, dF, dF_dmu, _, dnu, dnu_dmu = parts
        J[:N, :N] = W * dF[None, :]
        J[:N, :N] += np.eye(N)
        J[:N, N] = W @ dF_dmu
        J[N, :N] = wkk * dnu
        J[N, N] = wkk @ dnu_dmu
        try:
            step = -sla.solve(J, np.concatenate([R, [rn]]), check_finite=False)
        except (sla.LinAlgError, ValueError):
            return GapResult(math.nan, Outcome.NOT_CONVERGED, "singular Jacobian in Newton step (number equation)",
                             it, merit, delta, mu)
        lam = 1.0
        while True:
            trial_d = delta + lam * step[:N]
            trial_mu = mu + lam * step[N]
            Rt, rnt, pt, mt = evaluate(trial_d, trial_mu)
            if mt < merit or lam < 1e-4:
                break
            lam *= 0.5
        delta, mu, R, rn, parts, merit = trial_d, trial_mu, Rt, rnt, pt, mt
        if merit <= tol:
            break
    F = parts[0]
    gap_fermi = float(-disc.W_fermi[il] @ F)
    if gap_fermi < 0:
        gap_fermi, delta = -gap_fermi, -delta
    if merit <= 1e3 * tol and math.isfinite(mu):
        return GapResult(gap_fermi, Outcome.OK, "", it, merit, delta, mu)
    msg = f"Newton (gap + number equation) stopped at relative residual {merit:.2e} after {it} iterations"
    return GapResult(gap_fermi, Outcome.NOT_CONVERGED, msg, it, merit, delta, mu)


# ----------------------------------------------------------------------------- driver

#: T_c below this (in T_F) is reported as 0 ("below floor"): the grids resolve T ≳ 10 d_min.
TC_FLOOR = 1e-6
#: Relative change of Δ_ℓ(k_F) and T_c,ℓ under grid refinement accepted as converged.
REFINE_RTOL = 1e-6

_SPEC_SCOUT = GridSpec(nodes_per_panel=6, ratio=4.0, d_min=1e-7, k1=3.0, n_tail_panels=2)


def _main_spec(scale: float) -> GridSpec:
    """Grid whose smallest panels (0.1 × the smallest pairing scale) resolve T_c and Δ."""
    d_min = float(np.clip(0.1 * scale, 1e-7, 1e-2))
    return GridSpec(nodes_per_panel=8, ratio=3.0, d_min=d_min, k1=3.0, n_tail_panels=2)


def _refine_spec(spec: GridSpec) -> GridSpec:
    """Convergence-check grid: every knob finer (nodes, grading, d_min, K₁, tail panels)."""
    return GridSpec(
        nodes_per_panel=spec.nodes_per_panel + 2,
        ratio=spec.ratio**0.75,
        d_min=spec.d_min / 2.0,
        k1=spec.k1 * 1.5,
        n_tail_panels=spec.n_tail_panels + 1,
    )


def _tc_near(disc: Discretisation, il: int, tc_guess: float, number: bool = False) -> TcResult:
    """T_c on a finer grid, bracketed around the scout value (continuation of one root)."""
    f = _det_function(disc, il, number)

    c = math.log(tc_guess)
    for width in (0.02, 0.1, 0.4):
        a, b = c - width, c + width
        fa, fb = f(a), f(b)
        if fa < 0 < fb:
            logtc = brentq(f, a, b, xtol=1e-11, rtol=1e-15)
            return TcResult(math.exp(logtc), Outcome.OK, "", math.nan, None)
    return solve_tc(disc, il, TC_FLOOR, number=number)


def _bcs_guess(vec: np.ndarray, k: np.ndarray, tc: float, T: float) -> np.ndarray:
    """Eigenvector at T_c scaled to the BCS Δ(T) ≈ 1.764 T_c tanh(1.74 √(T_c/T − 1))."""
    i_f = int(np.argmin(np.abs(k - 1.0)))
    amp = 1.764 * tc * (math.tanh(1.74 * math.sqrt(max(tc / T - 1.0, 1e-4))) if T > 0 else 1.0)
    return vec / vec[i_f] * amp


@dataclass(frozen=True)
class GridSolution:
    """One channel solved on one grid (main or check): what refinement compares."""

    gap: float  # Δ_ℓ(k_F) in ε_F
    tc: float  # T_c,ℓ in T_F
    iterations: int  # Newton iterations of the gap solve (0 when Δ_ℓ = 0)
    residual: float  # relative Newton residual
    outcome: Outcome
    message: str
    mu: float  # chemical potential (ε_F) of this solution


@dataclass(frozen=True)
class ChannelResult:
    """One channel ℓ of a point: the check grid's values and their change from the main grid."""

    gap: float
    tc: float
    iterations: int
    residual: float
    refine_diff_gap: float
    refine_diff_tc: float
    outcome: Outcome
    message: str
    mu: float = 1.0  # chemical potential (ε_F) of the returned Δ_ℓ (normal state's if Δ_ℓ = 0)
    refine_diff_mu: float = 0.0  # |μ_check − μ_main| / ε_F

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


def _channel_from_grids(main: GridSolution, check: GridSolution, number: bool) -> ChannelResult:
    """Compare the main and check grids' solutions of one channel."""
    # Δ(T) ∝ √(T_c − T) near T_c amplifies T_c's error, so Δ's change is measured on the
    # pairing scale max(Δ, T_c) rather than on Δ itself.
    d_gap = abs(check.gap - main.gap) / max(abs(check.gap), abs(check.tc), 1e-300)
    d_tc = abs(check.tc - main.tc) / max(abs(check.tc), 1e-300)
    d_mu = abs(check.mu - main.mu)  # in ε_F: μ itself may pass through 0 on the BEC side
    refined = d_gap <= REFINE_RTOL and d_tc <= REFINE_RTOL and d_mu <= REFINE_RTOL
    if check.outcome is Outcome.OK and main.outcome is Outcome.OK and refined:
        outcome, msg = Outcome.OK, ""
    elif check.outcome is not Outcome.OK:  # the reported values' own failure comes first
        outcome, msg = check.outcome, check.message
    elif main.outcome is not Outcome.OK:
        outcome, msg = main.outcome, main.message
    else:
        outcome = Outcome.NOT_CONVERGED
        msg = f"grid refinement changes Δ by {d_gap:.1e} and T_c by {d_tc:.1e} (tolerance {REFINE_RTOL:g})"
        if number:
            msg += f", μ by {d_mu:.1e} ε_F"
    return ChannelResult(gap=check.gap, tc=check.tc, iterations=check.iterations, residual=check.residual,
                         refine_diff_gap=d_gap, refine_diff_tc=d_tc, outcome=outcome, message=msg,
                         mu=check.mu, refine_diff_mu=d_mu)


def _solve_on_grid(disc: Discretisation, il: int, T: float, tc_scout: float, seed_k: np.ndarray,
                   seed_delta: np.ndarray, seed_mu: float, mu_n: float, number: bool) -> GridSolution:
    """T_c,ℓ near the scout value, then Δ_ℓ at T from the scout solution, on one grid."""
    tc = _tc_near(disc, il, tc_scout, number)
    if not tc.ok or not math.isfinite(tc.Tc):
        outcome = tc.outcome if not tc.ok else Outcome.NOT_CONVERGED
        return GridSolution(gap=math.nan, tc=tc.Tc, iterations=0, residual=math.nan, outcome=outcome,
                            message=tc.message or "T_c not found", mu=math.nan if number else 1.0)
    if T >= tc.Tc or tc.Tc == 0.0:
        return GridSolution(gap=0.0, tc=tc.Tc, iterations=0, residual=0.0, outcome=Outcome.OK, message="",
                            mu=mu_n)
    guess = np.interp(disc.k, seed_k, seed_delta)
    g = solve_gap_number(disc, il, T, guess, seed_mu) if number else solve_gap(disc, il, T, guess)
    outcome, message = g.outcome, g.message
    if g.ok and g.gap_fermi < 1e-9 * tc.Tc:
        outcome, message = Outcome.NOT_CONVERGED, "Newton fell onto the trivial solution Δ = 0 below T_c"
    return GridSolution(gap=g.gap_fermi, tc=tc.Tc, iterations=g.iterations, residual=g.residual,
                        outcome=outcome, message=message, mu=g.mu if number else 1.0)


def solve_point(
    model: Model, T: float, static: bool = False, ells: tuple[int, ...] = ELLS, number: bool = False
) -> tuple[list[ChannelResult], dict]:
    """Δ_ℓ(k_F; T) and T_c,ℓ for every channel, checked by grid refinement.

    Three grids: a scout grid (coarse, resolving down to the floor) brackets T_c,ℓ and gives
    the eigenvectors; the main grid is graded down to 0.1 × the smallest T_c,ℓ; the check
    grid refines every knob of the main grid. The check grid's values are returned, and the
    relative change from the main grid is the reported error estimate.

    ``number``: μ from the number equation (jointly with Δ_ℓ below T_c,ℓ, the normal state's
    :func:`mu_normal` in the linearised equation and wherever Δ_ℓ = 0) instead of μ = ε_F.
    Each channel has its own μ. The grids stay graded towards k_F: |k_μ − k_F| ≈ (ε_F − μ)/2k_F
    is O(Δ²) ≪ Δ, so the pairing structure at k_μ lies inside the fine panels.
    """
    scout = build(model, _SPEC_SCOUT, static, ells)
    tcs = [solve_tc(scout, il, TC_FLOOR, number=number) for il in range(len(ells))]
    positive = [r.Tc for r in tcs if r.Tc > 0 and math.isfinite(r.Tc)]
    main_spec = _main_spec(min(positive) if positive else TC_FLOOR)
    if positive:
        grids = [build(model, main_spec, static, ells), build(model, _refine_spec(main_spec), static, ells)]
    else:
        grids = []  # every channel is below the floor (or failed): nothing to refine
    mu_n = mu_normal(T) if number else 1.0
    results: list[ChannelResult] = []
    for il in range(len(ells)):
        r0 = tcs[il]
        if not math.isfinite(r0.Tc) or not r0.ok:
            outcome = r0.outcome if not r0.ok else Outcome.NOT_CONVERGED
            results.append(ChannelResult(gap=math.nan, tc=math.nan, iterations=0, residual=math.nan,
                                         refine_diff_gap=math.nan, refine_diff_tc=math.nan,
                                         outcome=outcome, message=r0.message,
                                         mu=math.nan if number else 1.0, refine_diff_mu=math.nan))
            continue
        if r0.Tc == 0.0:
            results.append(ChannelResult(gap=0.0, tc=0.0, iterations=0, residual=0.0, refine_diff_gap=0.0,
                                         refine_diff_tc=0.0, outcome=Outcome.OK, message="", mu=mu_n,
                                         refine_diff_mu=0.0))
            continue
        # Nonlinear solve on the scout grid first: its solution seeds the finer grids.
        seed_k = scout.k
        seed_delta = _bcs_guess(r0.vector, scout.k, r0.Tc, T)
        seed_mu = mu_n
        if T < r0.Tc:
            g0 = solve_gap_number(scout, il, T, seed_delta, mu_n) if number else solve_gap(scout, il, T, seed_delta)
            if g0.ok:
                seed_delta, seed_mu = g0.delta, g0.mu
        main, check = (_solve_on_grid(disc, il, T, r0.Tc, seed_k, seed_delta, seed_mu, mu_n, number)
                       for disc in grids)
        results.append(_channel_from_grids(main, check, number))
    if grids:
        info = {"n_nodes": grids[1].k.size, "d_min": grids[1].spec.d_min, "n_nodes_main": grids[0].k.size}
    else:
        info = {"n_nodes": scout.k.size, "d_min": scout.spec.d_min, "n_nodes_main": scout.k.size}
    return results, info
