"""Convergence driver of the bipolaron kernel: grows VED bases until observables settle.

Private to the VED solver, :mod:`pairsweep.kernels.bipolaron.ved`. Units: t = 1.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field

import numpy as np

from ._ved_basis import MODEL_BP, Problem, TimeCap, VEDBasis

__all__ = ["Settings", "Series", "grow", "energy_at", "curvature_mass", "compile_numba"]

#: Momentum step of the finite-difference curvature (1/a). E(K) = E0 + K²/(2m*) + O(K⁴):
#: the O(δK²) relative error is ~2e-4 for a cosine band.
DK = 0.05


@dataclass
class Settings:
    """Growth and convergence controls shared by the polaron and bipolaron problems."""

    max_states: int = 2_000_000
    energy_tol: float = 1e-3
    rel_tol: float = 0.02
    lanczos_tol: float = 1e-8
    growth: str = "selected"         # or "generations" (plain Bonča–Trugman)
    plain_states: int = 2000         # plain generations until the basis is this large
    eps0: float = 1e-2
    eps_factor: float = 3.0
    max_steps: int = 60
    min_steps: int = 4


@dataclass
class Series:
    """History of one growth run; step k used the basis [0, sizes[k])."""

    basis: VEDBasis
    sizes: list[int] = field(default_factory=list)
    energies: list[float] = field(default_factory=list)
    r2: list[float] = field(default_factory=list)
    nph: list[float] = field(default_factory=list)
    solve_seconds: list[float] = field(default_factory=list)
    masses: dict[int, float] = field(default_factory=dict)
    psi: np.ndarray | None = None
    exhausted: bool = False          # no new state can be added: exact within the caps
    reason: str = ""

    @property
    def de_last(self) -> float:
        if len(self.energies) < 2:
            return math.inf
        return self.energies[-2] - self.energies[-1]

    def rel_change(self, series: list[float]) -> float:
        if len(series) < 2:
            return math.inf
        a, b = series[-2], series[-1]
        return abs(b - a) / max(abs(b), 1e-300)

    def step_with(self, min_states: float) -> int:
        """Index of the first step whose basis holds at least ``min_states`` states."""
        return next(k for k, size in enumerate(self.sizes) if size >= min_states)

    def mass_at(self, k: int, tol: float, deadline: float | None = None) -> float:
        """Curvature mass on the basis of step ``k``, kept in ``masses``.

        The latest eigenvector, cut to that basis, starts the K ≠ 0 solve. Raises
        :class:`TimeCap` past ``deadline``."""
        n = self.sizes[k]
        if n not in self.masses:
            self.masses[n] = curvature_mass(self.basis, n, self.energies[k], self.psi[:n], tol,
                                            deadline)
        return self.masses[n]


def energy_at(basis: VEDBasis, ncut: int, K: np.ndarray, v0: np.ndarray | None,
              tol: float, deadline: float | None = None) -> float:
    return basis.ground(ncut, K=K, v0=v0, tol=tol, deadline=deadline)[0]


def curvature_mass(basis: VEDBasis, ncut: int, e0: float, psi0: np.ndarray,
                   tol: float, deadline: float | None = None) -> float:
    """m* = [∂²E/∂K_x²]^{-1} at K = 0 (units ħ = a = 1, t = 1); NaN if not positive.

    Raises :class:`TimeCap` past ``deadline``."""
    K = np.zeros(basis.prob.d)
    K[0] = DK
    e1 = energy_at(basis, ncut, K, psi0, tol, deadline)
    curv = 2.0 * (e1 - e0) / DK**2
    return 1.0 / curv if curv > 0 else math.nan


#: Cost of the work after a bound pair's growth step, in units of that step's K = 0 solve
#: (which starts from the previous eigenvector, so it is cheap). If the next step is the
#: last: the complex curvature solve on its basis (1.7 of its solves, so about 1.7 × ratio of
#: this one), the three K checks on a basis ≥ 1/8 of it (3.4 solves of that basis each, from
#: a start vector of another K: about 1.3 × ratio) and the mass on this basis (about 6).
#: Measured at λ = 5, t/Ω = 0.05, 2-D, U = 8t: K = 0 solves 0.29 s at 0.24 M and 1.3 s at
#: 0.68 M states, mass 2.3 s at 0.68 M, K solves 0.9–1.1 s at 0.24 M.
POST_SOLVES_AT_NEXT = 3.0
POST_SOLVES_AT_LAST = 7.0


def grow(prob: Problem, st: Settings, *, need_mass: bool = False,
         need_r2: bool = False, bound_check=None, deadline: float | None = None) -> Series:
    """Grow the basis step by step until the energy (and R², m* if asked) converge.

    A step is one plain generation while the basis is smaller than ``plain_states`` (or
    always, for ``growth = "generations"``), else a selected expansion with a threshold that
    shrinks by ``eps_factor`` per step. Stops when the last step changed E by less than
    ``energy_tol`` and R², m* by less than ``rel_tol`` (relative), when nothing more can be
    added, or at the state, step or time caps. ``bound_check(E)`` returning False disables the R²
    and m* criteria (an unbound pair has no finite R²).

    ``deadline`` (``time.perf_counter()`` seconds) ends the growth: a step predicted to run
    past it is not started, and a solve that runs past it is abandoned; the series then ends
    at the last solved step with reason "time cap". With ``need_mass`` the prediction keeps
    back the time of the mass and K checks that follow a bound pair's growth.
    """
    basis = VEDBasis(prob, max_states=st.max_states)
    ser = Series(basis)
    psi = None
    energy = 0.0
    eps = 0.0
    step_start = time.perf_counter()
    solve_s = 0.0
    for step in range(st.max_steps):
        plain = st.growth == "generations" or basis.nstates < st.plain_states
        now = time.perf_counter()
        last_step_s, step_start = now - step_start, now
        if step > 0 and deadline is not None:
            # the next step costs about the last one times the basis growth per step
            ratio = ser.sizes[-1] / ser.sizes[-2] if len(ser.sizes) > 1 else 3.0
            ratio = max(1.5, min(ratio, 10.0))
            predicted = last_step_s * ratio
            if need_mass and (bound_check is None or bound_check(energy)):
                predicted += solve_s * (POST_SOLVES_AT_NEXT * ratio + POST_SOLVES_AT_LAST)
            if now + predicted > deadline:
                ser.reason = "time cap"
                break
        if step > 0:
            if plain:
                eps = 0.0
            else:
                eps = st.eps0 if eps == 0.0 else eps / st.eps_factor
            added = basis.expand(psi, energy, eps)
            if added == 0 and (eps == 0.0 or eps < 1e-14):
                ser.exhausted = not basis.truncated
                ser.reason = "basis complete within caps" if ser.exhausted else "state cap"
                break
            if added == 0 and basis.truncated:
                ser.reason = "state cap"
                break
            if added == 0 or (not plain and basis.nstates < 1.5 * ser.sizes[-1]):
                # too small a step to judge convergence by: lower the threshold first
                continue
            basis.build_rows()
        else:
            basis.build_rows()
        n = basis.nstates
        solve_start = time.perf_counter()
        try:
            # the first step is one state: always solved, so the series is never empty
            energy_n, psi_n, res, _ = basis.ground(n, v0=psi, tol=st.lanczos_tol,
                                                   deadline=deadline if ser.sizes else None)
        except TimeCap:
            ser.reason = "time cap"
            break
        solve_s = time.perf_counter() - solve_start
        ser.solve_seconds.append(solve_s)
        energy, psi = energy_n, psi_n
        r2, nph, _ = basis.moments(psi, n)
        ser.sizes.append(n)
        ser.energies.append(energy)
        ser.r2.append(r2)
        ser.nph.append(nph)
        ser.psi = psi
        if len(ser.sizes) < st.min_steps:
            continue
        if ser.de_last >= st.energy_tol:
            continue
        bound = bound_check is None or bound_check(energy)
        if need_r2 and bound and ser.rel_change(ser.r2) >= st.rel_tol:
            continue
        if need_mass and bound:
            try:
                m0, m1 = (ser.mass_at(k, st.lanczos_tol, deadline) for k in (-2, -1))
            except TimeCap:
                ser.reason = "time cap"
                break
            if not (math.isfinite(m0) and math.isfinite(m1)):
                continue
            if abs(m1 - m0) / abs(m1) >= st.rel_tol:
                continue
        ser.reason = "converged"
        break
    else:
        ser.reason = "step cap"
    if basis.truncated and ser.reason not in ("converged", "time cap"):
        ser.reason = "state cap"
    return ser


@functools.cache
def compile_numba() -> None:
    """Compile (or load from numba's cache) every compiled routine once per process.

    A point's wall-clock budget then measures its own work: the first call in a fresh
    process otherwise spends seconds compiling inside the first point's budget.
    """
    prob = Problem(model=MODEL_BP, d=1, two_electrons=True, omega=1.0, coupling=0.5,
                   max_generations=12)
    ser = grow(prob, Settings(max_states=20_000, plain_states=200, max_steps=10))
    n = ser.sizes[-1]
    ser.basis.ground(n, K=np.array([0.3]), v0=ser.psi)     # the complex mat-vec
