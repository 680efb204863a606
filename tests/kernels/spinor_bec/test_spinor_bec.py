"""Validation of the ``spinor_bec`` gap-equation kernel (Bighin et al. 2025, seed Eqs. 6, 8–10).

Reference numbers used below:
- 2π e^{−γ_E} = 3.5278: the BCS ratio 2Δ(0)/T_c of any weak-coupling s- or chiral gap.
- Seed text ("Exciton-electron systems"): Δ ≈ 0.07 ε_F and T_c ≈ 1.3 K at T_F ≈ 40 K
  (T_c/T_F ≈ 0.0325) for δg̃ = 1e-3, g̃_F = 2 (Fig. 3a).
- Seed Fig. 3b/3c: Δ_ℓ grow as δg̃ → 0, Δ_0 is the largest, T_c reaches a few % of T_F.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from pairsweep.kernels import KernelInputError, Status, get_kernel, loop_points
from pairsweep.kernels.spinor_bec import gap as gapmod
from pairsweep.kernels.spinor_bec.physics import N0, Model, interaction_moments, static_closed_form
from pairsweep.kernels.spinor_bec import solve_gap_point

KERNEL = get_kernel("spinor_bec")
DEFAULTS = {p.name: p.default for p in KERNEL.parameters}
BCS_RATIO = 2.0 * math.pi * math.exp(-np.euler_gamma)
REPO = Path(__file__).resolve().parents[3]


def point(**kw: object) -> dict:
    return solve_gap_point(**{**DEFAULTS, **kw})


@pytest.fixture(scope="module")
def strong() -> dict:
    """The seed's Fig. 3 point δg̃ = 1e-3, g̃_F = 2 at T = 0 (physics.md default ratios)."""
    return point(delta_g=1e-3, g_F=2.0, T=0.0)


def _model(**kw: float) -> Model:
    base = dict(delta_g=1e-3, g_F=2.0, g_F_plus=0.0, g=0.1, density_ratio=1.0, mass_ratio=1.0)
    return Model(**{**base, **kw})


def test_lambda_of_full_eq6_on_fermi_surface_is_eq9_and_scales_as_inverse_sqrt() -> None:
    # At k = k' = k_F the frequency transfer of seed Eq. 6 vanishes, so λ_ℓ (Eq. 8) must equal
    # the static closed forms (seed Eq. 9 for ℓ = 0, 1; physics.md for ℓ = 2).
    dg = np.geomspace(1e-5, 1e-4, 5)
    one = np.ones(1)
    lam = np.array([N0 * interaction_moments(_model(delta_g=d, g_F_plus=0.4), one, one)[0] for d in dg])
    closed = np.array([static_closed_form(_model(delta_g=d, g_F_plus=0.4)) for d in dg])
    np.testing.assert_allclose(lam, closed, rtol=1e-8, atol=0)
    for j in range(3):  # λ_ℓ ∝ δg̃^(-1/2) near the spinodal (seed text after Eq. 9, Fig. 2c)
        slope = np.polyfit(np.log(dg), np.log(-lam[:, j]), 1)[0]
        assert abs(slope + 0.5) < 5e-3, (j, slope)


def test_compiled_moments_equal_numpy_moments() -> None:
    # The gap solver's numba loop vs the vectorised numpy reference, across the switch
    # between partial fractions and the divided-difference quadrature (|Ω| ≈ mc²).
    from pairsweep.kernels.spinor_bec.gap import _moments

    model = _model(delta_g=1e-4, g_F_plus=0.5)
    mc2 = float(model.mc2_s)
    k = np.concatenate([np.full(7, 1.0), [0.3, 2.5, 1e-3, 7.0]])
    kp = np.sqrt(k**2 + np.concatenate([mc2 * np.array([0, 0.5, 0.99, 1.0, 1.01, 3.0, -2.0]), [0.4, -1.0, 0.2, 30.0]]))
    ref = interaction_moments(model, k, kp)
    # ℓ ≥ 1 at k = 10⁻³ k_F is ~1e-8 of the rest, formed with cancellations: absolute floor.
    np.testing.assert_allclose(_moments(model, k, kp, False, (0, 1, 2)), ref, rtol=1e-12, atol=1e-14 * np.abs(ref).max())


