"""Tests of the MixD+V bilayer mean-field kernel (seed mixd_bilayer_borchia2025, App. B).

Independent references used here (none of them calls the kernel's numerics):
- ``_b9``: the variational energy seed B9 on all L^d components, with V_kk' = γ_{k−k'} as a
  full matrix (no separable basis), for finite-difference stationarity checks;
- ``_iterate``: plain damped iteration of B15/B17/B19 on all L^d components of Δ_k, started
  from a random Δ_k that is neither even nor x ↔ y symmetric.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq

from pairsweep.kernels import KernelInputError, Status, get_kernel
from pairsweep.kernels import loop_points
from pairsweep.kernels.mixd_bilayer import check_inputs, extra_coords, mixd_bilayer_kernel, solve_point

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "mixd_crossover.toml"
V = 1.0


# -- independent references -------------------------------------------------------------


def _kpoints(L: int, d: int) -> np.ndarray:
    k = 2 * np.pi * (np.arange(L) - (L - 1) // 2) / L
    if d == 1:
        return k[:, None]
    kx, ky = np.meshgrid(k, k, indexing="ij")
    return np.stack([kx.ravel(), ky.ravel()], axis=1)


def _model(L: int, d: int, eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    K = _kpoints(L, d)
    gamma = np.cos(K).sum(axis=1)
    form = gamma + (2 * eps * np.cos(K[:, 0]) * np.cos(K[:, 1]) if d == 2 else 0.0)
    v_kk = np.cos(K[:, None, :] - K[None, :, :]).sum(axis=-1)  # γ_{k−k'}
    return K, gamma, form, v_kk


def _b9(theta, beta, mu, J, t, n_holes, gamma, form, v_kk):
    """Seed B9 (β real), total energy in units of V, in d dimensions (physics.md)."""
    N = gamma.size
    s = np.sin(theta)
    v2 = np.sin(theta / 2) ** 2
    return (
        -4 * t * beta / np.sqrt(N) * np.sum(s * form)
        + (2 * t - 4 * t * beta**2 / N) * np.sum(v2 * gamma)
        + 2 * (J - 1.5 * t * t / J + mu) * np.sum(v2)
        + 0.75 * t * t / (J * N) * s @ v_kk @ s
        + (V + J + 2 * mu) * beta**2
        - mu * n_holes
    )


def _theta_from(r: dict, J: float, t: float, L: int, d: int, gamma: np.ndarray) -> np.ndarray:
    """θ_k = atan2(Δ_k, ξ_k) from the kernel's outputs (Δ_k map, μ_h, β)."""
    N = L**d
    xi = t * (1 - 2 * r["beta"] ** 2 / N) * gamma + J - 1.5 * t * t / J + r["mu_h"]
    return np.arctan2(r["delta_k"].ravel(), xi)


def _iterate(J, t, n_holes, L, d, eps, delta0, b0, fix_b=None, mix=0.3, tol=1e-13, iters=5000):
    """Damped fixed-point iteration of B15 (full V_kk'), B17 (unless b is fixed), B19."""
    _, gamma, form, v_kk = _model(L, d, eps)
    N = gamma.size
    n_h = n_holes / N
    g = 1.5 * t * t / J
    delta, b = delta0.copy(), b0 if fix_b is None else fix_b
    for _ in range(iters):

        def excess(mu, b=b, delta=delta):
            xi = t * (1 - 2 * b * b) * gamma + J - g + mu
            return np.mean(1 - xi / np.hypot(xi, delta)) + 2 * b * b - n_h

        mu = brentq(excess, -1e3, 1e3, xtol=1e-15, rtol=1e-15)
        xi = t * (1 - 2 * b * b) * gamma + J - g + mu
        e = np.hypot(xi, delta)
        s, v2 = delta / e, 0.5 * (1 - xi / e)
        new_delta = 4 * t * b * form - g * (v_kk @ s) / N
        new_b = b if fix_b is not None else 2 * t * np.mean(s * form) / (
            (V + J + 2 * mu) - 4 * t * np.mean(v2 * gamma)
        )
        err = max(np.abs(new_delta - delta).max(), abs(new_b - b))
        delta = (1 - mix) * delta + mix * new_delta
        b = (1 - mix) * b + mix * new_b
        if err < tol:
            break
    xi = t * (1 - 2 * b * b) * gamma + J - g + mu
    return delta, b, mu, np.arctan2(delta, xi), err


