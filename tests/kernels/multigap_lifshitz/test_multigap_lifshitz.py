"""Validation of the ``multigap_lifshitz`` kernel (seed: Mazziotti et al., multigap_lifshitz).

Kronig-Penney limits, wavefunction properties, the BCS flat-DOS limit, Perron–Frobenius
monotonicity of the interband coupling, the T_c(η, g) dome and the gap-ratio / isotope
trends of the seed's Figs. 6–10, determinism and the engine path.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pytest
from scipy.integrate import quad

from pairsweep.kernels import KernelInputError, Status, get_kernel, loop_points
from pairsweep.kernels.multigap_lifshitz import gap as lg
from pairsweep.kernels.multigap_lifshitz.bands import (
    HBAR2_2ME_EV_NM2 as C,
    KPGeometry,
    band_edges,
    band_energies,
    bloch_wavefunction,
    build_band_structure,
    calibrated_bands,
    densities_on_nodes,
    gauss_legendre,
    half_period_nodes,
    plane_wave_energies,
)
from pairsweep.kernels.multigap_lifshitz.kernel import (
    K_B_MEV_PER_K,
    _isotope,
    check_inputs,
    coupling_matrix,
    multigap_lifshitz_kernel as KERNEL,
    point_model,
    solve_point,
    tc_kelvin,
)


def solve_block_of(params):
    return loop_points(KERNEL, params)


L, W = 0.85, 0.55
D = L + W
KMAX = math.pi / D
EULER_FACTOR = 2.0 * math.exp(np.euler_gamma) / math.pi  # 1.134: T_c = 1.134 ω e^{-1/g}


# ----------------------------------------------------------------------------- Kronig-Penney


def test_zero_barrier_gives_free_folded_bands():
    """V_b = 0: E_n(k) = ħ²(k + G_n)²/2m folded into the first zone, edges at c(mπ/d)²."""
    geo = KPGeometry(L, W, 0.0)
    e0, epi = band_edges(geo, 4)
    np.testing.assert_allclose(e0, C * (2 * math.pi / D) ** 2 * np.array([0, 1, 1, 4]), atol=1e-12)
    np.testing.assert_allclose(epi, C * (math.pi / D) ** 2 * np.array([1, 1, 9, 9]), rtol=1e-12)
    k = np.linspace(0.05, 0.95, 7) * KMAX
    G = 2 * math.pi / D
    free = [C * k**2, C * (G - k) ** 2, C * (G + k) ** 2, C * (2 * G - k) ** 2]
    for n in range(1, 5):
        np.testing.assert_allclose(band_energies(geo, e0, epi, n, k), free[n - 1], rtol=1e-12)


def test_small_barrier_opens_small_gaps():
    """V_b → 0: gaps at the zone boundary close (first-order gap |2 V_G|, V_G the Fourier
    component of the barrier), and the bands away from the gaps approach the free ones."""
    V = 1e-3
    geo = KPGeometry(L, W, V)
    e0, epi = band_edges(geo, 3)
    gap12 = e0[1] - epi[0] if e0[1] > epi[0] else epi[1] - epi[0]
    VG = V * (W / D) * abs(np.sinc(W / D))  # |V(G = 2π/d)|
    assert abs((epi[1] - epi[0]) - 2 * VG) < 1e-3 * VG  # degenerate perturbation theory at π/d
    assert gap12 > 0
    k = np.array([0.5 * KMAX])
    assert abs(band_energies(geo, e0, epi, 1, k)[0] - C * k[0] ** 2) < 2 * V


def test_infinite_barrier_gives_well_levels():
    """V_b → ∞: E_n → c(nπ/L)², flat bands; the finite-barrier correction is the
    penetration length, E_n ≈ c(nπ/(L + 2/κ_n))², exact to O(1/V_b)."""
    for V_b, tol in ((1e3, 1e-4), (1e4, 5e-6)):
        geo = KPGeometry(L, W, V_b)
        e0, epi = band_edges(geo, 4)
        np.testing.assert_allclose(epi, e0, rtol=1e-12)  # bandwidth ~ e^{-κW} → 0
        for n in range(1, 5):
            kappa = math.sqrt((V_b - e0[n - 1]) / C)
            assert abs(e0[n - 1] / (C * (n * math.pi / (L + 2 / kappa)) ** 2) - 1) < tol
            assert abs(e0[n - 1] / (C * (n * math.pi / L) ** 2) - 1) < 5 / (kappa * L)  # ≈ 4/κL


def test_transfer_matrix_agrees_with_plane_waves_and_orders_subbands():
    """Two independent methods: transfer-matrix E_n(k) vs plane-wave diagonalisation
    (801 waves; the step potential converges as 1/n_pw), for the calibrated case-A barrier."""
    bands = calibrated_bands(L, W, 1.0, 0.274, 3)
    for kk in (0.1 * KMAX, 0.5 * KMAX, 0.9 * KMAX):
        tm = np.array([bands.energies(n, np.array([kk]))[0] for n in range(1, 5)])
        pw = plane_wave_energies(bands.geo, kk, 801)[:4]
        np.testing.assert_allclose(tm, pw, atol=5e-8)
        assert np.all(np.diff(tm) > 0.3)  # four separated subbands in order
    # Band n: bottom at k = 0 for odd n, at k = π/d for even n; subbands do not overlap.
    for n in range(1, 4):
        assert bands.top(n) < bands.bottom(n + 1)
    assert bands.e0[0] < bands.epi[0] and bands.epi[1] < bands.e0[1] and bands.e0[2] < bands.epi[2]


def test_calibrated_barrier_gives_requested_width():
    """V_b root search: the third subband's k_z width equals ΔE (cases A and B); the
    plane-wave method at that V_b gives the same width (independent)."""
    for dE, V_expected in ((0.274, 2.7071951), (0.145, 3.5322351)):
        bands = calibrated_bands(L, W, 1.0, dE, 3)
        assert abs(bands.width3 - dE) < 1e-12
        assert abs(bands.geo.V_b - V_expected) < 1e-6  # the values quoted in the docstring
        pw = plane_wave_energies(bands.geo, KMAX, 801)[2] - plane_wave_energies(bands.geo, 0.0, 801)[2]
        assert abs(pw - dE) < 1e-7
        assert bands.E_L == bands.e0[2]


def _cell_rule(geo: KPGeometry, n: int = 40):
    """Gauss–Legendre rule on one full period, split where V jumps."""
    x, w = gauss_legendre(n)
    pieces = ((-geo.d / 2, -geo.L / 2), (-geo.L / 2, geo.L / 2), (geo.L / 2, geo.d / 2))
    z = np.concatenate([0.5 * (b - a) * x + 0.5 * (a + b) for a, b in pieces])
    wz = np.concatenate([0.5 * (b - a) * w for a, b in pieces])
    return z, wz


def test_wavefunctions_normalised_orthogonal_bloch_and_solve_schroedinger():
    bands = calibrated_bands(L, W, 1.0, 0.274, 3)
    geo = bands.geo
    z, wz = _cell_rule(geo)
    k = 0.3 * KMAX
    psis, energies = [], []
    for n in range(1, 5):
        E = float(bands.energies(n, np.array([k]))[0])
        psis.append(bloch_wavefunction(geo, E, +1, z))
        energies.append(E)
    overlap = np.array([[np.sum(wz * np.conj(a) * b) for b in psis] for a in psis])
    np.testing.assert_allclose(overlap, np.eye(4), atol=1e-12)
    rng = np.random.default_rng(1)
    zs = rng.uniform(-3 * D, 3 * D, 20)
    for E in energies:
        psi = bloch_wavefunction(geo, E, +1, zs)
        # Bloch theorem with the k the energy was solved for.
        np.testing.assert_allclose(bloch_wavefunction(geo, E, +1, zs + D), np.exp(1j * k * D) * psi, atol=1e-12)
        # −c ψ'' + V ψ = E ψ (fourth-order finite difference, away from the interfaces).
        r = (zs + D / 2) % D - D / 2
        inside = np.minimum(np.abs(np.abs(r) - L / 2), 1.0) > 0.02
        h = 2e-3
        f = [bloch_wavefunction(geo, E, +1, zs + j * h) for j in (-2, -1, 0, 1, 2)]
        d2 = (-f[0] + 16 * f[1] - 30 * f[2] + 16 * f[3] - f[4]) / (12 * h * h)
        V = np.where(np.abs(r) <= L / 2, 0.0, geo.V_b)
        lhs = -C * d2 + V * psi
        assert np.max(np.abs(lhs - E * psi)[inside]) < 1e-6 * E * np.max(np.abs(psi))
        # ψ and ψ' continuous across the interfaces.
        for edge in (L / 2, -L / 2):
            left, right = bloch_wavefunction(geo, E, +1, np.array([edge - 1e-9, edge + 1e-9]))
            assert abs(left - right) < 1e-6 * np.max(np.abs(psi))


def test_overlaps_plane_wave_and_infinite_well_limits():
    """d·I^{nn'} = 1 for plane waves (V_b = 0); for V_b → ∞ the states are sin(nπx/L):
    d·I^{nn} → 3d/2L and d·I^{nm} → d/L, with an O(1/κL) penetration correction."""
    free = build_band_structure(KPGeometry(L, W, 0.0), 3)
    k = np.array([0.2, 0.6, 0.9]) * KMAX
    a = np.concatenate([free.overlap_vectors(free.energies(n, k)) for n in (1, 2, 3)])
    np.testing.assert_allclose(a @ a.T, 1.0, atol=1e-12)
    errs = []
    for V_b in (15.0, 60.0):  # e^{κW/2} ≤ 1e6: the transfer-matrix shooting stays accurate
        deep = build_band_structure(KPGeometry(L, W, V_b), 3)
        a = np.concatenate([deep.overlap_vectors(deep.energies(n, k[:1])) for n in (1, 2, 3)])
        dI = a @ a.T
        target = np.full((3, 3), D / L)
        np.fill_diagonal(target, 1.5 * D / L)
        errs.append(np.max(np.abs(dI / target - 1)))
    assert errs[1] < 0.08 and 1.6 < errs[0] / errs[1] < 2.5  # ∝ 1/κ ∝ V_b^{-1/2}: ratio ≈ 2
    with pytest.raises(ValueError, match="opaque"):
        build_band_structure(KPGeometry(L, W, 1e3), 3)


def test_compressed_overlaps_equal_direct_quadrature():
    """The rank-r basis reproduces d·I = 2d Σ_j w_j |ψ|²|ψ'|² computed on a finer z rule."""
    bands = calibrated_bands(L, W, 1.0, 0.145, 3)
    geo = bands.geo
    zn, zw = half_period_nodes(geo, 30)
    rng = np.random.default_rng(2)
    k = rng.uniform(0, KMAX, 9)
    E = np.concatenate([bands.energies(n, k) for n in (1, 2, 3)])
    P = densities_on_nodes(geo, E, zn, zw)
    direct = 2 * D * (P * zw) @ P.T
    a = bands.overlap_vectors(E)
    np.testing.assert_allclose(a @ a.T, direct, rtol=1e-12)
    assert bands.z_basis.shape[1] <= 16  # low rank: the point of the compression


# ----------------------------------------------------------------------------- pairing numerics


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")  # QUADPACK at its round-off
@pytest.mark.parametrize("kind", ["tanh", "gap"])
def test_kx_integral_matches_adaptive_quadrature(kind):
    omega = 0.15
    for s in (1e-7, 1e-4, 1e-2):
        for e in (-2.0, -0.3, -0.149, -1e-3, -1e-6, 0.0, 1e-3, 0.1):
            val = float(lg.kx_integral(kind, np.array([e]), np.array([s]), omega)[0])
            f = lambda u: float(lg._h(kind, np.array(u * u + e), np.array(s)))  # noqa: E731
            lo, hi = math.sqrt(max(-omega - e, 0.0)), math.sqrt(omega - e)
            pts = [lo, hi]
            if e < 0 and lo < math.sqrt(-e) < hi:
                uc = math.sqrt(-e)
                pts += [p for d in (1e-9, 1e-7, 1e-5, 1e-3) for p in (uc - d, uc + d) if lo < p < hi] + [uc]
            pts = sorted(set(pts))
            ref = sum(quad(f, a, b, epsabs=0, epsrel=1e-13, limit=400)[0] for a, b in zip(pts[:-1], pts[1:]))
            assert abs(val / ref - 1) < 2e-8, (kind, s, e)


def _flat_model(n_bands: int, g: float, omega: float):
    bands = build_band_structure(KPGeometry(L, W, 0.0), n_bands)
    return lg.Model(bands, np.full((n_bands, n_bands), g), omega, C, 1e-10)


@pytest.mark.parametrize(("n_bands", "mu"), [(1, 0.1), (3, 0.45)])
def test_flat_dos_limit_is_bcs(n_bands, mu):
    """Plane waves (V_b = 0), constant coupling g, shell inside a 2-D parabolic band (flat
    DOS): T_c = 1.134 ω̃₀ e^{-1/g}, Δ = ω̃₀/sinh(1/g), 2Δ/T_c = 3.528, μ unshifted, α = 1/2.
    With three bands the shell at μ = 0.45 eV covers folded subbands 1 and 2."""
    g, omega = 0.2, 0.05
    model = _flat_model(n_bands, g, omega)
    mesh = lg.build_mesh(model, mu)
    np.testing.assert_allclose(np.sum(lg.dos_over_N0(model, mesh)), 1.0, rtol=2e-5)
    tc = lg.critical_temperature(model, mesh, 1e-9, want_vector=True)
    assert abs(tc.Tc / (EULER_FACTOR * omega * math.exp(-1 / g)) - 1) < 1e-6  # issue: within 1 %
    start = tc.Psi * (1.764 * tc.Tc / np.max(np.abs(np.concatenate(lg.gaps_on_mesh(mesh, tc.Psi)))))
    sol = lg.solve_zero_temperature(model, mu, start)
    assert sol.converged
    gaps = np.concatenate(lg.gaps_on_mesh(sol.mesh, sol.Psi))
    delta = omega / math.sinh(1 / g)
    np.testing.assert_allclose(gaps, delta, rtol=1e-6)
    ratio = 2 * lg.fermi_surface_gaps(model, sol.mesh, sol.Psi) / tc.Tc
    np.testing.assert_allclose(ratio, 2 / (math.sinh(1 / g) * EULER_FACTOR * math.exp(-1 / g)), rtol=1e-6)
    assert np.all(np.abs(ratio - 3.528) < 2e-3)  # weak-coupling BCS value
    assert abs(sol.mu - mu) < 1e-8 * delta  # particle-hole symmetric shell: no shift
    assert abs(_isotope(model, mu, tc.Tc, 1e-9, 0.01) - 0.5) < 1e-6


def test_decoupled_bands_and_interband_coupling_only_raises_tc():
    """g_inter = 0: the pair kernel is block diagonal, T_c = max over single-band T_c's.
    With g_inter > 0 the kernel gains non-negative entries, so (Perron–Frobenius) its
    largest eigenvalue, hence T_c, can only grow."""
    floor_K = 1e-10  # bands 1 and 2 alone (g = 0.1, quasi-1-D DOS) pair only below 1 μK
    for eta in (-0.5, 0.5):
        model, mu0 = point_model(eta=eta, g=0.4, case="A", g_inter=0.0, tc_floor_K=floor_K)
        floor = 2 * model.s_min
        mesh = lg.build_mesh(model, mu0)
        decoupled = lg.critical_temperature(model, mesh, floor).Tc
        singles = []
        for n in (1, 2, 3):
            m = lg.Model(model.bands, model.g[n - 1 : n, n - 1 : n], model.omega, model.c_x, model.s_min,
                         band_indices=(n,))
            singles.append(lg.critical_temperature(m, lg.build_mesh(m, mu0), floor).Tc)
        assert decoupled > 0 and abs(decoupled / max(singles) - 1) < 1e-10
        tcs = [tc_kelvin(eta=eta, g=0.4, case="A", g_inter=gi, tc_floor_K=floor_K) for gi in (0.0, 0.02, 0.05, 0.1)]
        assert np.all(np.diff(tcs) > 0)
        assert abs(tcs[0] * K_B_MEV_PER_K * 1e-3 / decoupled - 1) < 1e-10


def _brute_force_lambda(model: lg.Model, mu: float, T: float, panels: int = 60, n_u: int = 8001) -> float:
    """Largest eigenvalue of seed Eq. 8 by a route sharing only E_n(k) and |ψ|² with the
    kernel: uniform k_z panels, d·I from a finer z rule (no compression), χ by the
    trapezoidal rule on a dense k_x grid, power iteration on the full (3·480)² matrix."""
    geo = model.bands.geo
    x, w = gauss_legendre(8)
    edges = np.linspace(0.0, math.pi / geo.d, panels + 1)
    half = 0.5 * np.diff(edges)
    k = (half[:, None] * x + (0.5 * (edges[1:] + edges[:-1]))[:, None]).ravel()
    wk = (half[:, None] * w).ravel() / math.pi
    zn, zw = half_period_nodes(geo, 30)
    P, wchi = [], []
    for n in model.indices:
        E = model.bands.energies(n, k)
        P.append(densities_on_nodes(geo, E, zn, zw))
        chi = np.zeros(len(k))
        for i, e in enumerate(E - mu):
            lo, hi = math.sqrt(max(-model.omega - e, 0.0)), math.sqrt(max(model.omega - e, 0.0))
            if hi > lo:
                u = np.linspace(lo, hi, n_u)
                xi = u * u + e
                with np.errstate(invalid="ignore", divide="ignore"):
                    f = np.where(np.abs(xi) < 1e-12, 1 / (4 * T), np.tanh(xi / (2 * T)) / (2 * xi))
                chi[i] = np.trapezoid(f, u)
        wchi.append(wk * 4 * math.sqrt(model.c_x) * chi)
    P = np.concatenate(P)
    nk = len(k)
    K = np.repeat(np.repeat(model.g, nk, 0), nk, 1) * (2 * geo.d * (P * zw) @ P.T) * np.concatenate(wchi)
    v, lam = np.ones(len(K)), 0.0
    for _ in range(500):
        v2 = K @ v
        new = np.linalg.norm(v2) / np.linalg.norm(v)
        v = v2 / np.linalg.norm(v2)
        if abs(new - lam) < 1e-13 * new:
            break
        lam = new
    return new


def test_pairing_eigenvalue_agrees_with_brute_force():
    """Graded k_z panels + compressed overlaps + sinh-mapped k_x rule + reduced symmetric
    eigenproblem vs the brute-force route above. At η = 0.5 nothing is singular for the
    uniform grid; at η = 1 (μ at the top of subband 3, the van Hove point) the uniform grid
    converges only as O(h), and its error halves as the grid doubles."""
    model, mu0 = point_model(eta=0.5, g=0.4, case="A")
    val = lg.lambda_max(model, lg.build_mesh(model, mu0), 0.01)
    assert abs(val / _brute_force_lambda(model, mu0, 0.01) - 1) < 1e-8
    model, mu0 = point_model(eta=1.0, g=0.4, case="A")
    val = lg.lambda_max(model, lg.build_mesh(model, mu0), 0.02)
    coarse = abs(val / _brute_force_lambda(model, mu0, 0.02) - 1)
    fine = abs(val / _brute_force_lambda(model, mu0, 0.02, panels=120, n_u=16001) - 1)
    assert fine < 1e-5 and 1.5 < coarse / fine < 2.5


def test_zero_temperature_solution_satisfies_gap_and_density_equations():
    model, mu0 = point_model(eta=0.3, g=0.4, case="B")
    mesh = lg.build_mesh(model, mu0)
    tc = lg.critical_temperature(model, mesh, 1e-9, want_vector=True)
    start = tc.Psi * (1.764 * tc.Tc / np.max(np.abs(np.concatenate(lg.gaps_on_mesh(mesh, tc.Psi)))))
    sol = lg.solve_zero_temperature(model, mu0, start)
    assert sol.converged
    gaps = lg.gaps_on_mesh(sol.mesh, sol.Psi)
    lam, v = lg.pair_eigen(model, sol.mesh, lg.chis_on_mesh(model, sol.mesh, "gap", gaps), vectors=True)
    assert abs(lam - 1) < 1e-9
    # The solution is the eigenvector itself (Ψ = ĜQ̂₀Ψ), not only an eigenvalue-1 point.
    np.testing.assert_allclose(v * (np.sum(v * sol.Psi) / np.sum(v * v)), sol.Psi, rtol=0, atol=1e-8 * np.max(np.abs(sol.Psi)))
    dos = lg._total_dos(model, sol.mesh)
    scale = float(np.max(np.abs(np.concatenate(gaps))))
    assert abs(lg.density_change(model, sol.mesh, sol.Psi, mu0)) < 1e-9 * dos * scale
    # Without the density equation μ stays at μ0 and the gaps move (the shift matters here).
    free = lg.solve_zero_temperature(model, mu0, start, fixed_density=False)
    assert free.mu == mu0 and sol.mu != mu0
    assert abs(sol.mu - mu0) > 1e-3 * scale


def test_tc_converged_in_k_grids_at_the_band_edge():
    """η = 0 (band bottom at μ) is the hardest point for the k_z quadrature."""
    base = tc_kelvin(eta=0.0, g=0.4, case="A")
    for kw in ({"kz_order": 20}, {"kx_order": 20}, {"tc_floor_K": 1e-6}, {"n_bands": 4}):
        assert abs(tc_kelvin(eta=0.0, g=0.4, case="A", **kw) / base - 1) < 1e-7, kw


# ----------------------------------------------------------------------------- the dome


@lru_cache(maxsize=None)
def _tc(case: str, g: float, eta: float) -> float:
    return tc_kelvin(eta=eta, g=g, case=case)


ETAS = (-1.0, -0.75, -0.5, -0.35, -0.2, -0.1, 0.0, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0)


@pytest.mark.parametrize("case", ["A", "B"])
def test_dome_in_eta_with_fano_antiresonance(case):
    """g = 0.4: T_c(η) peaks inside 0 < η < 2, at η ≈ 1 (seed Fig. 10: top of the dome at
    (η, g) = (1, 0.4), the neck-disrupting Lifshitz transition) and drops on both sides;
    for −1 < η < 0 it has a minimum (the Fano antiresonance, seed Figs. 8–9)."""
    tc = np.array([_tc(case, 0.4, e) for e in ETAS])
    etas = np.array(ETAS)
    top = int(np.argmax(tc))
    assert 0.85 <= etas[top] <= 1.1
    assert tc[top] > 2 * tc[etas == 2.0][0] and tc[top] > 5 * tc[etas == 0.0][0]
    assert tc[top] > 150.0  # hundreds of kelvin (seed: 250 K for A, 330 K for B)
    left = etas <= 0.0
    low = int(np.argmin(tc[left]))
    assert 0 < low < int(np.sum(left)) - 1  # an interior minimum
    assert tc[left][0] > 1.2 * tc[left][low] and tc[left][-1] > 100 * tc[left][low]
    assert tc[left][low] < 0.01  # mK range below the band edge


@pytest.mark.parametrize("case", ["A", "B"])
def test_tc_rises_with_g_to_about_04_then_falls(case):
    """For η > 0 T_c grows with g up to ≈ 0.4 and falls toward g = 0.5, where ω̃₀ → 0
    (seed Fig. 8 text); for −1 < η < 0 it decreases with g (seed Fig. 9)."""
    gs = (0.1, 0.2, 0.3, 0.35, 0.4, 0.42, 0.45, 0.49)
    for eta in (0.5, 1.0):
        tc = np.array([_tc(case, g, eta) for g in gs])
        best = int(np.argmax(tc))
        assert gs[best] in (0.4, 0.42)
        assert np.all(np.diff(tc[: best + 1]) > 0) and np.all(np.diff(tc[best:]) < 0)
        assert tc[-1] < 0.8 * tc[best]
    below = np.array([_tc(case, g, -0.5) for g in gs])
    assert np.all(np.diff(below) < 0)


def test_gap_ratios_and_isotope_follow_seed_fig6_and_fig7():
    """Case B, g = 1/3 (seed Fig. 6 B): for 0.5 < η < 1 the second-band ratio 2Δ₂/T_c lies
    between 0 and 1 while 2Δ₃/T_c stays near the BCS value; the isotope coefficient has its
    minimum for 0.5 < η < 1 and is large (> 1/2) at the band edge. Seed Fig. 7: near the
    top of the dome Δ₃/Δ₂ ≈ 3.5–3.9 (B) and 2.6–2.9 (A, g = 1/4)."""
    pts = {eta: solve_point(eta=eta, g=1 / 3, case="B") for eta in (0.0, 0.35, 0.8, 1.3, 2.0)}
    assert all(p["status"] == Status.OK for p in pts.values())
    r = pts[0.8]["gap_ratio"]
    assert 0 < r[1] < 1 and 3.3 < r[2] < 4.2
    alpha = {eta: p["isotope_alpha"] for eta, p in pts.items()}
    assert min(alpha, key=alpha.get) == 0.8
    assert alpha[0.0] > 0.5 > alpha[0.8]
    top_b = pts[0.8]["gap_meV"]
    assert 3.5 < top_b[2] / top_b[1] < 4.1
    top_a = solve_point(eta=1.0, g=0.25, case="A")["gap_meV"]
    assert 2.6 < top_a[2] / top_a[1] < 2.9


# ----------------------------------------------------------------------------- kernel contract


def test_kernel_declaration_and_input_checks():
    assert get_kernel("multigap_lifshitz") is KERNEL
    assert KERNEL.coords_for({"n_bands": 3})["band"].tolist() == [1, 2, 3]
    with pytest.raises(KernelInputError, match="^n_bands"):
        KERNEL.coords_for({"eta": 0.5})
    ok = {"case": np.array(["A", "B"]), "delta_E_meV": np.array(274.0), "n_bands": np.array(3)}
    check_inputs(ok)
    check_inputs({**ok, "case": np.array(["B"]), "delta_E_meV": np.array(145.0)})  # B's own value
    check_inputs({"case": np.array(["custom"]), "delta_E_meV": np.array([100.0, 200.0])})
    with pytest.raises(KernelInputError, match="^delta_E_meV"):
        check_inputs({**ok, "delta_E_meV": np.array([200.0])})
    with pytest.raises(KernelInputError, match="^omega0_meV"):
        check_inputs({"case": np.array(["A", "custom"]), "omega0_meV": np.array(200.0)})
    with pytest.raises(KernelInputError, match="^n_bands"):
        check_inputs({"n_bands": np.array([3, 4])})
    with pytest.raises(KernelInputError, match="^delta_E_meV"):  # free width is 959 meV
        check_inputs({"case": np.array("custom"), "delta_E_meV": np.array(950.0)})
    G = coupling_matrix(4, 0.3, 0.1, 0.05)
    assert G[2, 2] == 0.3 and G[3, 3] == G[0, 0] == 0.1 and G[0, 3] == 0.05 and np.all(G == G.T)


def _block(**columns):
    n = len(next(iter(columns.values())))
    params = {p.name: np.full(n, p.default) if not isinstance(p.default, str) else np.array([p.default] * n)
              for p in KERNEL.parameters}
    for name, values in columns.items():
        params[name] = np.asarray(values)
    return params


def test_block_outputs_status_and_failure_message():
    out = solve_block_of(_block(eta=[-1.0, 1.0, 3.0], g=[0.4, 0.4, 0.0], case=["B", "A", "A"]))
    for o in KERNEL.outputs:
        assert out[o.name].dtype == np.dtype(o.dtype)
        assert out[o.name].shape == ((3, 3) if o.dims else (3,))
    assert out["status"].tolist() == [Status.OK, Status.OK, Status.FAILED]
    assert "n_bands" in out["messages"][2]  # η = 3, g = 0: subband 4 inside the shell
    assert out["Tc_K"][1] > 150 and out["Tc_K"][0] < 0.01
    np.testing.assert_allclose(out["Tc_meV"][:2], out["Tc_K"][:2] * K_B_MEV_PER_K, rtol=1e-14)
    assert np.all(np.isfinite(out["gap_ratio"][:2])) and np.isfinite(out["isotope_alpha"][1])
    np.testing.assert_allclose(out["fermi_energy_meV"][1, 2], 274.0, rtol=1e-12)  # η = 1: E_F3 = ΔE
    np.testing.assert_allclose(out["omega_tilde_meV"][:2], [225 * math.sqrt(0.2), 330 * math.sqrt(0.2)], rtol=1e-14)
    np.testing.assert_allclose(out["V_b_meV"][:2], [3532.2351, 2707.1951], atol=1e-3)
    # T_c below the floor is reported as 0 with NaN ratios (still an ok point).
    deep = solve_point(eta=-1.0, g=0.4, case="B", tc_floor_K=0.01)
    assert deep["status"] == Status.OK and deep["Tc_K"] == 0.0 and np.all(np.isnan(deep["gap_ratio"]))


@pytest.mark.slow
def test_results_do_not_depend_on_block_composition_or_cache_state():
    cols = {"eta": [0.0, 0.9, -0.4], "g": [0.35, 0.4, 0.3], "case": ["A", "B", "A"]}
    lg._PANEL_CACHE.clear()
    calibrated_bands.cache_clear()
    first = solve_block_of(_block(**cols))
    again = solve_block_of(_block(**{k: v[::-1] for k, v in cols.items()}))
    lg._PANEL_CACHE.clear()
    calibrated_bands.cache_clear()
    alone = solve_block_of(_block(**{k: v[1:2] for k, v in cols.items()}))
    for o in KERNEL.outputs:
        np.testing.assert_array_equal(first[o.name], again[o.name][::-1])
        np.testing.assert_array_equal(first[o.name][1:2], alone[o.name])


@pytest.mark.slow
def test_engine_stores_the_kernel_values(tmp_path, client):
    from pairsweep.sweeps import Sweep, open_result, run_sweep

    sweep = Sweep(
        kernel="multigap_lifshitz",
        store=tmp_path / "dome.zarr",
        axes={"eta": [0.5, 1.0], "case": ["A", "B"]},
        fixed={"g": 0.4},
        chunks={"eta": 1, "case": 2},
    )
    report = run_sweep(sweep, client=client, progress=False)
    assert report.complete and report.ok == 4
    ds = open_result(tmp_path / "dome.zarr")
    assert ds["gap_meV"].dims == ("eta", "case", "band")
    direct = solve_point(eta=1.0, g=0.4, case="B")
    assert float(ds["Tc_K"].sel(eta=1.0, case="B").values) == direct["Tc_K"]  # bit-identical
    np.testing.assert_array_equal(ds["gap_meV"].sel(eta=1.0, case="B").values, direct["gap_meV"])
    assert ds["Tc_K"].attrs["units"] == "K" and ds["gap_meV"].attrs["units"] == "meV"
