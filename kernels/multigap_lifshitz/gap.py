"""Multigap BCS equations of a superlattice of quantum wires (seed Eqs. 5–8).

Private helper of :mod:`multigap_lifshitz`. Pure numpy/scipy.

Equations (normalisation as in docs/models/multigap_lifshitz.md), energies in eV, lengths in nm
----------------------------------------------------------------------------------------------
    Δ_n(k) = Σ_n' ∫dk'/2π (g_nn'/N₀) [d·I^{nn'}(k, k')] χ_n'(k') Δ_n'(k'),
    χ_n(k) = ∫dk_x/2π θ(ω̃₀ − |ξ|) h(ξ),   ξ = ħ²k_x²/2m_x + E_n(k) − μ,
with h = tanh(ξ/2T)/(2ξ) (linearised seed Eq. 8) or 1/(2√(ξ² + Δ_n(k)²)) (T = 0, seed Eq. 6),
N₀ = m_x/(2πħ²) = 1/(4π c_x) (c_x = ħ²/2m_x) and I^{nn'} the pair-overlap integral (seed
Eq. 5) of wavefunctions normalised over one period d. For plane waves d·I = 1 and the
equation is BCS with λ = g.

Low-rank (z-space) form
-----------------------
With Gauss–Legendre nodes z_j (weights w_j) on the half period and
a_nk(z_j) = √(2 d w_j) |ψ_nk(z_j)|², d·I^{nn'}(k, k') = Σ_j a_nk(z_j) a_n'k'(z_j) exactly (to
round-off). The vectors a_nk of all kept bands span a space of small dimension r (≈ 13 for
the seed's geometry, found once per geometry by an SVD, ``BandStructure.z_basis``); â_nk
are their coordinates. Writing Δ_n(k) = â_nk · Ψ_n turns the gap equation into
    Ψ = Ĝ Q̂ Ψ,   Q_n = Σ_k W_k χ̃_n(k) â_nk â_nkᵀ,   (Ĝ Ψ)_n = Σ_n' g_nn' Ψ_n',
with χ̃ = χ/N₀ and W_k the k_z quadrature weights over the whole zone (Δ even in k). Q̂ is
positive semidefinite, so the spectrum is that of the symmetric Q̂^{1/2} Ĝ Q̂^{1/2} of size
n_bands · r, whatever the k_z resolution; Δ_n(k) is available at any k. (Small symmetric
eigenproblems also keep multithreaded BLAS out of the inner loop.)

Quadratures
-----------
- k_x: u = √c_x k_x removes the band-bottom 1/√ singularity of the 1-D density of states;
  then u = u_c + β sinh t centres a sinh map on the Fermi point u_c = √(−e) with the width
  β of the peak of h (T or Δ), which makes the log-like integrand smooth in t. Gauss–
  Legendre panels in t on each side of the peak, cut where tanh (or 1/E) saturates. Exact
  shell limits |ξ| ≤ ω̃₀. Relative accuracy ≲ 1e-9 against adaptive quadrature for T or Δ
  from 1e-8 to 1e-2 eV and every position of the band bottom (kernel tests).
- k_z: Gauss–Legendre panels on [0, π/d], split at the Fermi crossing k_F (and at the
  crossings of μ ± ω̃₀, where χ has square-root kinks) and graded geometrically toward
  k_F down to the k distance where |E − μ| equals the smallest pairing scale s_min, and
  toward a band edge lying near μ. This integrates the 1/√|k − k_F| behaviour of χ.
  With 12 nodes per panel T_c is converged to ≲ 1e-8 relative (η = 0 is the hardest
  case: band bottom at μ).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .bands import BandStructure, dispersion_D, gauss_legendre

__all__ = [
    "GapSolution",
    "Mesh",
    "Model",
    "TcResult",
    "build_mesh",
    "chi_tilde",
    "chis_on_mesh",
    "critical_temperature",
    "density_change",
    "dos_over_N0",
    "fermi_surface_gaps",
    "gaps_on_mesh",
    "kx_integral",
    "lambda_max",
    "pair_eigen",
    "solve_zero_temperature",
]

#: Geometric ratio of consecutive graded k_z panels (hp-refinement toward a singularity).
_GRADE = 0.2
#: Breaks of the sinh-mapped k_x variable t on each side of the peak.
_T_CUTS = (1.0, 2.5, 5.0, 8.5, 13.0)


# --------------------------------------------------------------------------- k_x integrals


def _h(kind: str, xi: np.ndarray, s: np.ndarray) -> np.ndarray:
    if kind == "tanh":  # tanh(ξ/2T)/(2ξ), → 1/(4T) at ξ = 0
        x = xi / (2.0 * s)
        with np.errstate(invalid="ignore", divide="ignore"):
            val = np.tanh(x) / (2.0 * xi)
        return np.where(np.abs(x) < 1e-6, (1.0 - x * x / 3.0) / (4.0 * s), val)
    if kind == "gap":  # 1/(2E)
        return 0.5 / np.sqrt(xi * xi + s * s)
    if kind == "density":  # (1 − ξ/E) − 2θ(−ξ): change of the spin-summed occupation
        return np.sign(xi) - xi / np.sqrt(xi * xi + s * s)
    raise ValueError(kind)


def kx_integral(kind: str, e: np.ndarray, s: np.ndarray, omega: float, order: int = 12) -> np.ndarray:
    """∫_0^∞ du θ(ω − |ξ|) h(ξ), ξ = u² + e, for each e (eV) and peak width s (eV).

    ``kind``: "tanh" (s = T), "gap" (s = Δ) or "density" (s = Δ). Multiply by 1/(π√c_x)
    to get ∫dk_x/2π. Vectorised over e and s (same shape).

    u = u_c + β sinh t around the Fermi point u_c = √max(−e, 0), β the width of the peak of
    h in u; Gauss–Legendre panels in t cut at |t| ∈ ``_T_CUTS`` (where tanh or 1/E
    saturates). Below u_c/2 the occupied side is integrated in u itself: there the sinh map
    would put the pole of 1/ξ at u = −u_c next to the panel end.
    """
    e = np.asarray(e, dtype=float)
    s = np.broadcast_to(np.asarray(s, dtype=float), e.shape)
    x, w = gauss_legendre(order)
    valid = e < omega
    u_lo = np.sqrt(np.maximum(-omega - e, 0.0))
    u_hi = np.sqrt(np.maximum(omega - e, 0.0))
    uc = np.sqrt(np.maximum(-e, 0.0))
    e_pos = np.maximum(e, 0.0)
    s_eff = np.maximum(s, 1e-300) + e_pos
    beta = s_eff / (np.sqrt(uc * uc + s_eff) + uc)
    u_split = np.maximum(u_lo, 0.5 * uc)
    t_lo = np.arcsinh((u_split - uc) / beta)
    t_hi = np.arcsinh((u_hi - uc) / beta)
    zero = np.zeros_like(t_lo)
    total = np.zeros(e.shape)

    def panel(a: np.ndarray, b: np.ndarray) -> None:
        nonlocal total
        half = 0.5 * (b - a)
        t = half[..., None] * x + (0.5 * (b + a))[..., None]
        delta = beta[..., None] * np.sinh(t)
        # ξ = u² + e written so that it vanishes exactly at the Fermi point u = u_c.
        xi = delta * (2.0 * uc[..., None] + delta) + e_pos[..., None]
        xi = np.clip(xi, -omega, omega)  # round-off at the shell edges
        jac = beta[..., None] * np.cosh(t)
        total = total + half * np.sum(w * jac * _h(kind, xi, s[..., None]), axis=-1)

    left = [t_lo] + [np.maximum(t_lo, -c) for c in _T_CUTS[::-1]] + [zero]
    right = [zero] + [np.minimum(t_hi, c) for c in _T_CUTS] + [t_hi]
    for cuts in (left, right):
        for a, b in zip(cuts[:-1], cuts[1:]):
            panel(a, b)
    # Far occupied side u_lo ≤ u ≤ u_c/2, plain Gauss–Legendre in u.
    half = 0.5 * (u_split - u_lo)
    u = half[..., None] * x + (0.5 * (u_split + u_lo))[..., None]
    xi = np.clip(u * u + e[..., None], -omega, omega)
    total = total + half * np.sum(w * _h(kind, xi, s[..., None]), axis=-1)
    return np.where(valid, total, 0.0)


# --------------------------------------------------------------------------- k_z mesh


@dataclass(frozen=True)
class Model:
    """One parameter point of the pairing problem (energies in eV).

    ``band_indices``: the subbands kept (1-based, default all of ``bands``); ``g`` is the
    coupling matrix between them, in that order.
    """

    bands: BandStructure
    g: np.ndarray  # (nb, nb) dimensionless couplings g_nn'
    omega: float  # cutoff ω̃₀ (eV)
    c_x: float  # ħ²/(2 m_x) (eV nm²)
    s_min: float  # smallest pairing scale resolved by the k_z grading (eV)
    band_indices: tuple[int, ...] | None = None
    kz_order: int = 12  # Gauss–Legendre nodes per k_z panel
    kx_order: int = 12  # Gauss–Legendre nodes per k_x panel (6 panels each side of the peak)

    @property
    def indices(self) -> tuple[int, ...]:
        if self.band_indices is None:
            return tuple(range(1, self.bands.n_bands + 1))
        return self.band_indices

    @property
    def n_bands(self) -> int:
        return len(self.indices)


@dataclass(frozen=True)
class Mesh:
    """k_z quadrature of every kept band at one chemical potential.

    Per band (lists in the order of ``Model.indices``): nodes ``k`` (1/nm) in [0, π/d],
    weights ``W`` including the even extension to the whole zone (Σ W f = ∫dk/2π f over
    the zone), energies ``E`` (eV) and reduced overlap vectors ``a`` (nodes × r).
    """

    mu: float
    k: list[np.ndarray]
    W: list[np.ndarray]
    E: list[np.ndarray]
    a: list[np.ndarray]

    @property
    def size(self) -> int:
        return int(sum(len(k) for k in self.k))


def _k_of_energy(bands: BandStructure, n: int, energy: float) -> float | None:
    """k ∈ [0, π/d] with E_n(k) = energy (exact inverse of D(E) = cos kd), or None."""
    if not bands.bottom(n) < energy < bands.top(n):
        return None
    D = float(dispersion_D(bands.geo, np.array(energy)))
    return math.acos(min(1.0, max(-1.0, D))) / bands.geo.d


def _graded(a: float, b: float, h: float) -> list[float]:
    """Panel ends from a toward b (either order): first width h, growing by 1/_GRADE."""
    length = abs(b - a)
    if not 0.0 < h < 0.5 * length:
        return [a, b]
    sign = 1.0 if b > a else -1.0
    edges = [a]
    width, pos = h, 0.0
    while pos + width < length * (1.0 - 0.5 * _GRADE):
        pos += width
        edges.append(a + sign * pos)
        width /= _GRADE
    edges.append(b)
    return edges


def _band_panels(bands: BandStructure, n: int, mu: float, special: list[tuple[float, float]], s_min: float) -> list[float]:
    """Panel ends of band n on [0, π/d]: split at k(E) for the special energies E."""
    kmax = math.pi / bands.geo.d
    points: dict[float, float] = {0.0: math.inf, kmax: math.inf}
    for energy, scale in special:
        kp = _k_of_energy(bands, n, energy)
        if kp is None:
            continue
        # Smallest panel: the k distance over which |E − energy| grows to `scale`.
        widths = []
        for sgn in (-1.0, 1.0):
            kq = _k_of_energy(bands, n, energy + sgn * scale)
            widths.append(abs(kq - kp) if kq is not None else kmax)
        points[kp] = min(points.get(kp, math.inf), min(widths))
    if not bands.bottom(n) < mu < bands.top(n):
        # μ outside the band: χ ∝ 1/√(E − μ) peaks at the nearer edge, width ∝ √|E_edge − μ|.
        for kp, edge in ((0.0, float(bands.e0[n - 1])), (kmax, float(bands.epi[n - 1]))):
            inward = 1.0 if edge == bands.bottom(n) else -1.0
            kq = _k_of_energy(bands, n, edge + inward * (abs(edge - mu) + s_min))
            if kq is not None:
                points[kp] = min(points[kp], abs(kq - kp))
    keys = sorted(points)
    edges: list[float] = [keys[0]]
    for left, right in zip(keys[:-1], keys[1:]):
        mid = 0.5 * (left + right)
        edges.extend(_graded(left, mid, points[left])[1:])
        edges.extend(_graded(right, mid, points[right])[::-1][1:])
    return edges


#: Band data on a set of k_z panels, keyed by (geometry, n_bands, band, panel ends, order),
#: least recently used evicted first. Bands that μ does not cross keep the same panels from
#: point to point, so their energies and wavefunctions are computed once per worker. The
#: values are pure functions of the key, so hits and misses give identical numbers. The
#: lock makes the bookkeeping safe for Dask worker threads.
_PANEL_CACHE: OrderedDict[tuple, tuple[np.ndarray, ...]] = OrderedDict()
_PANEL_CACHE_SIZE = 64
_PANEL_LOCK = threading.Lock()


def _panel_data(bands: BandStructure, n: int, edges: tuple[float, ...], order: int) -> tuple[np.ndarray, ...]:
    key = (bands.geo, bands.n_bands, n, edges, order)
    with _PANEL_LOCK:
        hit = _PANEL_CACHE.get(key)
        if hit is not None:
            _PANEL_CACHE.move_to_end(key)
            return hit
    x, w = gauss_legendre(order)
    e = np.array(edges)
    lo, hi = e[:-1], e[1:]
    half = 0.5 * (hi - lo)
    k = (half[:, None] * x + (0.5 * (hi + lo))[:, None]).ravel()
    W = (half[:, None] * w).ravel() / math.pi
    E = bands.energies(n, k)
    data = (k, W, E, bands.overlap_vectors(E))
    for arr in data:
        arr.flags.writeable = False
    with _PANEL_LOCK:
        _PANEL_CACHE[key] = data
        while len(_PANEL_CACHE) > _PANEL_CACHE_SIZE:
            _PANEL_CACHE.popitem(last=False)
    return data


def build_mesh(model: Model, mu: float, extra_energies: tuple[float, ...] = ()) -> Mesh:
    """k_z quadrature of all kept bands at chemical potential ``mu`` (eV).

    Splits at k(μ) (graded to ``model.s_min``), at k(μ ± ω̃₀) and at k(E) for each of
    ``extra_energies`` (square-root kinks: grading to 1e-6 ω̃₀), and grades toward a band
    edge near μ.
    """
    bands = model.bands
    kink = 1e-6 * model.omega
    special = [(mu, model.s_min), (mu + model.omega, kink), (mu - model.omega, kink)]
    special += [(e, kink) for e in extra_energies]
    ks, Ws, Es, As = [], [], [], []
    for n in model.indices:
        edges = tuple(_band_panels(bands, n, mu, special, model.s_min))
        k, W, E, a = _panel_data(bands, n, edges, model.kz_order)
        ks.append(k)
        Ws.append(W)
        Es.append(E)
        As.append(a)
    return Mesh(mu=mu, k=ks, W=Ws, E=Es, a=As)


# --------------------------------------------------------------------------- eigenproblem


def chi_tilde(model: Model, kind: str, e: np.ndarray, s: np.ndarray) -> np.ndarray:
    """χ/N₀ (nm): 4√c_x ∫du θ(ω̃₀ − |ξ|) h(ξ)."""
    return 4.0 * math.sqrt(model.c_x) * kx_integral(kind, e, s, model.omega, model.kx_order)


def chis_on_mesh(model: Model, mesh: Mesh, kind: str, widths: list[np.ndarray] | float) -> list[np.ndarray]:
    """χ/N₀ at every node of every band in one vectorised call (``widths``: T, or |Δ| per band)."""
    e = np.concatenate(mesh.E) - mesh.mu
    if isinstance(widths, float):
        s = np.full(e.shape, widths)
    else:
        s = np.abs(np.concatenate(widths))
    flat = chi_tilde(model, kind, e, s)
    return np.split(flat, np.cumsum([len(E) for E in mesh.E])[:-1])


def _sqrt_psd(Q: np.ndarray) -> np.ndarray:
    w, V = np.linalg.eigh(Q)
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


def pair_eigen(model: Model, mesh: Mesh, chis: list[np.ndarray], vectors: bool = False):
    """Largest eigenvalue of the pairing operator Ĝ Q̂ (and its z-space vector Ψ).

    Q̂ is positive semidefinite, so Ĝ Q̂ has the spectrum of the symmetric
    M = Q̂^{1/2} Ĝ Q̂^{1/2} (size n_bands · r); Ψ = Ĝ Q̂^{1/2} y for M y = λ y, signed so that
    the gaps are positive (Perron vector: the kernel is non-negative).
    """
    S = [_sqrt_psd(np.einsum("ki,k,kj->ij", a, W * c, a)) for a, W, c in zip(mesh.a, mesh.W, chis)]
    nb, r = model.n_bands, S[0].shape[0]
    M = np.empty((nb * r, nb * r))
    for i in range(nb):
        for j in range(nb):
            M[i * r : (i + 1) * r, j * r : (j + 1) * r] = model.g[i, j] * (S[i] @ S[j])
    vals, vecs = np.linalg.eigh(M)
    lam = float(vals[-1])
    if not vectors:
        return lam
    y = vecs[:, -1].reshape(nb, r)
    Psi = np.array([sum(model.g[i, j] * (S[j] @ y[j]) for j in range(nb)) for i in range(nb)])
    if sum(float(np.dot(W, a @ p)) for W, a, p in zip(mesh.W, mesh.a, Psi)) < 0.0:
        Psi = -Psi
    return lam, Psi


def gaps_on_mesh(mesh: Mesh, Psi: np.ndarray) -> list[np.ndarray]:
    """Δ_n(k) (eV) at the mesh nodes of every band from the z-space vector Ψ (nb × r)."""
    return [a @ p for a, p in zip(mesh.a, Psi)]


def lambda_max(model: Model, mesh: Mesh, T: float) -> float:
    """Largest eigenvalue of the linearised gap equation (seed Eq. 8) at temperature T (eV)."""
    return pair_eigen(model, mesh, chis_on_mesh(model, mesh, "tanh", float(T)))


@dataclass(frozen=True)
class TcResult:
    Tc: float  # eV; 0 below the floor
    evaluations: int
    Psi: np.ndarray | None  # z-space pairing eigenvector at T_c


def critical_temperature(
    model: Model, mesh: Mesh, T_floor: float, want_vector: bool = False, guess: float | None = None
) -> TcResult:
    """T_c (eV): largest eigenvalue of seed Eq. 8 equal to 1; Brent root search in ln T.

    The eigenvalue decreases monotonically with T (χ does, and the kernel is non-negative),
    so the root is unique. T_c = 0 is returned when the eigenvalue at ``T_floor`` is ≤ 1.
    ``guess``: a nearby T_c (e.g. of a neighbouring ω₀) to bracket from.
    """
    calls = 0

    def f(lnT: float) -> float:
        nonlocal calls
        calls += 1
        return lambda_max(model, mesh, math.exp(lnT)) - 1.0

    floor = math.log(T_floor)
    if guess is not None and guess > T_floor:
        lo, hi = math.log(guess) - 0.05, math.log(guess) + 0.05
        while lo > floor and f(lo) < 0.0:
            lo -= 0.5
        lo = max(lo, floor)
        while f(hi) > 0.0:
            hi += 0.5
    else:
        lo = floor
        if f(lo) <= 0.0:
            return TcResult(0.0, calls, None)
        hi = math.log(model.omega)
        while f(hi) > 0.0:
            lo, hi = hi, hi + math.log(4.0)
            if hi > math.log(100.0):
                raise RuntimeError("T_c above 100 eV: pairing matrix not bounded")
    if lo <= floor and f(floor) <= 0.0:
        return TcResult(0.0, calls, None)
    lnTc = brentq(f, lo, hi, xtol=1e-13, rtol=1e-15, maxiter=200)
    Tc = math.exp(lnTc)
    Psi = None
    if want_vector:
        _, Psi = pair_eigen(model, mesh, chis_on_mesh(model, mesh, "tanh", Tc), vectors=True)
    return TcResult(Tc, calls, Psi)


# --------------------------------------------------------------------------- T = 0


def _normal_occupation(model: Model, E: np.ndarray, mu: float) -> np.ndarray:
    """Spin-summed 2∫dk_x/2π θ(μ − ε) at each k_z (1/nm)."""
    return 2.0 * np.sqrt(np.maximum(mu - E, 0.0)) / (math.pi * math.sqrt(model.c_x))


def density_change(model: Model, mesh: Mesh, Psi: np.ndarray, mu0: float) -> float:
    """ρ(μ, Δ) − ρ_N(μ0) (1/nm²), spin-summed, T = 0 (seed Eq. 7), μ = mesh.mu.

    The normal parts at μ and μ0 are integrated on the same mesh (split at both Fermi
    crossings) so that their difference carries no quadrature offset.
    """
    E = np.concatenate(mesh.E)
    W = np.concatenate(mesh.W)
    # floored as in _gap_chis: a band without a gap has (ξ/|ξ|) = 0/0 at its Fermi node
    D = np.maximum(np.abs(np.concatenate(gaps_on_mesh(mesh, Psi))), model.s_min)
    normal = _normal_occupation(model, E, mesh.mu) - _normal_occupation(model, E, mu0)
    paired = kx_integral("density", E - mesh.mu, D, model.omega, model.kx_order)
    return float(np.dot(W, normal + paired / (math.pi * math.sqrt(model.c_x))))


def dos_over_N0(model: Model, mesh: Mesh) -> np.ndarray:
    """Normal-state density of states at μ of each band over N₀ = m_x/(2πħ²) (per spin)."""
    out = []
    for E, W in zip(mesh.E, mesh.W):
        occ = E < mesh.mu
        out.append(2.0 * math.sqrt(model.c_x) * float(np.sum(W[occ] / np.sqrt(mesh.mu - E[occ]))))
    return np.array(out)


@dataclass(frozen=True)
class GapSolution:
    Psi: np.ndarray  # z-space vector (nb × r) of the T = 0 gaps
    mu: float  # chemical potential in the superconducting state (eV)
    mesh: Mesh  # mesh at mu
    iterations: int
    residual: float  # relative change of Ψ in the last sweep
    converged: bool


def _gap_chis(model: Model, mesh: Mesh, Psi: np.ndarray) -> list[np.ndarray]:
    # |Δ| below s_min is not resolved by the k_z grading, and a band without any gap (one
    # decoupled by g_inter = 0) would make 1/(2E) = 1/(2|ξ|) infinite at a node on the Fermi
    # surface; its χ is the normal-state one cut off at s_min.
    widths = [np.maximum(np.abs(d), model.s_min) for d in gaps_on_mesh(mesh, Psi)]
    return chis_on_mesh(model, mesh, "gap", widths)


def _total_dos(model: Model, mesh: Mesh) -> float:
    """Spin-summed normal density of states at mesh.mu (1/(eV nm²))."""
    return 2.0 * float(np.sum(dos_over_N0(model, mesh))) / (4.0 * math.pi * model.c_x)


def solve_zero_temperature(
    model: Model,
    mu0: float,
    Psi0: np.ndarray,
    fixed_density: bool = True,
    tol: float = 1e-10,
    max_iter: int = 80,
    depth: int = 5,
) -> GapSolution:
    """T = 0 gaps from seed Eq. 6 jointly with the density equation (seed Eq. 7).

    ``Psi0``: a starting z-space vector (e.g. the T_c eigenvector scaled to gaps ≈ 1.76 T_c).
    Fixed point x = (Ψ, μ) ↦ G(x), Anderson-accelerated (type II, ``depth`` last steps):
    at Ψ the gap operator Ĝ Q̂₀(Δ(Ψ)) has largest eigenvalue λ and eigenvector v; then
    Ψ' = v ⟨v,Ψ⟩/⟨v,v⟩ · exp((λ − 1)/c) with c ≈ −dλ/d ln Δ = 1/ln(2ω̃₀/Δ) (the BCS value),
    and μ' = μ − [ρ(μ, Δ) − ρ_N(μ0)]/N(μ) (Newton with the normal density of states) unless
    ``fixed_density`` is False. The solution has λ = 1, Ψ' = Ψ, μ' = μ. Stops when the
    relative change of Ψ and |λ − 1| are < tol and |μ' − μ| < tol × (largest gap) (or its
    round-off, 8 ε |μ|).
    """
    extra = (mu0,)
    Psi = np.array(Psi0, dtype=float)
    shape = Psi.shape
    mu = mu0
    mesh = build_mesh(model, mu, extra)
    # μ − μ0 enters the mixing in units of the starting gap scale, fixed for the whole solve.
    unit = max(float(np.max(np.abs(np.concatenate(gaps_on_mesh(mesh, Psi))))), model.s_min)
    xs: list[np.ndarray] = []
    gs: list[np.ndarray] = []
    residual = math.inf
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        if mesh.mu != mu:
            mesh = build_mesh(model, mu, extra)
        gaps = np.concatenate(gaps_on_mesh(mesh, Psi))
        gap_scale = max(float(np.max(np.abs(gaps))), model.s_min)
        lam, v = pair_eigen(model, mesh, _gap_chis(model, mesh, Psi), vectors=True)
        c = 1.0 / math.log(max(2.0 * model.omega / gap_scale, math.e))
        new = v * (float(np.sum(v * Psi)) / float(np.sum(v * v))) * math.exp((lam - 1.0) / c)
        new_mu = mu
        if fixed_density:
            new_mu = mu - density_change(model, mesh, Psi, mu0) / _total_dos(model, mesh)
        residual = float(np.max(np.abs(new - Psi)) / np.max(np.abs(Psi)))
        # μ cannot be resolved below its round-off, which tiny gaps (T_c ~ mK) go under.
        mu_tol = max(tol * gap_scale, 8.0 * np.finfo(float).eps * abs(mu))
        if max(residual, abs(lam - 1.0)) < tol and abs(new_mu - mu) < mu_tol:
            Psi, mu = new, new_mu
            converged = True
            break
        # Anderson mixing on x = (Ψ, μ − μ0), both in units of the starting gap scale so
        # that they weigh alike in the least-squares step.
        x = np.append(Psi.ravel(), mu - mu0) / unit
        g = np.append(new.ravel(), new_mu - mu0) / unit
        xs.append(x)
        gs.append(g)
        if len(xs) > depth + 1:
            xs.pop(0)
            gs.pop(0)
        f = g - x
        nxt = g
        if len(xs) >= 2:
            F = np.array([gs[i + 1] - xs[i + 1] - (gs[i] - xs[i]) for i in range(len(xs) - 1)]).T
            Gd = np.array([gs[i + 1] - gs[i] for i in range(len(xs) - 1)]).T
            gamma, *_ = np.linalg.lstsq(F, f, rcond=1e-12)
            cand = g - Gd @ gamma
            # Reject an extrapolation that flips the sign of the gaps or moves far (restart).
            if np.all(np.isfinite(cand)) and float(np.dot(cand[:-1], g[:-1])) > 0.0:
                nxt = cand
            else:
                xs, gs = xs[-1:], gs[-1:]
        Psi = nxt[:-1].reshape(shape) * unit
        mu = mu0 + float(nxt[-1]) * unit
    if mesh.mu != mu:
        mesh = build_mesh(model, mu, extra)
    return GapSolution(Psi=Psi, mu=mu, mesh=mesh, iterations=it, residual=residual, converged=converged)


def fermi_surface_gaps(model: Model, mesh: Mesh, Psi: np.ndarray) -> np.ndarray:
    """Δ_n (eV) per band: the Fermi-surface average of Δ_n(k_z), weighted by the density of
    states along the Fermi line, ∝ 1/√(μ − E_n(k_z)); for a band that does not cross μ, Δ_n
    at its band edge nearest to μ."""
    out = []
    for n, E, W, a, p in zip(model.indices, mesh.E, mesh.W, mesh.a, Psi):
        occ = E < mesh.mu
        bands = model.bands
        if bands.bottom(n) < mesh.mu and np.any(occ):
            wt = W[occ] / np.sqrt(mesh.mu - E[occ])
            out.append(float(np.dot(wt, a[occ] @ p) / np.sum(wt)))
        else:
            edge = bands.bottom(n) if mesh.mu <= bands.bottom(n) else bands.top(n)
            ae = bands.overlap_vectors(np.array([edge]))
            if not np.all(np.isfinite(ae)):
                ae = a[[int(np.argmin(np.abs(E - edge)))]]
            out.append(float((ae @ p)[0]))
    return np.array(out)