# -- shared solutions ---------------------------------------------------------------------

LADDER = dict(L=30, d=1, doping=8 / 30, t_par=0.1)  # seed Figs. 3, 4, 6
BILAYER = dict(L=16, d=2, doping=12 / 256, t_par=0.1, J_perp=1.0)  # seed Figs. 2, 7


@pytest.fixture(scope="module")
def bilayer_maps() -> dict[float, dict]:
    return {eps: solve_point(**BILAYER, eps=eps, with_delta_k_map=True) for eps in (0.0, 1.5)}


# -- declaration and validation -----------------------------------------------------------


def test_registered_with_the_outputs_the_issue_asks_for() -> None:
    kernel = get_kernel("mixd_bilayer")
    names = set(kernel.output_map)
    assert {
        "mu_h", "beta", "n_sc", "n_cc", "sc_cc_balance", "energy", "energy_minus_bg",
        "delta_gap", "binding_energy", "delta_kstar", "O_BEC", "O_BCS", "pairing_symmetry",
        "branch", "residual", "delta_k",
    } <= names
    assert {"J_perp", "doping", "t_par", "L", "d", "eps"} <= set(kernel.parameter_map)


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({"doping": np.array([0.25]), "L": np.array(30)}, "doping:", "not an integer"),
        ({"doping": np.array([7 / 30]), "L": np.array(30)}, "doping:", "odd"),
        ({"doping": np.array([1 / 30])}, "doping:", "odd"),
        ({"doping": np.array([0.0])}, "doping:", "out of range"),
        ({"doping": np.array(0.3), "doping_convention": np.array("site")}, "doping:", "out of range"),
        ({"doping": np.array(0.5), "L": np.array(6)}, "doping:", "odd"),
        ({"eps": np.array([0.0, 1.5]), "d": np.array(1)}, "eps:", "needs d = 2"),
        ({"L": np.array([10, 20]), "with_delta_k_map": np.array(True), "doping": np.array(0.2)},
         "L:", "must be fixed"),
        ({"with_delta_k_map": np.array([False, True])}, "with_delta_k_map:", "must be fixed"),
        ({"L": np.array(200), "d": np.array(2), "doping": np.array(0.01)}, "L:", "too large"),
    ],
)
def test_check_inputs_names_the_field(params, field, fragment) -> None:
    with pytest.raises(KernelInputError) as info:
        check_inputs(params)
    assert str(info.value).startswith(field)
    assert fragment in str(info.value)
    assert "allowed" in str(info.value)


def test_check_inputs_accepts_float_fractions_and_axis_products() -> None:
    # 8/30 etc. as floats; every (doping, L) combination of two axes is checked.
    check_inputs({"doping": np.linspace(2 / 30, 14 / 30, 7), "L": np.array(30)})
    check_inputs({"doping": np.array([0.2, 0.4]), "L": np.array([10, 20, 30])})
    with pytest.raises(KernelInputError, match="^doping:"):
        check_inputs({"doping": np.array([0.2, 0.4]), "L": np.array([10, 12])})  # 0.2*12


def test_per_site_doping_is_the_named_alternative() -> None:
    a = solve_point(**{**LADDER, "doping": 4 / 30}, doping_convention="site", J_perp=1.0)
    b = solve_point(**LADDER, J_perp=1.0)
    assert a["energy"] == b["energy"] and a["beta"] == b["beta"]


def test_invalid_point_fails_without_raising() -> None:
    r = solve_point(**{**LADDER, "doping": 7 / 30})
    assert r["status"] == Status.FAILED and r["message"].startswith("doping:")


def test_extra_coords_and_map_shapes(bilayer_maps) -> None:
    assert {k: v.tolist() for k, v in extra_coords({"with_delta_k_map": False}).items()} == {
        "kx": [0.0], "ky": [0.0]}
    coords = extra_coords({"with_delta_k_map": True, "L": 16, "d": 2})
    assert coords["kx"].size == coords["ky"].size == 16 and coords["kx"][-1] == pytest.approx(np.pi)
    with pytest.raises(KernelInputError, match="^L:"):
        extra_coords({"with_delta_k_map": True, "d": 2})
    ladder = solve_point(**LADDER, with_delta_k_map=True)
    assert ladder["delta_k"].shape == (30, 1)
    assert extra_coords({"with_delta_k_map": True, "L": 30, "d": 1})["ky"].tolist() == [0.0]
    # Without the map, delta_k is Δ at Γ (kx = ky = 0), the same as delta_gamma.
    plain = solve_point(**LADDER)
    assert plain["delta_k"].shape == (1, 1)
    assert plain["delta_k"][0, 0] == pytest.approx(plain["delta_gamma"], rel=1e-12)
    gamma_index = np.argmin(np.abs(extra_coords({"with_delta_k_map": True, "L": 30, "d": 1})["kx"]))
    assert ladder["delta_k"][gamma_index, 0] == pytest.approx(plain["delta_gamma"], rel=1e-12)
    assert bilayer_maps[0.0]["delta_k"].shape == (16, 16)