@pytest.mark.slow
def test_weak_coupling_gap_to_tc_ratio_is_bcs() -> None:
    # Far from the spinodal with a small coupling: |λ_0| ≈ 0.29, T_c,0 ≈ 8e-5 T_F.
    r = point(delta_g=0.19, g_F=1.0, T=0.0)
    assert r["status"] == Status.OK
    for ell in (0, 1):
        assert r["Tc"][ell] > 1e-6
        ratio = 2.0 * r["gap"][ell] / r["Tc"][ell]
        assert abs(ratio / BCS_RATIO - 1.0) < 0.01, (ell, ratio)


@pytest.mark.slow
def test_weak_coupling_exponent_is_two_over_lambda() -> None:
    # physics.md: N₀ counts both spins, Σ_k' is per spin, so T_c ∝ exp(−2/|λ_0|) (not −1/|λ|).
    a = point(delta_g=0.19, g_F=0.8, T=0.0)
    b = point(delta_g=0.19, g_F=0.9, T=0.0)
    slope = (math.log(b["Tc"][0]) - math.log(a["Tc"][0])) / (1 / abs(b["lambda_fs"][0]) - 1 / abs(a["lambda_fs"][0]))
    assert abs(slope + 2.0) < 0.1, slope


@pytest.mark.slow
def test_nonlinear_gap_closes_at_linearized_tc(strong: dict) -> None:
    # Δ_ℓ(T) from the nonlinear equation must vanish where the linearised one has T_c,ℓ.
    tc = strong["Tc"]
    above = point(delta_g=1e-3, g_F=2.0, T=float(1.002 * tc.max()))
    assert above["status"] == Status.OK and np.all(above["gap"] == 0.0)
    fractions = (0.98, 0.995)
    for ell in range(3):
        runs = [point(delta_g=1e-3, g_F=2.0, T=float(f * tc[ell])) for f in fractions]
        assert all(r["status"] == Status.OK and r["gap"][ell] > 0 for r in runs)
        temps = [f * tc[ell] for f in fractions]
        gap2 = [r["gap"][ell] ** 2 for r in runs]
        # Mean-field Δ² is linear in T just below T_c: extrapolate it to zero.
        t_star = temps[0] - gap2[0] * (temps[1] - temps[0]) / (gap2[1] - gap2[0])
        assert abs(t_star / tc[ell] - 1.0) < 0.01, (ell, t_star / tc[ell])


def test_refinement_change_is_below_reported_tolerance(strong: dict) -> None:
    assert strong["status"] == Status.OK
    assert np.all(strong["refine_diff_gap"] < strong["tolerance"])
    assert np.all(strong["refine_diff_tc"] < strong["tolerance"])


@pytest.mark.slow
def test_kernel_gap_agrees_with_an_independent_much_finer_grid(strong: dict) -> None:
    # Every knob finer than the kernel's own check grid: order 14, grading ratio 2, d_min/8,
    # tail from 6 k_F in 4 panels, finer sub-quadrature. Δ_0 must agree within the tolerance.
    model = _model()
    spec = gapmod.GridSpec(nodes_per_panel=14, ratio=2.0, d_min=float(strong["d_min"]) / 4, k1=6.0,
                           n_tail_panels=4, near_order=12, stop_fraction=0.005)
    disc = gapmod.build(model, spec)
    tc = gapmod._tc_near(disc, 0, float(strong["Tc"][0])).Tc
    guess = gapmod._bcs_guess(np.ones_like(disc.k), disc.k, tc, 0.0)
    gap = gapmod.solve_gap(disc, 0, 0.0, guess)
    assert gap.ok
    assert abs(gap.gap_fermi / strong["gap"][0] - 1) < strong["tolerance"]
    assert abs(tc / strong["Tc"][0] - 1) < strong["tolerance"]


