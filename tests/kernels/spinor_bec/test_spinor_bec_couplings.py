"""Validation of the ``spinor_bec_couplings`` kernel (Bighin et al. 2025, seed Eqs. 2, 3, 8, 9)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pairsweep.kernels import KernelInputError, Status, get_kernel

KERNEL = get_kernel("spinor_bec_couplings")


def _block(**kw: object) -> dict[str, np.ndarray]:
    arrays = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in kw.items()}
    n = max(a.size for a in arrays.values())
    params = {p.name: np.full(n, float(p.default)) for p in KERNEL.parameters}
    for k, a in arrays.items():
        params[k] = np.broadcast_to(a, (n,)).copy()
    return params


def test_closed_form_equals_quadrature_all_channels() -> None:
    # Seed Eq. 9 (ℓ = 0, 1) and physics.md's general-ℓ form vs the angular integral of
    # seed Eq. 8 with the static Eq. 6 built from the Bogoliubov vertices, both modes on.
    dg = np.array([1e-5, 1e-4, 1e-3, 1e-2, 0.1, 0.25, 0.39])
    params = _block(delta_g=dg, g_F=np.linspace(0.2, 3.0, dg.size), g_F_plus=0.7, g=0.2,
                    density_ratio=np.linspace(0.3, 4.0, dg.size), mass_ratio=np.linspace(0.5, 7.0, dg.size))
    out = KERNEL.solve_block(params)
    np.testing.assert_allclose(out["lambda_numeric"], out["lambda_closed"], rtol=1e-8, atol=0)
    assert np.all(out["status"] == Status.OK)
    assert np.all(out["lambda_closed"] < 0)  # both modes attract in every channel on the FS


def test_lambda_scales_as_inverse_sqrt_detuning() -> None:
    # Seed text after Eq. 9: λ_ℓ ≈ −α 2k_F ξ_s ∝ δg̃^(-1/2) near the spinodal (Fig. 2c).
    dg = np.logspace(-5, -4, 6)
    out = KERNEL.solve_block(_block(delta_g=dg, g_F=0.2))
    for j in range(3):
        slope = np.polyfit(np.log(dg), np.log(-out["lambda_numeric"][:, j]), 1)[0]
        # Corrections are O(ℓ/k_Fξ_s) with k_Fξ_s ≥ 125 on this window.
        assert abs(slope + 0.5) < 5e-3, (j, slope)
    # Prefactor: λ_ℓ/(−2α k_Fξ_s) → 1 (seed text), to O(ℓ/k_Fξ_s).
    ratio = out["lambda_closed"][0] / (-2.0 * out["alpha"][0] * out["kF_xi_s"][0])
    np.testing.assert_allclose(ratio, 1.0, atol=3.0 / out["kF_xi_s"][0])


def test_spin_sound_velocity_vanishes_as_sqrt_detuning() -> None:
    # Seed Eq. 3: c_s ∝ √δg near the spinodal; the density mode stays stiff.
    dg = np.logspace(-5, -2, 7)
    out = KERNEL.solve_block(_block(delta_g=dg))
    slope = np.polyfit(np.log(dg), np.log(out["c_s"]), 1)[0]
    assert abs(slope - 0.5) < 1e-6
    # The density mode stays stiff: m c_d² = n(2g − δg) changes by δg/2g ≤ 5 % here.
    assert np.ptp(out["c_d"]) / out["c_d"].max() < 0.03


@pytest.mark.parametrize("delta_g", [1e-4, 0.05, 0.15, 0.35])
def test_sound_velocities_match_seed_formula_below_eq2(delta_g: float) -> None:
    # Literal formula under seed Eq. 2 with n1 = n2, g11 = g22, in units ħ = k_F = 1, m_F = 1/2.
    g_t, dr, mr = 0.2, 1.7, 2.3
    out = KERNEL.solve_block(_block(delta_g=delta_g, g=g_t, density_ratio=dr, mass_ratio=mr))
    m = 0.5 * mr
    n = dr / (2 * math.pi)
    g11 = g_t / m
    g12 = (g_t - delta_g) / m
    root = math.sqrt(4 * n * n * g12 * g12)
    c_plus = math.sqrt((2 * g11 * n + root) / (2 * m)) / 2.0
    c_minus = math.sqrt((2 * g11 * n - root) / (2 * m)) / 2.0
    if g12 >= 0:  # repulsive g12: spin = "−" branch (the seed's labelling)
        expected_s, expected_d = c_minus, c_plus
    else:  # attractive g12: the out-of-phase (spin) mode is the upper branch
        expected_s, expected_d = c_plus, c_minus
    np.testing.assert_allclose(out["c_s"][0], expected_s, rtol=1e-12)
    np.testing.assert_allclose(out["c_d"][0], expected_d, rtol=1e-12)
    # ξ_s = ħ/2mc_s = ħ/√(4mδg n) (seed below Eq. 7), v_F = 2 in these units.
    np.testing.assert_allclose(out["kF_xi_s"][0], 1 / math.sqrt(4 * m * (delta_g / m) * n), rtol=1e-12)
    if g12 > 0:
        # Seed Eq. 3 is the δg → 0 asymptote: relative error O(δg/g).
        eq3 = math.sqrt(2 * g12 * n * n / (2 * g11 * n)) * math.sqrt(delta_g / m / m) / 2.0
        assert abs(eq3 / expected_s - 1) < delta_g / g_t


def test_contact_limit_far_from_spinodal() -> None:
    # k_F ξ_s → 0: the spin-mode interaction becomes the contact −g_F²/δg (seed, "resonance
    # form" below Eq. 7 at q ξ_s → 0), so λ_0 → −N₀ g_F²/δg = −g̃_F²/(π m̃ δg̃) with m̃ = m/m_F,
    # and λ_ℓ>0 vanish as (k_F ξ_s)^{2ℓ}. k_F ξ_s = √(π/(2 n/n_F δg̃)) ≈ 0.10 here.
    g_F, dg, mr = 1.5, 1.5, 1.0
    out = KERNEL.solve_block(_block(delta_g=dg, g=0.8, density_ratio=100.0, g_F=g_F, mass_ratio=mr))
    kappa = out["kF_xi_s"][0]
    assert kappa < 0.11
    contact = -(g_F**2) / (math.pi * mr * dg)
    np.testing.assert_allclose(out["lambda_numeric"][0, 0], contact, rtol=3 * kappa**2)
    assert abs(out["lambda_numeric"][0, 0] / contact - 1) > 0.5 * kappa**2  # the S = √(1+4κ²) correction is seen
    assert abs(out["lambda_numeric"][0, 1] / out["lambda_numeric"][0, 0]) < 1.5 * kappa**2
    assert abs(out["lambda_numeric"][0, 2] / out["lambda_numeric"][0, 0]) < 1.5 * kappa**4


def test_check_inputs_rejects_immiscible_bec() -> None:
    with pytest.raises(KernelInputError, match=r"^delta_g"):
        KERNEL.check_inputs({"delta_g": np.array([0.1, 0.25]), "g": np.array(0.1)})
    KERNEL.check_inputs({"delta_g": np.array([1e-5, 0.19]), "g": np.array(0.1)})


def test_block_composition_does_not_change_a_point() -> None:
    dg = np.array([3e-5, 2e-3, 0.07])
    together = KERNEL.solve_block(_block(delta_g=dg, g_F=1.3))
    alone = KERNEL.solve_block(_block(delta_g=dg[1:2], g_F=1.3))
    for key in ("lambda_closed", "lambda_numeric", "c_s", "kF_xi_s"):
        assert np.array_equal(together[key][1], alone[key][0])