def test_results_do_not_depend_on_block_composition() -> None:
    names = ["J_perp", "doping", "t_par", "L", "d", "eps", "doping_convention", "with_delta_k_map"]
    rows = [(0.7, 8 / 30), (1.2, 8 / 30), (1.2, 14 / 30)]

    def block(selected):
        params = {
            "J_perp": np.array([rows[i][0] for i in selected]),
            "doping": np.array([rows[i][1] for i in selected]),
            "t_par": np.full(len(selected), 0.1),
            "L": np.full(len(selected), 30),
            "d": np.full(len(selected), 1),
            "eps": np.zeros(len(selected)),
            "doping_convention": np.array(["rung"] * len(selected)),
            "with_delta_k_map": np.zeros(len(selected), dtype=bool),
        }
        assert set(params) == set(names)
        return loop_points(mixd_bilayer_kernel, params)

    together = block([0, 1, 2])
    for i in range(3):
        alone = block([i])
        for key, value in alone.items():
            if key != "messages":
                np.testing.assert_array_equal(value[0], together[key][i], err_msg=key)
    assert (together["status"] == Status.OK).all()


# -- the solution is a stationary point of B9 ---------------------------------------------


@pytest.mark.parametrize(
    ("J", "L", "d", "n_holes", "eps"),
    [(1.0, 30, 1, 8, 0.0), (2.0, 30, 1, 8, 0.0), (0.6, 30, 1, 14, 0.0), (1.0, 10, 2, 12, 1.5)],
)
def test_solution_is_a_stationary_point_and_a_minimum_along_beta(J, L, d, n_holes, eps) -> None:
    t = 0.1
    r = solve_point(J_perp=J, doping=n_holes / L**d, t_par=t, L=L, d=d, eps=eps,
                    with_delta_k_map=True)
    assert r["status"] == Status.OK and r["branch"] == 1
    _, gamma, form, v_kk = _model(L, d, eps)
    theta = _theta_from(r, J, t, L, d, gamma)
    beta, mu = r["beta"], r["mu_h"]

    def energy(th=theta, b=beta, m=mu):
        return _b9(th, b, m, J, t, n_holes, gamma, form, v_kk)

    # B9 evaluated independently equals the kernel's ⟨H⟩.
    assert energy() == pytest.approx(r["energy"], rel=1e-12, abs=1e-12)
    h = 1e-5
    grad_theta = np.array([
        (energy(th=theta + h * e) - energy(th=theta - h * e)) / (2 * h) for e in np.eye(theta.size)
    ])
    grad_beta = (energy(b=beta + h) - energy(b=beta - h)) / (2 * h)
    grad_mu = (energy(m=mu + h) - energy(m=mu - h)) / (2 * h)
    # Each term of ∂B9/∂θ_k is O(ξ_k, Δ_k) ~ 0.01–1; rounding of the FD is ~1e-10.
    assert np.max(np.abs(grad_theta)) < 1e-8
    assert abs(grad_beta) < 1e-8
    assert abs(grad_mu) < 1e-8
    # A minimum along β: at fixed θ_k, μ_h ...
    curvature = (energy(b=beta + h) - 2 * energy() + energy(b=beta - h)) / h**2
    assert curvature > 0
    # ... and of the constrained energy: re-minimised over Δ_k at fixed N_h (independent
    # iteration at fixed β), the energy rises on both sides.
    if d == 1 and J <= 1.0:
        b_star = beta / math.sqrt(L**d)
        start = np.asarray(r["delta_k"]).ravel()
        for factor in (0.97, 1.03):
            _, b, m, th, err = _iterate(J, t, n_holes, L, d, eps, start, None, fix_b=factor * b_star)
            assert err < 1e-11
            assert energy(th=th, b=b * math.sqrt(L**d), m=m) > r["energy"] + 1e-8