@pytest.mark.slow
def test_momentum_integral_converges_without_cutoff_static_and_retarded() -> None:
    # physics.md says retardation cuts the k' integral off. Check: a hard cutoff K changes Δ_0
    # by ~K^-4 *with and without* retardation (the Bogoliubov-mediated V falls as 1/q²), so
    # the mapped tail (no cutoff) is the limit in both cases.
    model = _model()
    for static in (False, True):
        base = gapmod._main_spec(0.07 if not static else 0.75)
        full = gapmod.build(model, base, static)
        tc = gapmod._tc_near(full, 0, 0.07 if not static else 0.75).Tc
        ref = gapmod.solve_gap(full, 0, 0.0, gapmod._bcs_guess(np.ones_like(full.k), full.k, tc, 0.0))
        errs = []
        for K in (4.0, 8.0, 16.0):
            cut = gapmod.build(model, dataclasses.replace(base, k1=K, n_tail_panels=0), static)
            g = gapmod.solve_gap(cut, 0, 0.0, np.interp(cut.k, full.k, ref.delta))
            errs.append(abs(g.gap_fermi / ref.gap_fermi - 1))
        assert errs[-1] < 2e-6, errs
        for e1, e2 in zip(errs[:-1], errs[1:]):
            assert 10 < e1 / e2 < 25, errs  # 2^4 = 16 per doubling of K


@pytest.mark.slow
def test_paper_trends_fig3(strong: dict) -> None:
    dgs = [1e-5, 1e-4, 1e-2, 1e-1]
    res = {d: point(delta_g=d, g_F=2.0, T=0.0) for d in dgs}
    res[1e-3] = strong
    order = sorted(res)
    gaps = np.array([res[d]["gap"] for d in order])  # rows: increasing δg̃
    tcs = np.array([res[d]["Tc"] for d in order])
    assert all(res[d]["status"] == Status.OK for d in order)
    # Fig. 3b: every Δ_ℓ grows monotonically as δg̃ decreases...
    assert np.all(np.diff(gaps, axis=0) < 0)
    # ...and Δ_0 > Δ_1 > Δ_2 at every point (s-wave strongest, seed text).
    assert np.all(gaps[:, 0] > gaps[:, 1]) and np.all(gaps[:, 1] > gaps[:, 2])
    # Fig. 3c: T_c,0 reaches a few percent of T_F near the spinodal.
    assert 0.02 < tcs[0, 0] < 0.2
    # Retardation caps the resonance: while |λ_0| ∝ δg̃^-1/2 grows by √10 from 1e-4 to 1e-5,
    # Δ_0 grows by under 2 % (the resonant weight ∝ ξ_s × 2mc_s² ∝ √δg̃ vanishes).
    lam_ratio = res[1e-5]["lambda_fs"][0] / res[1e-4]["lambda_fs"][0]
    assert lam_ratio > 3.0
    assert 1.0 < res[1e-5]["gap"][0] / res[1e-4]["gap"][0] < 1.02


def test_seed_gap_of_007_needs_fewer_bosons_than_physics_md_defaults(strong: dict) -> None:
    # Seed: Δ ≈ 0.07 ε_F at δg̃ = 1e-3, g̃_F = 2. With n = n_F, m = m_F (physics.md defaults)
    # the full solution gives about twice that; n/n_F ≈ 0.71 brackets the seed's value.
    assert 0.12 < strong["gap"][0] < 0.16
    lo = point(delta_g=1e-3, g_F=2.0, T=0.0, density_ratio=0.65)
    hi = point(delta_g=1e-3, g_F=2.0, T=0.0, density_ratio=0.75)
    assert lo["gap"][0] < 0.07 < hi["gap"][0]
    # There T_c,0 is within 15 % of the seed's 1.3 K / 40 K.
    tc_mid = 0.5 * (lo["Tc"][0] + hi["Tc"][0])
    assert abs(tc_mid / 0.0325 - 1) < 0.15, tc_mid


@pytest.mark.slow
def test_retardation_lowers_tc(strong: dict) -> None:
    # Seed text after Eq. 6: retardation "tend[s] to lower T_c". Near the spinodal by an order
    # of magnitude: the static interaction keeps the ξ_s-enhanced forward peak at all energies.
    static = point(delta_g=1e-3, g_F=2.0, T=0.0, interaction="static")
    assert static["status"] == Status.OK
    assert np.all(static["Tc"] > 5 * strong["Tc"])


