"""Kronig-Penney subbands of a superlattice of quantum wires (seed Eqs. 2–4).

Private helper of :mod:`multigap_lifshitz`. Pure numpy/scipy.

Geometry and units
------------------
Energies in eV, lengths in nm, wavevectors in 1/nm. The potential along z is periodic with
period d = L + W: V = 0 in the wire ("well", width L) and V = V_b in the spacer ("barrier",
width W) (seed Eq. 2). The origin z = 0 is the centre of a well, so the cell is symmetric:
well |z| < L/2, barrier L/2 < |z| < d/2. The band mass along z enters through
``c_z = ħ²/(2 m_z)``.

Method: transfer matrices
-------------------------
In a region of constant potential V, with s = (E − V)/c_z, the pair (ψ, ψ') is carried over
a distance x by the real matrix ``[[C, S], [−s S, C]]`` with C = cos(√s x), S = sin(√s x)/√s
(cosh/sinh for s < 0). This is exact (no basis truncation), so energies and wavefunctions are
exact up to root-finding round-off.

- Band edges: the half cell H = T_b(W/2) T_w(L/2) (well centre → barrier centre). Bloch
  states at k = 0 and k = π/d are even or odd about the well centre, so the edges are the
  zeros of H21 and H12 (k = 0) and of H11 and H22 (k = π/d). Each is a half-cell
  Sturm–Liouville problem with simple zeros, so the edges are found robustly even when a
  gap closes (V_b → 0), where D − 1 = 2 H12 H21 has double zeros.
- Dispersion: D(E) = ½ tr M = H11 H22 + H12 H21 = cos(k d) (M the full cell). Inside band n,
  D is monotonic between its edges, so E_n(k) follows from bisection to full precision.
- Wavefunctions: the Bloch vector (ψ, ψ')(0) is the eigenvector of the cell matrix
  M = T_w(L/2) T_b(W) T_w(L/2) for the eigenvalue e^{ikd}; ψ(z) follows by transfer.
  |ψ_{nk}(z)|² is even about the well centre and about the barrier centre, so it is
  evaluated on Gauss–Legendre nodes of the half period [0, d/2], split at the well edge
  (the density is analytic on each piece, so these quadratures are exact to round-off).
- Normalisation: ∫ over one period |ψ|² dz = 1 (docs/models/multigap_lifshitz.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq

from .._quadrature import gauss_legendre

__all__ = [
    "HBAR2_2ME_EV_NM2",
    "BandStructure",
    "KPGeometry",
    "MAX_BARRIER_GROWTH",
    "band_edges",
    "build_band_structure",
    "band_energies",
    "bloch_wavefunction",
    "calibrated_bands",
    "densities_on_nodes",
    "dispersion_D",
    "gauss_legendre",
    "half_period_nodes",
    "plane_wave_energies",
]

#: ħ²/(2 m_e) in eV nm² (CODATA 2018: 3.80998212 eV Å²).
HBAR2_2ME_EV_NM2 = 0.0380998212

#: Scan step (eV) when bracketing zeros of the half-cell matrix elements. The zeros of one
#: element are half-cell Sturm–Liouville eigenvalues, spaced by ≳ 0.2 eV for the geometries
#: allowed by the kernel (cell ≤ 10 nm); an ordering check catches a missed zero.
_SCAN_STEP_EV = 2e-3


@dataclass(frozen=True, slots=True)
class KPGeometry:
    """Kronig-Penney cell: well width ``L`` (nm), barrier width ``W`` (nm), barrier
    height ``V_b`` (eV) and ``c_z`` = ħ²/(2 m_z) (eV nm²)."""

    L: float
    W: float
    V_b: float
    c_z: float = HBAR2_2ME_EV_NM2

    @property
    def d(self) -> float:
        return self.L + self.W


def _cs(s: np.ndarray, x: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """C(x) = cos(√s x) and S(x) = sin(√s x)/√s, continued to s ≤ 0 (cosh, sinh)."""
    s = np.asarray(s, dtype=float)
    x = np.asarray(x, dtype=float)
    q = np.sqrt(np.abs(s))
    pos = s > 0
    qx = q * x
    c = np.where(pos, np.cos(qx), np.cosh(qx))
    with np.errstate(invalid="ignore", divide="ignore"):
        sn = np.where(pos, np.sin(qx), np.sinh(qx)) / q
    # √s x → 0: S → x (first term of the series; the next is −s x³/6, negligible there).
    sn = np.where(q * np.abs(x) < 1e-8, x * (1.0 - s * x * x / 6.0), sn)
    return c, sn


def _half_cell(geo: KPGeometry, E: np.ndarray) -> tuple[np.ndarray, ...]:
    """Elements (H11, H12, H21, H22) of H = T_b(W/2) T_w(L/2) at energies E."""
    E = np.asarray(E, dtype=float)
    sw = E / geo.c_z
    sb = (E - geo.V_b) / geo.c_z
    cw, snw = _cs(sw, 0.5 * geo.L)
    cb, snb = _cs(sb, 0.5 * geo.W)
    h11 = cb * cw - snb * sw * snw
    h12 = cb * snw + snb * cw
    h21 = -sb * snb * cw - cb * sw * snw
    h22 = -sb * snb * snw + cb * cw
    return h11, h12, h21, h22


def dispersion_D(geo: KPGeometry, E: np.ndarray) -> np.ndarray:
    """D(E) = ½ tr M(E); allowed energies have |D| ≤ 1 and D = cos(k d)."""
    h11, h12, h21, h22 = _half_cell(geo, E)
    return h11 * h22 + h12 * h21


def _zeros(f, lo: float, hi: float, count: int, geo: KPGeometry) -> list[float]:
    """The first ``count`` zeros of f on [lo, ∞), scanning upward from ``lo``."""
    found: list[float] = []
    start = lo
    span = 8.0  # eV per scan chunk (4000 points)
    while len(found) < count:
        grid = np.arange(start, start + span + _SCAN_STEP_EV / 2, _SCAN_STEP_EV)
        vals = f(grid)
        exact = np.flatnonzero(vals == 0.0)
        change = np.flatnonzero(np.sign(vals[:-1]) * np.sign(vals[1:]) < 0)
        roots = [float(grid[i]) for i in exact]
        for i in change:
            roots.append(brentq(lambda e: float(f(np.array(e))), grid[i], grid[i + 1], xtol=1e-15, rtol=1e-15, maxiter=200))
        found.extend(sorted(r for r in roots if r >= start))
        start = float(grid[-1])
        if start > hi:
            raise RuntimeError(f"Kronig-Penney: fewer than {count} band edges below {hi:g} eV")
    return sorted(found)[:count]


def band_edges(geo: KPGeometry, n_bands: int) -> tuple[np.ndarray, np.ndarray]:
    """Energies at k = 0 and at k = π/d of bands 1..n_bands (eV), each of shape (n_bands,).

    Band n spans the interval between ``e0[n-1]`` and ``epi[n-1]`` (bottom at k = 0 for odd
    n, at k = π/d for even n).
    """
    lo = -0.05  # just below 0 so that the V_b = 0 zero of H21 at E = 0 is bracketed
    hi = 50.0 * (geo.V_b + geo.c_z * ((n_bands + 1) * math.pi / geo.d) ** 2) + 10.0
    z11 = _zeros(lambda e: _half_cell(geo, e)[0], lo, hi, n_bands, geo)
    z12 = _zeros(lambda e: _half_cell(geo, e)[1], lo, hi, n_bands, geo)
    z21 = _zeros(lambda e: _half_cell(geo, e)[2], lo, hi, n_bands, geo)
    z22 = _zeros(lambda e: _half_cell(geo, e)[3], lo, hi, n_bands, geo)
    e0 = np.sort(np.array(z12 + z21))[:n_bands]
    epi = np.sort(np.array(z11 + z22))[:n_bands]
    # KP ordering a1 < b1 <= b2 < a2 <= a3 < b3 ... (a: k = 0, b: k = π/d); a violation
    # means a zero was missed by the scan.
    for n in range(n_bands):
        lower, upper = (e0[n], epi[n]) if n % 2 == 0 else (epi[n], e0[n])
        if lower > upper + 1e-12 * abs(upper):  # equal within round-off: flat band (V_b → ∞)
            raise RuntimeError(f"Kronig-Penney: band {n + 1} edges out of order ({lower}, {upper})")
        if n + 1 < n_bands:
            nxt = e0[n + 1] if n % 2 == 1 else epi[n + 1]
            if nxt < upper - 1e-12:
                raise RuntimeError(f"Kronig-Penney: bands {n + 1} and {n + 2} overlap")
    return e0, epi


def band_energies(geo: KPGeometry, e0: np.ndarray, epi: np.ndarray, n: int, k: np.ndarray) -> np.ndarray:
    """E_n(k) (eV) of band ``n`` (1-based) at wavevectors ``k`` (1/nm), by bisection.

    ``e0``, ``epi`` are the band edges from :func:`band_edges`. Uses D(E) = cos(k d) and the
    monotonicity of D inside a band: 14 halvings, then bracketed secant steps to round-off.
    """
    k = np.asarray(k, dtype=float)
    target = np.cos(k * geo.d)
    a, b = float(e0[n - 1]), float(epi[n - 1])  # D(a) = +1, D(b) = −1
    lo = np.full(k.shape, a)
    hi = np.full(k.shape, b)
    for _ in range(14):
        mid = 0.5 * (lo + hi)
        above = dispersion_D(geo, mid) > target  # still on the D = +1 side
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    # Then bracketed secant steps (Illinois variant): D is analytic and monotonic here.
    f_lo = dispersion_D(geo, lo) - target
    f_hi = dispersion_D(geo, hi) - target
    kept = np.zeros(k.shape)  # +1: lo was replaced last time, −1: hi was (lo is the D = +1 end)
    # Best point by the true residual (Illinois halving alters the stored end values, and a
    # root at a band edge can make an end's residual carry the wrong sign by round-off).
    best = np.where(np.abs(f_lo) <= np.abs(f_hi), lo, hi)
    best_f = np.minimum(np.abs(f_lo), np.abs(f_hi))
    for _ in range(60):
        denom = f_lo - f_hi
        safe = denom != 0.0
        x = np.where(safe, (hi * f_lo - lo * f_hi) / np.where(safe, denom, 1.0), 0.5 * (lo + hi))
        x = np.clip(x, np.minimum(lo, hi), np.maximum(lo, hi))
        fx = dispersion_D(geo, x) - target
        better = np.abs(fx) < best_f
        best, best_f = np.where(better, x, best), np.where(better, np.abs(fx), best_f)
        move_lo = np.sign(fx) == np.sign(f_lo)
        f_hi = np.where(move_lo & (kept == 1), 0.5 * f_hi, f_hi)
        f_lo = np.where(~move_lo & (kept == -1), 0.5 * f_lo, f_lo)
        lo, f_lo = np.where(move_lo, x, lo), np.where(move_lo, fx, f_lo)
        hi, f_hi = np.where(move_lo, hi, x), np.where(move_lo, f_hi, fx)
        kept = np.where(move_lo, 1, -1)
        # Stop once no residual improves any more (round-off floor of D reached).
        if not np.any(better) or np.all(np.abs(hi - lo) <= 2e-16 * np.abs(hi)):
            break
    return best


def _cell_matrix(geo: KPGeometry, E: np.ndarray) -> tuple[np.ndarray, ...]:
    """Elements of M = T_w(L/2) T_b(W) T_w(L/2) (well centre → next well centre)."""
    sw = E / geo.c_z
    sb = (E - geo.V_b) / geo.c_z
    cw, snw = _cs(sw, 0.5 * geo.L)
    cb, snb = _cs(sb, geo.W)
    # A = T_b(W) T_w(L/2)
    a11 = cb * cw - snb * sw * snw
    a12 = cb * snw + snb * cw
    a21 = -sb * snb * cw - cb * sw * snw
    a22 = -sb * snb * snw + cb * cw
    # M = T_w(L/2) A
    m11 = cw * a11 + snw * a21
    m12 = cw * a12 + snw * a22
    m21 = -sw * snw * a11 + cw * a21
    m22 = -sw * snw * a12 + cw * a22
    return m11, m12, m21, m22


def _bloch_vector(geo: KPGeometry, E: np.ndarray, sign: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ψ, ψ') at the well centre and the Bloch factor λ = e^{ikd} for states at energy E.

    ``sign`` = +1 picks Im λ ≥ 0 (k ∈ [0, π/d]), −1 the time-reversed state.
    """
    m11, m12, m21, m22 = _cell_matrix(geo, E)
    half_tr = 0.5 * (m11 + m22)
    lam = half_tr + 1j * sign * np.sqrt(np.clip(1.0 - half_tr * half_tr, 0.0, None))
    v1 = np.stack([m12 + 0j, lam - m11])
    v2 = np.stack([lam - m22, m21 + 0j])
    n1 = np.abs(v1[0]) ** 2 + np.abs(v1[1]) ** 2
    n2 = np.abs(v2[0]) ** 2 + np.abs(v2[1]) ** 2
    v = np.where(n1 >= n2, v1, v2)
    v = v / np.sqrt(np.maximum(n1, n2))
    return v[0], v[1], lam


