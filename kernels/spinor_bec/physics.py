"""Spinor-BEC mediated interaction: units, derived constants and exact angular moments.

Private helper of :mod:`pairsweep.kernels.spinor_bec`. Seed: Bighin, Murthy, Defenu, Enss,
"Resonantly enhanced superconductivity mediated by spinor condensates", Phys. Rev.
Research 7, L022070 (2025); equations and conventions in ``docs/models/spinor_bec.md``.

Units: ħ = k_B = 1, k_F = 1, ε_F = k_F²/2m_F = 1, so m_F = 1/2, v_F = 2,
N₀ = m_F/π = 1/2π (both spins), n_F = k_F²/2π = 1/2π. The boson mass is
m = m_F · mass_ratio and each boson component has density n = n_F · density_ratio.
Dimensionless couplings g̃ = m g / ħ² are turned into the dimensionful g = g̃ / m here.

The interaction of seed Eq. 6, for one Bogoliubov mode with sound velocity c and
fermion-mode coupling G (|M(q)|² = 2 n G² ε_q/ω_q, ε_q = q²/2m, ω_q² = ε_q² + 2mc²ε_q),
is

    V = −|M|² ω/(ω² + Ω²) = −2nG² ε_q/(ε_q² + 2mc² ε_q + Ω²)
      = −4nmG² x / ((x − x₊)(x − x₋)),      x = q²,

with Ω = ε_k' − ε_k and x± = 2m(−mc² ± √(m²c⁴ − Ω²)), both in the closed left half
plane. For |k| = k, |k'| = k' and angle θ between them, x = k² + k'² − 2kk' cos θ is
linear in cos θ, so V is a rational function of cos θ and every angular moment
∫dθ/2π cos(ℓθ) V follows exactly from

    ∫ dθ/2π cos(ℓθ) / (z − cos θ) = w^ℓ / s,   s = √(z² − 1),  w = z − s,  |w| < 1,

applied to the two partial fractions (``docs/models/spinor_bec.md``, "Numerics"). When x₊ ≈ x₋
(Ω ≈ mc²) the two partial fractions cancel; there the divided difference
[g(x₊) − g(x₋)]/(x₊ − x₋), g(y) = y M(y), is evaluated as the mean of g' along the
segment (Gauss–Legendre), which is exact up to the quadrature error (h/d)^8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ELLS",
    "M_F",
    "N0",
    "N_F",
    "V_F",
    "Model",
    "interaction_moments",
    "mode_moments",
    "static_closed_form",
    "static_interaction",
]

#: Angular-momentum channels computed by the kernels (extra output dimension ``ell``).
ELLS = (0, 1, 2)
M_F = 0.5
V_F = 2.0
N0 = M_F / math.pi
N_F = 1.0 / (2.0 * math.pi)

# Below this |h|/d the divided difference is computed by quadrature of g' (see module doc).
_DD_SWITCH = 0.05
_GL_X, _GL_W = np.polynomial.legendre.leggauss(6)


@dataclass(frozen=True)
class Model:
    """Derived constants of one parameter point, dimensionful in the units above.

    Parameters may be scalars or arrays of one common shape (a block of points).
    """

    delta_g: np.ndarray  # δg̃
    g_F: np.ndarray  # g̃_F
    g_F_plus: np.ndarray  # g̃_F+
    g: np.ndarray  # g̃ (intra-species, g̃₁₁ = g̃₂₂)
    density_ratio: np.ndarray  # n / n_F
    mass_ratio: np.ndarray  # m / m_F

    @property
    def m(self) -> np.ndarray:
        return M_F * np.asarray(self.mass_ratio, dtype=float)

    @property
    def n(self) -> np.ndarray:
        return N_F * np.asarray(self.density_ratio, dtype=float)

    @property
    def mc2_s(self) -> np.ndarray:
        """m c_s² = n δg: the spin (out-of-phase) mode, soft at the spinodal δg → 0."""
        return self.n * np.asarray(self.delta_g, dtype=float) / self.m

    @property
    def mc2_d(self) -> np.ndarray:
        """m c_d² = n (g + g₁₂) = n (2g − δg): the density (in-phase) mode."""
        return self.n * (2.0 * np.asarray(self.g, dtype=float) - self.delta_g) / self.m

    @property
    def c_s(self) -> np.ndarray:
        return np.sqrt(self.mc2_s / self.m)

    @property
    def c_d(self) -> np.ndarray:
        return np.sqrt(self.mc2_d / self.m)

    @property
    def kF_xi_s(self) -> np.ndarray:
        """k_F ξ_s with ξ_s = 1/(2 m c_s) = 1/√(4 m n δg) (seed, below Eq. 7)."""
        return 1.0 / (2.0 * self.m * self.c_s)

    @property
    def kF_xi_d(self) -> np.ndarray:
        return 1.0 / (2.0 * self.m * self.c_d)

    @property
    def G_s(self) -> np.ndarray:
        """Dimensionful spin-mode coupling g_F = g̃_F / m."""
        return np.asarray(self.g_F, dtype=float) / self.m

    @property
    def G_d(self) -> np.ndarray:
        return np.asarray(self.g_F_plus, dtype=float) / self.m

    @property
    def alpha_s(self) -> np.ndarray:
        """α = (N₀ g_F²/δg)/(4k_F²ξ_s²) = g̃_F² m_F n/(2π² m n_F) (from its definition, not seed Eq. 9's print)."""
        return N0 * self.G_s**2 * self.m * self.n

    @property
    def alpha_d(self) -> np.ndarray:
        return N0 * self.G_d**2 * self.m * self.n

    @property
    def bf_stability(self) -> np.ndarray:
        """N₀(2g_F²/δg + 2g_F+²/(2g − δg)): mean-field Bose–Fermi stability, stable iff < 1.

        From the Hessian of the mean-field energy density in (n₁, n₂, n_F) with
        ∂μ_F/∂n_F = 1/N₀ (not from seed Eq. 6, whose q → 0 limit −g_F²/δg is half the
        thermodynamic induced interaction −2g_F²/δg).
        """
        m = self.m
        dg = np.asarray(self.delta_g, dtype=float) / m
        gd = (2.0 * np.asarray(self.g, dtype=float) - self.delta_g) / m
        return N0 * (2.0 * self.G_s**2 / dg + 2.0 * self.G_d**2 / gd)


def static_closed_form(model: Model, ells: tuple[int, ...] = ELLS) -> np.ndarray:
    """λ_ℓ of seed Eq. 8 with the static (Ω = 0) interaction, closed form.

    For each mode, with κ = k_F ξ and S = √(1 + 4κ²),
    λ_ℓ = −α (S − 1)^{2ℓ} / [S (4κ²)^{ℓ−1}] (ℓ = 0, 1 are seed Eq. 9),
    written as −α 4κ² ρ^ℓ / S with ρ = (S − 1)²/(4κ²) = 4κ²/(S + 1)² to avoid the
    cancellation in S − 1 at small κ. Spin plus density mode. Returns shape (*, len(ells)).
    """
    out = 0.0
    for alpha, kappa in ((model.alpha_s, model.kF_xi_s), (model.alpha_d, model.kF_xi_d)):
        alpha = np.asarray(alpha, dtype=float)[..., None]
        four_k2 = 4.0 * np.asarray(kappa, dtype=float)[..., None] ** 2
        S = np.sqrt(1.0 + four_k2)
        rho = four_k2 / (S + 1.0) ** 2
        ell = np.asarray(ells, dtype=float)
        out = out - alpha * four_k2 * rho**ell / S
    return np.asarray(out)


def static_interaction(model: Model, q2: np.ndarray) -> np.ndarray:
    """Seed Eq. 6 at Ω = 0 straight from the Bogoliubov dispersion and vertices.

    V = −|M_s|²/ω_s − |M_d|²/ω_d with |M|² = 2nG²ε_q/ω_q and ω_q from seed Eq. 2
    (used by the independent quadrature check of the closed forms).
    """
    m = model.m
    eps_q = q2 / (2.0 * m)
    out = 0.0
    for G, mc2 in ((model.G_s, model.mc2_s), (model.G_d, model.mc2_d)):
        omega = np.sqrt(eps_q * (eps_q + 2.0 * mc2))
        M2 = 2.0 * model.n * G**2 * eps_q / omega
        out = out - M2 / omega
    return out


def _cos_moments_of_pole(eps: np.ndarray, ells: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """w, s for ∫dθ/2π cos(ℓθ)/(z − cos θ) = w^ℓ/s with z = 1 + eps (eps complex, off [−2, 0]).

    ``eps = z − 1`` is passed instead of z so that poles close to cos θ = 1 (the forward
    peak, z − 1 ~ 1/(k_F ξ_s)²) keep full relative precision in s = √(eps (2 + eps)).
    Returns (w, s, z).
    """
    z = 1.0 + eps
    s = np.sqrt(eps * (2.0 + eps))
    zs = z + s
    flip = np.abs(zs) < 1.0
    s = np.where(flip, -s, s)
    zs = np.where(flip, z + s, zs)
    w = 1.0 / zs
    return w, s, z


def _g_and_gprime(y: np.ndarray, k: np.ndarray, kp: np.ndarray, ells: tuple[int, ...], deriv: bool):
    """g(y) = y·M_ℓ(y) (or g'(y)), M_ℓ(y) = ∫dθ/2π cos(ℓθ)/(x(θ) − y), shape (*, len(ells))."""
    two_kkp = 2.0 * k * kp
    eps = ((k - kp) ** 2 - y) / two_kkp
    w, s, z = _cos_moments_of_pole(eps, ells)
    ell = np.asarray(ells, dtype=float)
    wl = w[..., None] ** ell
    M = wl / (s[..., None] * two_kkp[..., None])
    if not deriv:
        return y[..., None] * M
    # dM/dy = w^ℓ (ℓ s + z) / (s³ (2kk')²)
    dM = wl * (ell * s[..., None] + z[..., None]) / (s[..., None] ** 3 * two_kkp[..., None] ** 2)
    return M + y[..., None] * dM


def mode_moments(
    k: np.ndarray,
    kp: np.ndarray,
    mc2: np.ndarray,
    m: np.ndarray,
    ells: tuple[int, ...] = ELLS,
) -> np.ndarray:
    """D_ℓ(k, k') = ∫dθ/2π cos(ℓθ) x/((x − x₊)(x − x₋)) for one mode; V_ℓ = −4nmG²·D_ℓ.

    All inputs broadcast to one shape; returns that shape + (len(ells),), real.
    k = k' (Ω = 0) is handled by the limit x₊ → 0 where the x₊ term vanishes.
    """
    k, kp, mc2, m = np.broadcast_arrays(
        np.asarray(k, float), np.asarray(kp, float), np.asarray(mc2, float), np.asarray(m, float)
    )
    Omega = (kp**2 - k**2) / (2.0 * M_F)
    disc = np.sqrt((mc2**2 - Omega**2).astype(complex))
    c = -2.0 * m * mc2 + 0j
    h = 2.0 * m * disc
    x_plus = c + h
    x_minus = c - h
    # Distance from the segment's centre to the singular set x ∈ [(k−k')², (k+k')²].
    dist = (k - kp) ** 2 + 2.0 * m * mc2
    small = np.abs(h) < _DD_SWITCH * dist
    out = np.empty(k.shape + (len(ells),), dtype=complex)

    big = ~small
    if np.any(big):
        kb, kpb = k[big], kp[big]
        xp, xm = x_plus[big], x_minus[big]
        gm = _g_and_gprime(xm, kb, kpb, ells, deriv=False)
        # Ω = 0 exactly (k = k'): x₊ = 0 and x₊ M(x₊) → 0, but M(0) itself diverges there.
        zero = xp == 0
        xp_safe = np.where(zero, -1.0, xp)
        gp = _g_and_gprime(xp_safe, kb, kpb, ells, deriv=False)
        gp[zero] = 0.0
        out[big] = (gp - gm) / (xp - xm)[..., None]
    if np.any(small):
        ks, kps, cs, hs = k[small], kp[small], c[small], h[small]
        acc = 0.0
        for t, wt in zip(_GL_X, _GL_W):
            acc = acc + 0.5 * wt * _g_and_gprime(cs + hs * t, ks, kps, ells, deriv=True)
        out[small] = acc
    return out.real


def interaction_moments(model: Model, k: np.ndarray, kp: np.ndarray, ells: tuple[int, ...] = ELLS) -> np.ndarray:
    """V_ℓ(k, k') = ∫dθ/2π cos(ℓθ) V_kk' of seed Eq. 6 (both modes, retardation included).

    ``model`` fields must broadcast against k, kp. Returns shape (*, len(ells)).
    """
    m = model.m
    pre_s = np.asarray(-4.0 * model.n * m * model.G_s**2, dtype=float)
    out = pre_s[..., None] * mode_moments(k, kp, model.mc2_s, m, ells)
    pre_d = np.asarray(-4.0 * model.n * m * model.G_d**2, dtype=float)
    if np.any(pre_d != 0.0):
        out = out + pre_d[..., None] * mode_moments(k, kp, model.mc2_d, m, ells)
    return out