def test_zero_coupling_and_high_temperature_give_no_gap() -> None:
    r = point(delta_g=1e-2, g_F=0.0, T=0.0)
    assert r["status"] == Status.OK
    assert np.all(r["Tc"] == 0.0) and np.all(r["gap"] == 0.0) and np.all(r["lambda_fs"] == 0.0)
    hot = point(delta_g=1e-2, g_F=2.0, T=0.5)
    assert hot["status"] == Status.OK and np.all(hot["gap"] == 0.0) and np.all(hot["Tc"] < 0.5)


@pytest.fixture(scope="module")
def warm() -> dict:
    """δg̃ = 0.05, T = 0.01 T_F with the default μ = ε_F (T_c,2 < T < T_c,1: one channel off)."""
    return point(delta_g=0.05, T=0.01)


def test_default_fixed_mu_path_is_unchanged_by_the_number_option(warm: dict) -> None:
    # Recorded with kernel version 1 (before ``chemical_potential`` existed), float.hex():
    # the default path must not move. Bit-identical on the machine that recorded it; 1e-13
    # leaves room only for a different BLAS's last bits, far below the 1e-6 refinement tolerance.
    gap_v1 = ["0x1.864c43493ed00p-4", "0x1.9d92f7fcd3d04p-6", "0x0.0p+0"]
    tc_v1 = ["0x1.9ac47f2459e83p-5", "0x1.ef7fdf8455aaep-7", "0x1.b2d6eebb03bb7p-8"]
    np.testing.assert_allclose(warm["gap"], [float.fromhex(h) for h in gap_v1], rtol=1e-13, atol=0)
    np.testing.assert_allclose(warm["Tc"], [float.fromhex(h) for h in tc_v1], rtol=1e-13, atol=0)
    assert np.all(warm["mu"] == 1.0) and np.all(warm["refine_diff_mu"] == 0.0)


@pytest.mark.slow
def test_block_result_equals_single_points_bit_for_bit(warm: dict) -> None:
    # One block mixing both μ modes: each point must equal its own single-point solve.
    names = [p.name for p in KERNEL.parameters]
    params = {n: np.array([DEFAULTS[n]] * 2, dtype=object if n in ("interaction", "chemical_potential") else float) for n in names}
    params["delta_g"] = np.array([0.05, 0.05])
    params["T"] = np.array([0.01, 0.01])
    params["chemical_potential"] = np.array(["fixed", "number"], dtype=object)
    block = loop_points(KERNEL, params)
    number = point(delta_g=0.05, T=0.01, chemical_potential="number")
    for name in ("gap", "Tc", "mu", "lambda_fs", "refine_diff_gap", "refine_diff_mu"):
        assert np.array_equal(block[name][0], warm[name]), name
        assert np.array_equal(block[name][1], number[name]), name
    assert block["status"].dtype == np.uint8 and np.all(block["status"] == Status.OK)
    assert np.all(number["refine_diff_mu"] < number["tolerance"])


# ---------------------------------------------------------------- chemical_potential = "number"


@pytest.mark.slow
def test_mu_normal_is_the_2d_ideal_fermi_gas() -> None:
    # n = (m_F/π) T ln(1 + e^{μ/T}) = n_F ⇔ μ = T ln(e^{ε_F/T} − 1) (ε_F = 1).
    temps = np.array([0.05, 0.1, 0.3, 0.7, 1.0, 2.0])
    mu = np.array([gapmod.mu_normal(t) for t in temps])
    np.testing.assert_allclose(mu, temps * np.log(np.expm1(1.0 / temps)), rtol=0, atol=1e-12)
    np.testing.assert_allclose(temps * np.log1p(np.exp(mu / temps)), 1.0, rtol=0, atol=1e-12)
    # Independently, the number integral of the Fermi function at that μ (both spins): n/n_F = 1.
    from scipy.integrate import quad

    T = 0.3
    n = quad(lambda k: 2.0 * k / (math.exp(min((k * k - gapmod.mu_normal(T)) / T, 700.0)) + 1.0), 0.0, 20.0,
             points=[1.0], epsabs=1e-14, epsrel=1e-13, limit=200)[0]
    assert abs(n - 1.0) < 1e-10
    assert gapmod.mu_normal(1e-3) == 1.0 and gapmod.mu_normal(0.0) == 1.0  # e^{-1000} underflows
    # The kernel reports that μ(T) in every channel above T_c,ℓ.
    hot = point(delta_g=1e-2, g_F=2.0, T=0.5, chemical_potential="number")
    assert hot["status"] == Status.OK and np.all(hot["gap"] == 0.0) and np.all(hot["Tc"] < 0.5)
    np.testing.assert_allclose(hot["mu"], 0.5 * math.log(math.expm1(2.0)), rtol=0, atol=1e-10)