@pytest.mark.parametrize(("J", "L", "d", "n_holes", "eps"),
                         [(1.0, 30, 1, 8, 0.0), (0.5, 30, 1, 8, 0.0), (0.8, 10, 2, 20, -1.0)])
def test_agrees_with_unrestricted_iteration_from_a_random_start(J, L, d, n_holes, eps) -> None:
    """The separable, even, x↔y-symmetric ansatz loses nothing: a plain iteration of
    B15/B17/B19 on all L^d components of Δ_k, started from random Δ_k, lands on it."""
    t = 0.1
    r = solve_point(J_perp=J, doping=n_holes / L**d, t_par=t, L=L, d=d, eps=eps,
                    with_delta_k_map=True)
    rng = np.random.default_rng(20250220)
    delta0 = 0.05 * rng.normal(size=L**d)
    b0 = 0.97 * r["beta"] / math.sqrt(L**d)
    delta, b, mu, _, err = _iterate(J, t, n_holes, L, d, eps, delta0, b0)
    assert err < 1e-12
    assert b * math.sqrt(L**d) == pytest.approx(r["beta"], rel=1e-10)
    assert mu == pytest.approx(r["mu_h"], abs=1e-11)
    np.testing.assert_allclose(delta, r["delta_k"].ravel(), atol=1e-11)
    # Δ_k is real and even under k → −k (on the grid, −k of index m is index −m mod L).
    K = _kpoints(L, d)
    minus = [int(np.argmin(np.abs(np.angle(np.exp(1j * (K + k)))).sum(axis=1))) for k in K]
    np.testing.assert_allclose(delta[minus], delta, atol=1e-11)
    assert np.isrealobj(r["delta_k"])


def test_global_minimum_does_not_depend_on_the_beta_scan(monkeypatch) -> None:
    """The scan over β that brackets the minima is fine enough: a 4x denser scan picks the
    same solution. Includes two points a coarser scan once got wrong (a minimum just above
    the tiny-β region where Δ_k ≡ 0 on an open shell)."""
    import pairsweep.kernels.mixd_bilayer.numerics as numerics

    points = [dict(LADDER, J_perp=J) for J in (0.2, 0.35, 0.7, 1.1, 1.6, 3.0)]
    points += [dict(BILAYER, J_perp=J, eps=e) for J in (0.2, 0.6, 1.4) for e in (0.0, 1.5)]
    points += [
        dict(L=30, d=1, doping=4 / 30, t_par=0.01, J_perp=0.34590127524132486),
        dict(L=16, d=2, doping=40 / 256, t_par=0.1, J_perp=0.2),
        dict(L=8, d=2, doping=8 / 64, t_par=0.3, J_perp=0.25, eps=-1.0),
    ]
    default = [solve_point(**p) for p in points]
    dense = np.unique(np.concatenate([
        np.logspace(-12, -2, 81),
        0.5 * (1.0 - np.cos(np.pi * np.arange(1, 128) / 128)),
        1.0 - np.logspace(-2, -5, 13),
    ]))[::-1]
    monkeypatch.setattr(numerics, "_SCAN_X", dense)
    for p, ref in zip(points, default, strict=True):
        r = solve_point(**p)
        assert r["status"] == ref["status"] == Status.OK, p
        assert r["branch"] == ref["branch"], p
        assert r["energy"] == pytest.approx(ref["energy"], rel=1e-12, abs=1e-12), p
        assert r["beta"] == pytest.approx(ref["beta"], rel=1e-8, abs=1e-10), p


# -- limits and conservation -----------------------------------------------------------


def test_hole_number_is_conserved_at_every_solution() -> None:
    cases = [dict(LADDER, J_perp=J) for J in (0.1, 0.3, 1.0, 1.2, 3.0, 10.0)]
    cases += [dict(LADDER, J_perp=J, t_par=t) for J in (0.15, 0.5) for t in (0.01, 0.3)]
    cases += [dict(LADDER, doping=n / 30, J_perp=1.3) for n in (2, 6, 10, 14)]
    cases += [dict(BILAYER, eps=e, J_perp=J) for e in (0.0, 1.5) for J in (0.4, 1.0, 2.0)]
    for c in cases:
        r = solve_point(**c)
        N = c["L"] ** c["d"]
        n_holes = round(c["doping"] * N)
        assert r["status"] == Status.OK, c
        assert abs(N * (r["n_sc"] + 2 * r["n_cc"]) - n_holes) < 1e-10, c
        assert r["n_cc"] == pytest.approx(r["beta"] ** 2 / N, rel=1e-14)