def _psi_in_cell(geo: KPGeometry, E: np.ndarray, p0: np.ndarray, dp0: np.ndarray, r: np.ndarray) -> np.ndarray:
    """ψ(r) for −d/2 ≤ r ≤ d/2 from (ψ, ψ')(0); E, p0, dp0 broadcast against r."""
    sw = E / geo.c_z
    sb = (E - geo.V_b) / geo.c_z
    half = 0.5 * geo.L
    inside = np.abs(r) <= half
    cw, snw = _cs(sw, np.where(inside, r, 0.0))
    psi_well = cw * p0 + snw * dp0
    edge = np.where(r >= 0, half, -half)
    ce, se = _cs(sw, edge)
    pe = ce * p0 + se * dp0
    dpe = -sw * se * p0 + ce * dp0
    cb, snb = _cs(sb, np.where(inside, 0.0, r - edge))
    psi_bar = cb * pe + snb * dpe
    return np.where(inside, psi_well, psi_bar)


def bloch_wavefunction(geo: KPGeometry, E: float, k_sign: int, z: np.ndarray) -> np.ndarray:
    """Complex Bloch function ψ(z) at energy ``E`` (an eigenvalue), any real z.

    ``k_sign`` = +1 for k ∈ [0, π/d], −1 for −k. Normalised to ∫ over one period |ψ|² = 1
    (computed with the same Gauss–Legendre rule as :func:`densities_on_nodes`).
    """
    E_arr = np.asarray(E, dtype=float)
    p0, dp0, lam = _bloch_vector(geo, E_arr, np.asarray(float(k_sign)))
    z = np.asarray(z, dtype=float)
    m = np.floor(z / geo.d + 0.5)
    r = z - m * geo.d
    psi = _psi_in_cell(geo, E_arr, p0, dp0, r) * lam ** m
    nodes, weights = half_period_nodes(geo, 48)
    dens = np.abs(_psi_in_cell(geo, E_arr, p0, dp0, nodes)) ** 2
    norm = 2.0 * float(np.dot(weights, dens))
    return psi / math.sqrt(norm)