def test_number_integral_on_the_gap_grid_is_exact_for_a_constant_gap() -> None:
    # T = 0, constant Δ: 2π∫k dk/2π (1 − ξ/E) = (μ + √(μ² + Δ²))/2 · n_F (2-D, flat DOS).
    disc = gapmod.build(_model(delta_g=0.05), gapmod._main_spec(0.02))
    for delta, mu in ((0.05, 0.98), (0.3, 0.95), (1.0, 0.6)):
        n = gapmod.number_density(disc, np.full(disc.k.size, delta), mu, 0.0)
        assert abs(n - 0.5 * (mu + math.hypot(mu, delta))) < 1e-10, (delta, mu, n)
    # T > 0: against adaptive quadrature of the same integrand.
    from scipy.integrate import quad

    delta, mu, T = 0.1, 0.97, 0.05

    def occupation(k: float) -> float:
        xi = k * k - mu
        e = math.hypot(xi, delta)
        # 1 − ξ/E tanh = (1 − ξ/E) + ξ/E (1 − tanh), the first as Δ²/(E(E + ξ)) above k_μ.
        first = delta**2 / (e * (e + xi)) if xi > 0 else 1.0 - xi / e
        return k * (first + xi / e * 2.0 / (math.exp(min(e / T, 700.0)) + 1.0))

    edges = [0.0, math.sqrt(mu), math.sqrt(mu) + 0.5, 3.0, np.inf]
    ref = sum(quad(occupation, a, b, epsabs=1e-14, epsrel=1e-13, limit=200)[0] for a, b in zip(edges[:-1], edges[1:]))
    assert abs(gapmod.number_density(disc, np.full(disc.k.size, delta), mu, T) - ref) < 1e-10


@pytest.mark.slow
def test_number_mode_solution_satisfies_both_equations_independently() -> None:
    # The joint Newton's (Δ(k), μ) at the seed's Fig. 3 point: (a) the fixed-μ solver at that
    # μ, started from the BCS guess, finds the same Δ; (b) adaptive quadrature of a spline
    # through Δ(k) gives n = n_F.
    from scipy.integrate import quad
    from scipy.interpolate import CubicSpline

    disc = gapmod.build(_model(), gapmod._main_spec(0.02))
    for T in (0.0, 0.03):
        tc = gapmod.solve_tc(disc, 0, gapmod.TC_FLOOR, number=True)
        guess = gapmod._bcs_guess(tc.vector, disc.k, tc.Tc, T)
        joint = gapmod.solve_gap_number(disc, 0, T, guess, gapmod.mu_normal(T))
        assert joint.ok and joint.mu > 1.0  # Δ(k) is larger inside the Fermi sea: holes win
        fixed = gapmod.solve_gap(disc, 0, T, guess, mu=joint.mu)
        assert fixed.ok and abs(fixed.gap_fermi / joint.gap_fermi - 1) < 1e-10
        order = np.argsort(disc.k)
        spline = CubicSpline(disc.k[order], joint.delta[order])

        def occupation(k: float) -> float:
            xi = k * k - joint.mu
            d = float(spline(k))
            e = math.hypot(xi, d)
            first = d * d / (e * (e + xi)) if xi > 0 else 1.0 - xi / e  # 1 − ξ/E without cancellation
            return k * (first + (xi / e * 2.0 / (math.exp(min(e / T, 700.0)) + 1.0) if T > 0 else 0.0))

        kf = math.sqrt(joint.mu)
        edges = [0.0, kf - 0.2, kf, kf + 0.2, 3.0, float(disc.k.max())]
        n = sum(quad(occupation, a, b, epsabs=1e-13, epsrel=1e-12, limit=400)[0] for a, b in zip(edges[:-1], edges[1:]))
        # The spline's interpolation error limits this to ~3e-8 (3e-9 on the check grid);
        # μ − ε_F itself is 7.5e-3 here, and what lies beyond the last node is < 1e-12.
        assert abs(n - 1.0) < 1e-7, (T, n)