def test_small_J_perp_puts_the_holes_in_sc_pairs() -> None:
    fractions = [2 * solve_point(**LADDER, J_perp=J)["n_cc"] / (8 / 30) for J in (0.6, 0.4, 0.3, 0.2)]
    assert all(a > b for a, b in zip(fractions, fractions[1:], strict=False))
    assert fractions[-1] < 1e-3
    # Deep in the BCS regime the β = 0 branch (sc Fermi sea) wins: n_cc = 0 exactly, and
    # its energy is the filled band, 2 Σ over the N_h/2 lowest (t γ_k + J⊥ − 3t²/2J⊥).
    J, t = 0.1, 0.1
    r = solve_point(**LADDER, J_perp=J)
    assert r["branch"] == 0 and r["n_cc"] == 0.0 and r["sc_cc_balance"] == 1.0
    levels = np.sort(t * np.cos(_kpoints(30, 1)[:, 0]) + J - 1.5 * t * t / J)
    assert r["energy"] == pytest.approx(2 * levels[:4].sum(), rel=1e-13)
    # The β ≠ 0 states nearby are higher: the independent iteration at small fixed β.
    _, gamma, form, v_kk = _model(30, 1, 0.0)
    for b in (0.03, 0.1):
        _, bb, m, th, err = _iterate(J, t, 8, 30, 1, 0.0, 1e-3 * np.cos(_kpoints(30, 1)[:, 0]),
                                     None, fix_b=b)
        assert err < 1e-11
        assert _b9(th, bb * math.sqrt(30), m, J, t, 8, gamma, form, v_kk) > r["energy"] + 1e-3


def test_large_J_perp_binds_the_holes_into_cc_pairs() -> None:
    fractions = [2 * solve_point(**LADDER, J_perp=J)["n_cc"] / (8 / 30) for J in (2.0, 4.0, 8.0)]
    assert all(a < b for a, b in zip(fractions, fractions[1:], strict=False))
    assert fractions[-1] > 0.995
    bilayer = solve_point(**{**BILAYER, "J_perp": 5.0})
    assert bilayer["sc_cc_balance"] < -0.95


# -- the seed's figures ---------------------------------------------------------------------


def test_ladder_crossover_between_0_8_and_1_6() -> None:
    """Seed Figs. 3 and 6 (L = 30, δ = 8/30, t∥/V = 0.1): crossover at J⊥/V ≈ 1.2.

    Measured (kernel version 1): (N_sc − 2N_cc)/N_h = 0 at J⊥/V = 1.0965 and
    O_BEC = O_BCS at J⊥/V = 1.3543.
    """
    grid = np.linspace(0.8, 1.6, 9)
    results = [solve_point(**LADDER, J_perp=J) for J in grid]
    balance = np.array([r["sc_cc_balance"] for r in results])
    order = np.array([r["O_BEC"] - r["O_BCS"] for r in results])
    # BCS side at 0.8, BEC side at 1.6, one sign change each.
    assert balance[0] > 0 > balance[-1] and np.count_nonzero(np.diff(np.sign(balance))) == 1
    assert order[0] < 0 < order[-1] and np.count_nonzero(np.diff(np.sign(order))) == 1
    j_balance = brentq(lambda J: solve_point(**LADDER, J_perp=J)["sc_cc_balance"], 0.8, 1.6,
                       xtol=1e-6)
    j_order = brentq(lambda J: (lambda r: r["O_BEC"] - r["O_BCS"])(solve_point(**LADDER, J_perp=J)),
                     0.8, 1.6, xtol=1e-6)
    assert 0.8 < j_balance < 1.6 and 0.8 < j_order < 1.6
    assert j_balance == pytest.approx(1.0965, abs=2e-3)  # regression of the recorded values
    assert j_order == pytest.approx(1.3543, abs=2e-3)


