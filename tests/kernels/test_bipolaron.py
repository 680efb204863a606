"""Validation of the bipolaron kernel (VED of seed Eqs. 2, 4, 6).

References are independent of the solver: closed-form / quadrature lattice Green's
functions, second-order perturbation theory, a published VED energy, and the solver's own
antiadiabatic limit built from a different Hamiltonian.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq

from pairsweep.kernels import Status, get_kernel
from pairsweep.kernels._bipolaron_solve import Settings, grow
from pairsweep.kernels._bipolaron_ved import (
    MODEL_BP, MODEL_BP_AA, MODEL_H, MODEL_H_AA, Problem, VEDBasis,
)
from pairsweep.kernels.bipolaron import allen_dynes_tc, coupling_constant, solve_point


def polaron(model: int, d: int, omega: float, c: float, **kw) -> float:
    st = Settings(energy_tol=kw.pop("energy_tol", 1e-10), lanczos_tol=1e-10,
                  growth=kw.pop("growth", "selected"), max_states=kw.pop("max_states", 10**6))
    ser = grow(Problem(model=model, d=d, two_electrons=False, omega=omega, coupling=c, **kw), st)
    assert ser.reason in ("converged", "basis complete within caps"), ser.reason
    return ser.energies[-1]


# ---- the published benchmark -----------------------------------------------------------

@pytest.mark.slow
def test_holstein_polaron_1d_benchmark() -> None:
    # Bonča, Trugman, Batistić, PRB 60, 1633 (1999): t = Ω = g = 1, K = 0
    st = Settings(energy_tol=1e-12, lanczos_tol=1e-11, growth="generations",
                  max_states=10**6, min_steps=8)
    ser = grow(Problem(model=MODEL_H, d=1, two_electrons=False, omega=1.0, coupling=1.0,
                       nmax=40, max_generations=40), st)
    assert ser.energies[-1] == pytest.approx(-2.46968472393287, abs=1e-10)
    # variational: nested bases, E never increases
    assert np.all(np.diff(ser.energies) <= 1e-12)


# ---- no coupling ------------------------------------------------------------------------

@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("model", [MODEL_BP, MODEL_H])
def test_free_electron_band_bottom(model: int, d: int) -> None:
    assert polaron(model, d, 1.0, 0.0) == pytest.approx(-2.0 * d, abs=1e-12)


def hubbard_green_1d(E: float) -> float:
    """G_0(r = 0; E) of the relative motion at K = 0, 1-D: ε(q) = −4t cos q."""
    return -1.0 / math.sqrt(E * E - 16.0)


def hubbard_green_2d(E: float) -> float:
    # inner q_x integral in closed form, outer by quadrature
    f = lambda qy: -1.0 / math.sqrt((E + 4.0 * math.cos(qy)) ** 2 - 16.0)  # noqa: E731
    return quad(f, 0.0, math.pi, epsabs=1e-13, epsrel=1e-12, limit=200)[0] / math.pi


def pair_energy(model: int, d: int, U: float, **kw) -> tuple[float, float]:
    st = Settings(energy_tol=1e-11, lanczos_tol=1e-11, max_states=10**6)
    ser = grow(Problem(model=model, d=d, two_electrons=True, omega=1.0, coupling=0.0, U=U,
                       **kw), st)
    return ser.energies[-1], ser.r2[-1]


@pytest.mark.parametrize("U", [-1.0, -4.0])
def test_hubbard_bound_state_1d(U: float) -> None:
    e, _ = pair_energy(MODEL_H_AA, 1, U)
    assert e == pytest.approx(-math.sqrt(U * U + 16.0), abs=1e-9)
    # the same from the Green's function: 1 = U G_0(E)
    assert U * hubbard_green_1d(e) == pytest.approx(1.0, abs=1e-8)


def test_hubbard_bound_state_2d() -> None:
    U = -10.0
    e_exact = brentq(lambda E: U * hubbard_green_2d(E) - 1.0, -40.0, -8.0 - 1e-9, xtol=1e-14)
    e, _ = pair_energy(MODEL_H_AA, 2, U, rmax=30)
    assert e == pytest.approx(e_exact, abs=1e-8)


@pytest.mark.parametrize("d", [1, 2])
def test_hubbard_repulsive_no_bound_state(d: int) -> None:
    out = solve_point(model="holstein_antiadiabatic", lam=0.0, d=d, U_over_t=4.0,
                      max_separation=12, energy_tol=1e-6)
    assert out["e_bp"] > -4.0 * d          # never below the two-particle continuum
    assert out["e_bp"] < -4.0 * d + 0.5    # but approaching it as the box grows
    assert not out["bound"]
    assert math.isnan(out["r2_bp"]) and math.isnan(out["tc_over_omega"])


# ---- weak coupling ----------------------------------------------------------------------

def pt2_shift(model: int, d: int, omega: float, c: float) -> float:
    """Second-order polaron shift at K = 0 (t = 1).

    Holstein: −g² ∫ 1/(Ω + ε_q + 2d); bond-Peierls: the vertex of bond a from k = 0 to
    k = −q is α(1 + e^{iq_a}), |M|² = 2α²(1 + cos q_a).
    """
    def integrand(*q: float) -> float:
        de = omega + sum(2.0 * (1.0 - math.cos(x)) for x in q)
        num = 1.0 if model == MODEL_H else sum(2.0 * (1.0 + math.cos(x)) for x in q)
        return num / de

    if d == 1:
        val = quad(lambda x: integrand(x), 0, math.pi, epsabs=1e-13)[0] / math.pi
    else:
        val = quad(lambda y: quad(lambda x: integrand(x, y), 0, math.pi, epsabs=1e-13)[0],
                   0, math.pi, epsabs=1e-12)[0] / math.pi**2
    return -c * c * val


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("model", [MODEL_BP, MODEL_H])
def test_weak_coupling_polaron_shift(model: int, d: int) -> None:
    omega, lam = 1.0, 0.005
    name = "bond_peierls" if model == MODEL_BP else "holstein"
    c, _ = coupling_constant(name, lam, omega, d)
    shift = polaron(model, d, omega, c, energy_tol=1e-7) + 2.0 * d
    assert shift == pytest.approx(pt2_shift(model, d, omega, c), rel=0.01)


# ---- convergence is monotone ------------------------------------------------------------

@pytest.mark.parametrize("growth", ["generations", "selected"])
def test_basis_growth_is_variational(growth: str) -> None:
    c, _ = coupling_constant("bond_peierls", 0.8, 2.0, 2)
    st = Settings(energy_tol=0.0, growth=growth, max_states=60_000, max_steps=12)
    ser = grow(Problem(model=MODEL_BP, d=2, two_electrons=True, omega=2.0, coupling=c, U=8.0),
               st)
    assert len(ser.energies) >= 5
    assert np.all(np.diff(ser.sizes) > 0)
    assert np.all(np.diff(ser.energies) <= 1e-10)


def test_lanczos_matches_dense() -> None:
    c, _ = coupling_constant("holstein", 1.0, 1.0, 2)
    b = VEDBasis(Problem(model=MODEL_H, d=2, two_electrons=True, omega=1.0, coupling=c, U=2.0),
                 max_states=10**5)
    for _ in range(5):
        b.expand(None, 0.0, 0.0)
        b.build_rows()
    n = b.nstates
    assert 300 < n < 3000
    for K in (None, np.array([0.3, 0.0])):
        H = b.dense(n, K)
        assert np.allclose(H, H.conj().T, atol=1e-13)
        e_ref = np.linalg.eigvalsh(H)[0]
        mv, _ = b.make_matvec(n, K)
        from pairsweep.kernels._bipolaron_ved import lanczos_ground
        x0 = np.ones(n, complex if K is not None else float)
        e, v, res, _ = lanczos_ground(mv, x0, tol=1e-10)
        assert e == pytest.approx(e_ref, abs=1e-11)