@pytest.mark.slow
def test_number_mode_weak_coupling_shifts_mu_and_gap_by_order_gap_squared() -> None:
    r_f = point(delta_g=0.19, g_F=1.0, T=0.0)
    r_n = point(delta_g=0.19, g_F=1.0, T=0.0, chemical_potential="number")
    assert r_n["status"] == Status.OK
    # T_c ~ 1e-4 T_F: μ(T_c) = ε_F + T ln(1 − e^{−1/T}) = ε_F exactly, so T_c is unchanged.
    assert np.array_equal(r_n["Tc"], r_f["Tc"])
    gap, dmu = r_n["gap"][:2], r_n["mu"][:2] - 1.0
    # μ − ε_F is of order Δ²: between ℓ = 0 and 1 Δ falls ~37-fold and μ − ε_F ~1400-fold.
    exponent = math.log(dmu[0] / dmu[1]) / math.log(gap[0] / gap[1])
    assert 1.8 < exponent < 2.2, exponent
    assert np.all(np.abs(dmu) < gap**2 * np.log(1.0 / gap)), dmu / gap**2
    # Weak coupling Δ = C(μ) exp(−2/|λ(μ)|) with λ(μ) = N₀V_ℓ(k_μ, k_μ) (seed Eq. 8 on the
    # shifted Fermi surface): δΔ/Δ = [−(2/λ²) dλ/dμ + d ln C/dμ] δμ, and |d ln C/dμ| ≤ 1/ε_F
    # (1/2μ for a 2-D contact interaction, ~0 for a boson-set cutoff). Explicit bound below.
    model = _model(delta_g=0.19, g_F=1.0)
    h = 1e-3
    lam = lambda mu: N0 * interaction_moments(model, np.full(1, math.sqrt(mu)), np.full(1, math.sqrt(mu)))[0][:2]  # noqa: E731
    dlam = (lam(1 + h) - lam(1 - h)) / (2 * h)
    predicted = -2.0 / lam(1.0) ** 2 * dlam * dmu
    shift = r_n["gap"][:2] / r_f["gap"][:2] - 1.0
    assert np.all(np.abs(shift - predicted) <= np.abs(dmu)), (shift / dmu, predicted / dmu)
    assert np.all(np.abs(shift) <= (2.0 / lam(1.0) ** 2 * np.abs(dlam) + 1.0) * np.abs(dmu))


def test_number_mode_gap_closes_at_the_tc_with_normal_state_mu() -> None:
    # Static interaction at δg̃ = 1e-3: T_c ≈ 0.75 T_F where μ(T_c) ≈ 0.77 ε_F; the T_c of
    # μ = ε_F differs by 1.6e-3 relative. Δ² of the joint (Δ, μ) solution just below the
    # number-mode T_c, extrapolated linearly, must vanish at it (to 1e-4).
    model = _model()
    disc = gapmod.build(model, gapmod._main_spec(0.5), static=True, ells=(0,))
    tc = gapmod.solve_tc(disc, 0, gapmod.TC_FLOOR, number=True)
    tc_fixed = gapmod.solve_tc(disc, 0, gapmod.TC_FLOOR)
    assert abs(tc.Tc / tc_fixed.Tc - 1) > 1e-3
    temps = [0.999 * tc.Tc, 0.9995 * tc.Tc]
    sols = [gapmod.solve_gap_number(disc, 0, t, gapmod._bcs_guess(tc.vector, disc.k, tc.Tc, t), gapmod.mu_normal(t)) for t in temps]
    assert all(s.ok for s in sols)
    g2 = [s.gap_fermi**2 for s in sols]
    t_star = temps[0] - g2[0] * (temps[1] - temps[0]) / (g2[1] - g2[0])
    assert abs(t_star / tc.Tc - 1) < 1e-4, t_star / tc.Tc
    # ...and μ there is the normal state's up to O(Δ²).
    for t, s in zip(temps, sols):
        assert abs(s.mu - gapmod.mu_normal(t)) < s.gap_fermi**2, (s.mu, gapmod.mu_normal(t))