def test_bilayer_gap_is_extended_s_with_nodal_line(bilayer_maps) -> None:
    """Seed Fig. 2 (16×16, N_h = 12, t∥/V = 0.1, J⊥ = V): Δ_k changes sign between Γ and
    (π, π) across |k_x| + |k_y| = π."""
    r = bilayer_maps[0.0]
    assert r["status"] == Status.OK and r["branch"] == 1
    delta = r["delta_k"]
    k = extra_coords({"with_delta_k_map": True, "L": 16, "d": 2})["kx"]
    taxi = np.abs(k)[:, None] + np.abs(k)[None, :]
    inside, outside, on_line = taxi < np.pi - 1e-9, taxi > np.pi + 1e-9, np.abs(taxi - np.pi) < 1e-9
    assert (delta[inside] > 0).all() and (delta[outside] < 0).all()
    assert np.abs(delta[on_line]).max() < 1e-12 * np.abs(delta).max()
    assert r["delta_gamma"] > 0 > r["delta_corner"]
    assert r["pairing_symmetry"] == 1
    np.testing.assert_allclose(delta, delta.T, atol=1e-15)  # x ↔ y symmetric


def test_diagonal_recombination_adds_a_corner_region(bilayer_maps) -> None:
    """Seed Fig. 7 (same system, ε = 1.5): a third region with the sign of Γ at the corners."""
    r = bilayer_maps[1.5]
    assert r["status"] == Status.OK
    delta = r["delta_k"]
    k = extra_coords({"with_delta_k_map": True, "L": 16, "d": 2})["kx"]
    i0, ipi = int(np.argmin(np.abs(k))), int(np.argmin(np.abs(k - np.pi)))
    assert delta[i0, i0] > 0 and delta[ipi, ipi] > 0 and delta[ipi, i0] < 0
    # Along the diagonal Γ → M the sign changes twice (centre +, ring −, corner +).
    diagonal = np.array([delta[i, i] for i in range(i0, ipi + 1)])
    assert np.count_nonzero(np.diff(np.sign(diagonal))) == 2
    assert r["pairing_symmetry"] == 2


def test_binding_energy_grows_with_J_perp() -> None:
    """Seed Fig. 5 (L = 30, δ = 14/30, t∥/V = 0.1): E_B increases with J⊥/V; on the BCS side
    E_B ≈ 2|Δ_k*| (pairs form and condense together), on the BEC side they part."""
    Js = np.linspace(0.6, 2.0, 8)
    results = [solve_point(**{**LADDER, "doping": 14 / 30}, J_perp=J) for J in Js]
    e_b = np.array([r["binding_energy"] for r in results])
    assert (np.diff(e_b) > 0).all()
    ratio = np.array([r["binding_energy"] / (2 * r["delta_kstar"]) for r in results])
    assert ratio[0] == pytest.approx(1.0, abs=0.05)
    assert ratio[-1] > 2.0
    assert all(r["binding_energy"] == pytest.approx(2 * r["delta_gap"]) for r in results)


# -- the example spec ----------------------------------------------------------------------


def test_example_spec_is_valid() -> None:
    spec = tomllib.loads(EXAMPLE.read_text())
    assert spec["kernel"] == "mixd_bilayer"
    from pairsweep.sweeps import load_spec, resolve

    rs = resolve(load_spec(EXAMPLE))
    assert rs.fixed["d"] == 1 and rs.fixed["L"] == 30
    assert {a.name for a in rs.axes} == {"J_perp", "doping"}


@pytest.mark.slow
def test_example_runs_through_the_engine(tmp_path, client) -> None:
    """A small version of the example on the test LocalCluster: stored values equal a direct
    kernel call bit for bit."""
    from pairsweep.sweeps import Sweep, load_spec, open_result, run_sweep

    example = load_spec(EXAMPLE)
    sweep = Sweep(
        kernel=example.kernel,
        store=str(tmp_path / "mixd.zarr"),
        axes={"J_perp": [0.8, 1.2], "doping": [8 / 30, 14 / 30]},
        fixed=dict(example.fixed),
        chunks={"J_perp": 1, "doping": 2},
    )
    report = run_sweep(sweep, client=client, progress=False)
    assert report is not None
    ds = open_result(tmp_path / "mixd.zarr").load()
    assert (ds["status"].values == 0).all()
    for J in (0.8, 1.2):
        for doping in (8 / 30, 14 / 30):
            direct = solve_point(J_perp=J, doping=doping, **example.fixed)
            point = ds.sel(J_perp=J, doping=doping)
            for name in ("energy", "beta", "sc_cc_balance", "binding_energy", "O_BCS"):
                assert point[name].item() == direct[name], name