def half_period_nodes(geo: KPGeometry, n_per_piece: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [0, L/2] ∪ [L/2, d/2]."""
    x, w = gauss_legendre(n_per_piece)
    pieces = ((0.0, 0.5 * geo.L), (0.5 * geo.L, 0.5 * geo.d))
    nodes = np.concatenate([0.5 * (b - a) * x + 0.5 * (b + a) for a, b in pieces])
    weights = np.concatenate([0.5 * (b - a) * w for a, b in pieces])
    return nodes, weights


def densities_on_nodes(geo: KPGeometry, E: np.ndarray, nodes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """|ψ(z)|² at the half-period nodes for states of energies ``E`` (shape (len(E), len(nodes))).

    Normalised so that 2 Σ w |ψ|² = 1 (one full period, by the mirror symmetry about z = 0).
    """
    E = np.asarray(E, dtype=float)[:, None]
    p0, dp0, _ = _bloch_vector(geo, E, np.asarray(1.0))
    dens = np.abs(_psi_in_cell(geo, E, p0, dp0, nodes[None, :])) ** 2
    norm = 2.0 * dens @ weights
    return dens / norm[:, None]


def plane_wave_energies(geo: KPGeometry, k: float, n_pw: int) -> np.ndarray:
    """Sorted eigenvalues at wavevector k from a plane-wave basis of ``n_pw`` waves.

    Independent check of the transfer-matrix bands: H_GG' = c_z (k+G)² δ_GG' + V(G − G'),
    V(G) the Fourier coefficient of the barrier centred at z = d/2. Converges slowly
    (≈ 1/n_pw) because V is a step.
    """
    m = np.arange(n_pw) - n_pw // 2
    G = 2.0 * math.pi * m / geo.d
    dm = m[:, None] - m[None, :]
    dG = 2.0 * math.pi * dm / geo.d
    vg = geo.V_b * (geo.W / geo.d) * np.sinc(dG * geo.W / (2.0 * math.pi)) * np.where(dm % 2 == 0, 1.0, -1.0)
    h = np.diag(geo.c_z * (k + G) ** 2) + vg
    return np.linalg.eigvalsh(h)


@dataclass(frozen=True)
class BandStructure:
    """Subbands of one geometry (cached per geometry by :func:`calibrated_bands`).

    ``e0``/``epi``: band energies at k = 0 and π/d (eV), bands 1..n_bands+1 (the extra band
    tells how far the truncation is from μ). Band 3 (the Lifshitz band) spans
    ``[E_L, E_L + ΔE]`` with E_L = e0[2] (its bottom, at k = 0).

    ``z_nodes``/``z_weights``: Gauss–Legendre rule on the half period; ``z_basis``
    (n_z × r, orthonormal columns): a basis of the span of the overlap vectors
    a_nk(z_j) = √(2 d w_j) |ψ_nk(z_j)|² of bands 1..n_bands, so that
    d·I^{nn'}(k, k') = â_nk · â_n'k' with â = a @ z_basis.
    """

    geo: KPGeometry
    n_bands: int
    e0: np.ndarray
    epi: np.ndarray
    z_nodes: np.ndarray
    z_weights: np.ndarray
    z_basis: np.ndarray

    @property
    def E_L(self) -> float:
        return float(min(self.e0[2], self.epi[2]))

    @property
    def width3(self) -> float:
        return float(abs(self.epi[2] - self.e0[2]))

    def bottom(self, n: int) -> float:
        return float(min(self.e0[n - 1], self.epi[n - 1]))

    def top(self, n: int) -> float:
        return float(max(self.e0[n - 1], self.epi[n - 1]))

    def energies(self, n: int, k: np.ndarray) -> np.ndarray:
        return band_energies(self.geo, self.e0, self.epi, n, k)

    def overlap_vectors(self, E: np.ndarray) -> np.ndarray:
        """Reduced overlap vectors â (len(E) × r) of states with energies E."""
        scale = np.sqrt(2.0 * self.geo.d * self.z_weights)
        a = densities_on_nodes(self.geo, E, self.z_nodes, self.z_weights) * scale
        return np.einsum("kj,jr->kr", a, self.z_basis)


#: Gauss–Legendre nodes per piece of the half period: |ψ|² products of bands ≤ 5 are
#: integrated to ~1e-15 with 16 (1e-9 with 12), see the kernel tests.
Z_ORDER = 16
#: Relative singular-value cut of the z basis.
_BASIS_RTOL = 1e-14


#: Largest growth e^{κW/2} of the barrier solution allowed: shooting (ψ, ψ') from the well
#: centre into the barrier amplifies round-off by this factor (1e6: |ψ|² good to ~1e-10).
MAX_BARRIER_GROWTH = 1e6


def build_band_structure(geo: KPGeometry, n_bands: int) -> BandStructure:
    """Band edges and the compressed z basis of ``geo`` (deterministic).

    Raises ValueError for a barrier so opaque (e^{κW/2} > ``MAX_BARRIER_GROWTH`` for the
    lowest band) that the transfer-matrix wavefunctions would lose their accuracy.
    """
    e0, epi = band_edges(geo, n_bands + 1)
    lowest = float(min(e0[0], epi[0]))
    if lowest < geo.V_b:
        growth = 0.5 * geo.W * math.sqrt((geo.V_b - lowest) / geo.c_z)
        if growth > math.log(MAX_BARRIER_GROWTH):
            raise ValueError(
                f"barrier too opaque for the transfer-matrix wavefunctions: e^(κW/2) = e^{growth:.1f} "
                f"> {MAX_BARRIER_GROWTH:g} (V_b = {geo.V_b:g} eV, W = {geo.W:g} nm)"
            )
    zn, zw = half_period_nodes(geo, Z_ORDER)
    scale = np.sqrt(2.0 * geo.d * zw)
    x, _ = gauss_legendre(128)  # interior k: no band touching at V_b = 0
    k = 0.5 * (math.pi / geo.d) * (x + 1.0)
    rows = []
    for n in range(1, n_bands + 1):
        E = band_energies(geo, e0, epi, n, k)
        rows.append(densities_on_nodes(geo, E, zn, zw) * scale)
    _, sv, vt = np.linalg.svd(np.concatenate(rows), full_matrices=False)
    rank = int(np.sum(sv > _BASIS_RTOL * sv[0]))
    return BandStructure(geo, n_bands, e0, epi, zn, zw, np.ascontiguousarray(vt[:rank].T))


def _width3(L: float, W: float, c_z: float, V_b: float) -> float:
    e0, epi = band_edges(KPGeometry(L, W, V_b, c_z), 3)
    return float(abs(epi[2] - e0[2]))


@lru_cache(maxsize=64)
def calibrated_bands(L: float, W: float, mass_z: float, delta_E: float, n_bands: int) -> BandStructure:
    """Band structure whose third subband has k_z width ``delta_E`` (eV); cached per geometry.

    V_b is the root of width₃(V_b) = ΔE (Brent, |ΔV_b| ≤ 1e-13 eV); width₃ decreases
    monotonically from its free-electron value 5 c_z π²/d² at V_b = 0. Deterministic: the
    same arguments always give the same numbers, cached or not.
    """
    c_z = HBAR2_2ME_EV_NM2 / mass_z
    d = L + W
    free = 5.0 * c_z * (math.pi / d) ** 2
    if not 0.0 < delta_E < free:
        raise ValueError(f"delta_E must lie in (0, {free:g}) eV for this geometry, got {delta_E:g}")
    hi = 1.0
    while _width3(L, W, c_z, hi) > delta_E:
        hi *= 2.0
        if hi > 1e4:
            raise ValueError(f"no barrier height up to 1e4 eV gives ΔE = {delta_E:g} eV")
    V_b = brentq(lambda v: _width3(L, W, c_z, v) - delta_E, 0.0, hi, xtol=1e-13, rtol=1e-15, maxiter=200)
    return build_band_structure(KPGeometry(L, W, V_b, c_z), n_bands)