def _bound_state_energy(model: Model) -> float:
    """E_b of two fermions bound by the static s-wave interaction (independent of the kernel's grid).

    (2ε_k + E_b)ψ = −∫d²k'/(2π)² V ψ; with the closed-form s-wave moment of the static
    V(q) = −4mnG²/(q² + 1/ξ_s²) on a Gauss–Legendre grid in ln k, symmetrised.
    """
    from scipy.optimize import brentq

    x, w = np.polynomial.legendre.leggauss(200)
    a, b = math.log(1e-6), math.log(1e4)
    k = np.exp(0.5 * (a + b) + 0.5 * (b - a) * x)
    wk = 0.5 * (b - a) * w * k
    m, n, G, mc2 = float(model.m), float(model.n), float(model.G_s), float(model.mc2_s)
    A = k[:, None] ** 2 + k[None, :] ** 2 + 4 * m * mc2
    V = -4 * m * n * G**2 / np.sqrt((A - 2 * np.outer(k, k)) * (A + 2 * np.outer(k, k)))

    def lam(log_eb: float) -> float:
        c = np.sqrt(wk * k / (2 * math.pi) / (2 * k * k + math.exp(log_eb)))
        return float(np.linalg.eigvalsh(-V * np.outer(c, c))[-1]) - 1.0

    return math.exp(brentq(lam, math.log(1e-6), 0.0, xtol=1e-13))


def test_number_mode_reaches_the_2d_contact_result_of_randeria_duan_shieh() -> None:
    # RDS (PRL 62, 981 (1989)), 2-D contact interaction at T = 0: μ = ε_F − E_b/2 and
    # Δ = √(2ε_F E_b), hence μ = ε_F − Δ²/4ε_F. The static mediated interaction is a
    # contact one when k_F ξ_s → 0 at fixed E_b. Inside the kernel's ranges that limit is out
    # of reach (k_F ξ_s ≥ 0.2 and α ≤ 1 give |λ_0| ≤ 4α(k_Fξ_s)², so the finite-range change of
    # the exponent, ~(2/|λ|)·2(k_Fξ_s)² ≥ 1/α, is never small), so the solver is run here
    # directly at k_F ξ_s = 0.05 (δg̃ = 628, α ≈ 39), with its momentum tail moved out to
    # 3/ξ_s to cover the interaction's range. Leading finite-range corrections: relative
    # κ² ln(1/κ²) to Δ/√(2E_b) (the s-wave moment varies by 2κ²k² across the Fermi sea, summed
    # logarithmically up to 1/ξ_s), and 2κ²[2 ln(ε_F/Δ) + ln(1/κ²)] to (ε_F − μ)/(Δ²/4) (Δ(k)
    # falls by 2κ² per ε_F: holes outweigh particles by the log-weighted slope).
    kappa = 0.05
    dg = 2 * math.pi / (4 * kappa**2)  # k_F ξ_s = 1/(2√(n δg̃)), n = n_F
    base = _model(delta_g=dg, g=dg, g_F=1.0)
    # λ(0) = N₀|V(q = 0)| = g̃_F²/(2π δg̃ (m/m_F)) set for E_b ≈ (1/ξ_s²) e^{−2/λ(0)} ≈ 0.01 ε_F.
    lam0 = 2.0 / math.log(1.0 / (kappa**2 * 0.01))
    model = dataclasses.replace(base, g_F=math.sqrt(lam0 * 2 * math.pi * dg))
    assert abs(float(model.kF_xi_s) - kappa) < 1e-12
    e_b = _bound_state_energy(model)
    assert 0.003 < e_b < 0.03
    spec = gapmod.GridSpec(nodes_per_panel=8, ratio=3.0, d_min=1e-3, k1=3.0 / kappa, n_tail_panels=3)
    disc = gapmod.build(model, spec, static=True, ells=(0,))
    tc = gapmod.solve_tc(disc, 0, 1e-4, number=True)
    sol = gapmod.solve_gap_number(disc, 0, 0.0, gapmod._bcs_guess(tc.vector, disc.k, tc.Tc, 0.0), 1.0)
    assert sol.ok
    gap, mu = sol.gap_fermi, sol.mu
    # Measured: −0.020, −0.041 and −0.078 against the bounds 0.030, 0.051 and 0.115
    # (at k_F ξ_s = 0.1 the first two are −0.063 and −0.13: they shrink roughly as κ²).
    log_k = math.log(1 / kappa**2)
    tol_gap = 2 * kappa**2 * log_k
    tol_mu = 2 * kappa**2 * (2 * math.log(1 / gap) + log_k)
    assert abs(gap / math.sqrt(2 * e_b) - 1) < tol_gap, gap / math.sqrt(2 * e_b)
    assert abs((1 - mu) / (gap**2 / 4) - 1) < tol_mu, (1 - mu) / (gap**2 / 4)
    # Both together: μ = ε_F − E_b/2.
    assert abs((1 - mu) / (e_b / 2) - 1) < (1 + tol_mu) * (1 + tol_gap) ** 2 - 1, (1 - mu) / (e_b / 2)


def test_inputs_outside_the_miscible_bec_are_rejected() -> None:
    with pytest.raises(KernelInputError, match=r"^delta_g"):
        KERNEL.check_inputs({"delta_g": np.array([0.05, 0.3]), "g": np.array(0.1)})
    assert KERNEL.parameter_map["T"].bounds == (0.0, 2.0)
    # α = g̃_F² (n/n_F)/(2π² m/m_F) ≤ 1: 4²·2/(2π²) = 1.62 is refused, the default 0.20 passes.
    with pytest.raises(KernelInputError, match=r"^g_F: α"):
        KERNEL.check_inputs({"delta_g": np.array([1e-3]), "g": np.array(0.1), "g_F": np.array([2.0, 4.0]),
                             "g_F_plus": np.array(0.0), "density_ratio": np.array(2.0), "mass_ratio": np.array(1.0)})
    KERNEL.check_inputs({"delta_g": np.array([1e-3]), "g": np.array(0.1), "g_F": np.array([2.0]),
                         "g_F_plus": np.array(0.0), "density_ratio": np.array(1.0), "mass_ratio": np.array(1.0)})


@pytest.mark.slow
def test_example_spec_runs_through_the_engine_with_a_monotone_trend(tmp_path, client) -> None:
    import xarray as xr

    from pairsweep.sweeps import Axis, load_spec, run_sweep

    spec = load_spec(REPO / "examples" / "spinor_bec_tc.toml")
    assert spec.kernel == "spinor_bec" and spec.fixed["T"] == 0.0
    axes = {a.name: a for a in spec.axis_list()}
    # Every sixth δg̃ of the example (1e-4, 3e-3, 1e-1) at its two strongest couplings: 6 points.
    small = [Axis("delta_g", axes["delta_g"].values[::6]), Axis("g_F", axes["g_F"].values[-2:])]
    sweep = dataclasses.replace(spec, store=tmp_path / "tc.zarr", axes=small, chunks={"delta_g": 3, "g_F": 1})
    report = run_sweep(sweep, client=client, progress=False)
    assert report.complete and report.ok == 6

    ds = xr.open_zarr(tmp_path / "tc.zarr")
    assert np.all(ds["status"].values == Status.OK)
    gap = ds["gap"].transpose("delta_g", "g_F", "ell").values
    tc = ds["Tc"].transpose("delta_g", "g_F", "ell").values
    assert np.all(ds["delta_g"].values[1:] > ds["delta_g"].values[:-1])
    # Dome-free: Δ_ℓ and T_c,ℓ fall monotonically with δg̃ at both couplings, rise with g̃_F.
    assert np.all(np.diff(gap, axis=0) < 0) and np.all(np.diff(tc, axis=0) < 0)
    assert np.all(gap[:, 1] > gap[:, 0])
    direct = point(delta_g=float(ds["delta_g"][1]), g_F=float(ds["g_F"][1]), T=0.0)
    np.testing.assert_allclose(gap[1, 1], direct["gap"], rtol=1e-10)
