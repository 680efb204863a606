"""Bond-Peierls vs Holstein bipolarons: numerically exact E, m*, R² and the bipolaronic T_c.

Seed: J. Sous, "Bipolaronic high-temperature superconductivity from phonon-modulated
hopping: a perspective", Eqs. 2, 4–9. Equations, conventions, choices and findings:
``docs/models/bipolaron.md``.

Models (t = 1 inside, energies reported in units of t and of Ω)
------------------------------------------------------------
``bond_peierls`` (seed Eq. 6 on the d-dimensional hypercubic lattice)::

    H = Σ_<ij>σ (−t + α X_ij)(c†_iσ c_jσ + h.c.) + U Σ n_i↑ n_i↓ + Ω Σ b†_ij b_ij
        + ½ Σ_{i≠j} V/|r_i − r_j| n_i n_j,        X_ij = b_ij + b†_ij,

with λ = α²/(2Ωt) (the seed's definition, used in every d). ``holstein`` (seed Eq. 2):
the e-ph term is g Σ_i n_i X_i with λ = g²/(2d t Ω) (small-polaron energy g²/Ω over the
half band width 2dt). ``coupling = "g_over_omega"`` reads the ``lam`` axis as the raw α/Ω
or g/Ω instead. The signs of α and g do not matter (b → −b).

``bond_peierls_antiadiabatic`` (seed Eq. 4 in the form of the issue): phonons integrated out
at second order, H = −t Σ K_b + U Σ n↑n↓ − (α²/Ω) Σ_b K_b², K_b = Σ_σ(c†_iσ c_jσ + h.c.): a
one-electron shift −2dα²/Ω plus a pair hopping/exchange −(2α²/Ω) h_b↑ h_b↓.
``holstein_antiadiabatic``: −(g²/Ω) Σ_i n_i², i.e. a shift −g²/Ω per electron and
U → U − 2g²/Ω. Both are exact two-body problems at each K, solved by the same VED.

Method
------
Variational exact diagonalisation on the infinite lattice (Bonča–Trugman): states of fixed
total momentum K in the frame of the ↑ electron, basis grown from both electrons on one site
without phonons by repeated action of H; see :mod:`._ved_basis` for the encoding and the
caps. Growth is "selected" by default: after a few plain generations a child state enters
only when its first-order amplitude |H_ts ψ_s|/(H_tt − E) exceeds a threshold that shrinks
threefold per step; ``growth = "generations"`` keeps plain generations. Bases are nested, so
E decreases monotonically. A point is converged when the last step changed E_BP by less than
``energy_tol`` (units of t) and R²_BP and m*_BP by less than ``rel_tol`` (relative); otherwise
it is NOT_CONVERGED, with the last changes reported. A point never holds more than
``max_memory_gb`` of arrays (the state cap follows from it). With ``max_seconds`` > 0 the
whole point keeps to that wall-clock budget ("time cap"): the growth stops before a step
predicted to overrun it, keeping back the time of the mass and K checks that follow, and any
solve still running at the deadline is abandoned (its outputs NaN, status NOT_CONVERGED). Of
the budget the polaron's growth may use the first 10 % and its K scan up to 20 %.

Observables and conventions
---------------------------
* E_BP(K = 0) is the two-electron (singlet) ground state; the ↑↓ problem without spin flips
  is the singlet in its ground state (stoquastic at K = 0, nodeless, exchange symmetric).
* m*_BP = [∂²E_BP/∂K_x²]^{-1} at K = 0 by a finite difference with δK = 0.05/a; reported
  as m*/(2 m_e) with m_e = 1/(2t) (so a free pair has 1). The minimum is checked at
  K = (π/2, 0…), (π, 0…) and (π, π…) on the series' smallest basis with ≥ 1/8 of the final
  states (``k0_minimum``).
* R²_BP = ⟨|r↑ − r↓|²⟩ in lattice units.
* E_P: the one-electron energy minimised over K along x (and along the diagonal for d > 1)
  on the polaron's K = 0 basis: a 9-point scan, then Brent refinement when the minimum is
  not at K = 0, both on the series' smallest basis with ≥ 1/4 of the final states (≥ 3000),
  which only locates the minimum; E_P is then evaluated there on the final basis.
  Δ_BP = 2E_P − E_BP; ``bound`` when Δ_BP > ``binding_tol`` (units of t). For an unbound
  pair R², m* and T_c are NaN (the variational R² only measures the basis).
* T_c (seed Eq. 8, d = 2): T_c = C/(m* R²) for R² ≥ 1, C/m* below, C = ``tc_prefactor``
  (default 0.5, the seed's rounding of 1.84/π); d = 3: 1.2/(m* R²) (Sec. 6), 1.2/m* for
  R² < 1; d = 1: NaN (no condensate). ``tc_above_binding`` flags T_c > Δ_BP.
* Migdal–Eliashberg estimate: Allen–Dynes for an Einstein phonon at Ω with the model's λ
  and Coulomb pseudopotential μ*, T_c/Ω = f₁/1.2 · exp[−1.04(1+λ)/(λ − μ*(1 + 0.62λ))],
  f₁ = [1 + (λ/Λ₁)^{3/2}]^{1/3}, Λ₁ = 2.46(1 + 3.8μ*); 0 when the exponent's denominator is
  not positive.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from .._api import Kernel, Output, Parameter, Status
from . import conventions
from ._ved_basis import (MODEL_BP, MODEL_BP_AA, MODEL_H, MODEL_H_AA, Problem, TimeCap,
                         VEDBasis)
from ._ved_growth import Series, Settings, compile_numba, grow
from .conventions import TC_PREFACTOR_2D, bipolaronic_tc, coupling_outputs

__all__ = ["KERNELS", "MODELS", "solve_point"]

MODELS = {
    "bond_peierls": MODEL_BP,
    "holstein": MODEL_H,
    "bond_peierls_antiadiabatic": MODEL_BP_AA,
    "holstein_antiadiabatic": MODEL_H_AA,
}


#: The polaron's K scan runs on the smallest basis of its series that holds this fraction of
#: the final states (and at least SCAN_MIN_STATES, or all): the scan only locates the band
#: minimum, whose energy is then taken on the final basis. A 9-point scan with Brent
#: refinement costs about 20 complex solves per direction, against one at the end.
SCAN_FRACTION = 0.25
SCAN_MIN_STATES = 3000


def _polaron_min(ser: Series, d: int, tol: float,
                 deadline: float | None = None) -> tuple[float, float]:
    """(min_K E_P(K), |K| at the minimum) of a grown polaron series.

    The minimum is located along x (and along the diagonal for d > 1) by a 9-point scan and
    Brent refinement on a smaller basis of the series (see ``SCAN_FRACTION``), then E_P is
    evaluated there on the final basis; K = 0 is kept unless that is lower. Raises
    :class:`TimeCap` past ``deadline``.
    """
    basis = ser.basis
    n = ser.sizes[-1]
    k_scan = ser.step_with(max(SCAN_FRACTION * n, min(n, SCAN_MIN_STATES)))
    n_scan = ser.sizes[k_scan]
    v0 = ser.psi[:n_scan]

    def e_scan(K: np.ndarray) -> float:
        return basis.ground(n_scan, K=K, v0=v0, tol=tol, deadline=deadline)[0]

    best_e, best_k = ser.energies[k_scan], np.zeros(d)
    dirs = [np.eye(d)[0]] + ([np.ones(d)] if d > 1 else [])
    for u in dirs:
        ks = np.linspace(0.0, math.pi, 9)[1:]
        allk = np.concatenate([[0.0], ks])
        alle = np.concatenate([[ser.energies[k_scan]], [e_scan(k * u) for k in ks]])
        i = int(np.argmin(alle))
        if i == 0:
            continue
        cand_e, cand_k = float(alle[i]), float(allk[i])
        lo, hi = allk[i - 1], allk[min(i + 1, len(allk) - 1)]
        res = minimize_scalar(lambda k: e_scan(k * u), bounds=(lo, hi), method="bounded",
                              options={"xatol": 1e-4})
        if float(res.fun) < cand_e:
            cand_e, cand_k = float(res.fun), float(res.x)
        if cand_e < best_e:
            best_e, best_k = cand_e, cand_k * u
    e0 = ser.energies[-1]
    if not np.any(best_k):
        return e0, 0.0
    e_min = basis.ground(n, K=best_k, v0=ser.psi, tol=tol, deadline=deadline)[0]
    if e_min < e0:
        return e_min, float(np.linalg.norm(best_k))
    return e0, 0.0


#: The K = 0 minimum check runs on the series' smallest basis with this fraction of the
#: final states.
K_CHECK_FRACTION = 1 / 8


_NAN_OUT = {
    "e_bp": math.nan, "e_p": math.nan, "k_p": math.nan, "delta_bp": math.nan,
    "delta_bp_over_omega": math.nan, "mass_bp": math.nan, "r2_bp": math.nan,
    "nph_bp": math.nan, "tc_over_omega": math.nan, "tc_above_binding": False,
    "tc_me_over_omega": math.nan, "bound": False, "k0_minimum": False, "basis_size": 0,
    "basis_size_polaron": 0, "growth_steps": 0, "de_last": math.nan, "dmass_rel": math.nan,
    "dr2_rel": math.nan, "memory_mb": math.nan, "lambda_eff": math.nan,
    "coupling_over_omega": math.nan,
}


def solve_point(model: str = "bond_peierls", lam: float = 0.5, coupling: str = "lambda",
                t_over_omega: float = 1.0, U_over_t: float = 8.0, V_over_t: float = 0.0,
                d: int = 2, energy_tol: float = 1e-3, rel_tol: float = 0.02,
                binding_tol: float = 1e-3, max_memory_gb: float = 2.0,
                max_phonons: int = 30, max_cloud: int = 100, max_separation: int = 100,
                growth: str = "selected", max_steps: int = 60, max_seconds: float = 0.0,
                tc_prefactor: float = TC_PREFACTOR_2D, mu_star: float = 0.1) -> dict[str, Any]:
    """One parameter point; see the module docstring. Never raises for a physics failure.

    Every keyword is a declared parameter: a misspelt name raises TypeError instead of
    silently running the default.
    """
    out: dict[str, Any] = dict(_NAN_OUT)
    compile_numba()
    started = time.perf_counter()
    d = int(d)
    omega, c, shared = coupling_outputs(model, lam, t_over_omega, d, coupling, mu_star)
    out.update(shared)
    mcode = MODELS[model]
    common = dict(model=mcode, d=d, omega=omega, coupling=c, U=float(U_over_t),
                  V=float(V_over_t), nmax=int(max_phonons), rmax=int(max_separation),
                  lcloud=int(max_cloud), max_generations=int(max_steps) + 1)
    budget = float(max_memory_gb) * 1024**3
    seconds = float(max_seconds)

    def by(fraction: float) -> float | None:
        """Deadline at ``fraction`` of the wall-clock budget; None without a budget."""
        return started + fraction * seconds if seconds > 0 else None

    messages = []
    # the polaron gets a tenth of the memory and 1 % of the energy tolerance (it enters
    # Δ_BP); of the time, its growth gets 10 % and its K scan up to 20 %
    pol_prob = Problem(two_electrons=False, **common)
    st_p = Settings(energy_tol=0.01 * float(energy_tol), rel_tol=float(rel_tol), growth=growth,
                    max_steps=int(max_steps))
    st_p.max_states = max(64, int(0.1 * budget / VEDBasis(pol_prob, 64).bytes_per_state()))
    pol = grow(pol_prob, st_p, deadline=by(0.1))
    pol_ok = pol.reason in ("converged", "basis complete within caps")
    if not pol_ok:
        messages.append(f"polaron not converged ({pol.reason}; last dE = {pol.de_last:.2e} t "
                        f"at {pol.sizes[-1]} states)")
    try:
        e_p, k_p = _polaron_min(pol, d, st_p.lanczos_tol, deadline=by(0.2))
    except TimeCap:
        # E_P(K = 0) bounds min_K E_P from above, so Δ_BP may be overstated
        e_p, k_p = pol.energies[-1], 0.0
        pol_ok = False
        messages.append("polaron K scan not finished (time cap): E_P is E_P(K = 0)")
    out["e_p"] = e_p
    out["k_p"] = k_p
    out["basis_size_polaron"] = pol.sizes[-1]

    bp_prob = Problem(two_electrons=True, **common)
    st = Settings(energy_tol=float(energy_tol), rel_tol=float(rel_tol), growth=growth,
                  max_steps=int(max_steps))
    st.max_states = max(64, int(0.9 * budget / VEDBasis(bp_prob, 64).bytes_per_state()))

    def is_bound(e: float) -> bool:
        return 2.0 * e_p - e > binding_tol

    ser = grow(bp_prob, st, need_mass=True, need_r2=True, bound_check=is_bound,
               deadline=by(1.0))
    basis = ser.basis
    e_bp = ser.energies[-1]
    n = ser.sizes[-1]
    out["e_bp"] = e_bp
    out["basis_size"] = n
    out["growth_steps"] = len(ser.sizes)
    out["de_last"] = ser.de_last if len(ser.sizes) > 1 else math.nan
    out["nph_bp"] = ser.nph[-1]
    delta = 2.0 * e_p - e_bp
    out["delta_bp"] = delta
    out["delta_bp_over_omega"] = delta / omega
    bound = delta > binding_tol
    out["bound"] = bool(bound)
    converged = ser.reason in ("converged", "basis complete within caps")
    if not converged:
        messages.append(f"bipolaron not converged ({ser.reason}; last dE = {ser.de_last:.2e} t,"
                        f" dR2/R2 = {ser.rel_change(ser.r2):.2e} at {n} states)")
    if bound:
        r2 = ser.r2[-1]
        out["r2_bp"] = r2
        out["dr2_rel"] = ser.rel_change(ser.r2)
        psi = ser.psi
        # K = 0 must be the band minimum before its curvature means a mass
        kcheck = [np.eye(d)[0] * math.pi / 2, np.eye(d)[0] * math.pi]
        if d > 1:
            kcheck.append(np.ones(d) * math.pi)
        n_prev = ser.sizes[-2] if len(ser.sizes) > 1 else 0
        # the check compares E(K) with E(0) on one smaller basis of the series: the band
        # width (~1/m*) dwarfs the basis error, and each K solve starts far from its answer
        k_check = ser.step_with(K_CHECK_FRACTION * n)
        ncheck, e_ref = ser.sizes[k_check], ser.energies[k_check]
        deadline = by(1.0)
        timed_out = False
        try:
            ser.mass_at(-1, st.lanczos_tol, deadline)
            k0_min = True
            for K in kcheck:
                e_k = basis.ground(ncheck, K=K, v0=psi[:ncheck], tol=st.lanczos_tol,
                                   deadline=deadline)[0]
                if e_k < e_ref - 1e-9:
                    k0_min = False
        except TimeCap:
            converged, timed_out, k0_min = False, True, False
            messages.append("time cap before the mass and the K = 0 minimum check were done")
        if (n_prev and n_prev not in ser.masses and not timed_out
                and (deadline is None
                     or deadline - time.perf_counter() > 2.5 * ser.solve_seconds[-2])):
            # the mass's own last change, for a point the time cap stopped (about 1.7 K = 0
            # solves of the previous basis; skipped rather than overrun the budget)
            try:
                ser.mass_at(-2, st.lanczos_tol, deadline)
            except TimeCap:
                pass
        m_abs = ser.masses.get(n, math.nan)
        if n_prev and n_prev in ser.masses:
            out["dmass_rel"] = abs(m_abs - ser.masses[n_prev]) / abs(m_abs)
        out["mass_bp"] = m_abs  # t = 1: m*/(2 m_e) = m* t
        k0_min = k0_min and math.isfinite(m_abs)
        out["k0_minimum"] = bool(k0_min)
        if not k0_min and not timed_out:
            messages.append("E_BP(K) is not minimal at K = 0: the mass is not defined there")
        if math.isfinite(m_abs) and k0_min:
            tc = bipolaronic_tc(m_abs, r2, d, tc_prefactor)
            out["tc_over_omega"] = tc / omega
            out["tc_above_binding"] = bool(math.isfinite(tc) and tc > delta)
    else:
        out["k0_minimum"] = False
    out["memory_mb"] = max(basis.peak_bytes, pol.basis.peak_bytes) / 1024**2
    status = Status.OK if (converged and pol_ok) else Status.NOT_CONVERGED
    if status == Status.OK and bound and not math.isfinite(out["mass_bp"]):
        status = Status.NOT_CONVERGED
        messages.append("non-positive curvature of E_BP(K) at K = 0")
    out["status"] = status
    if messages:
        out["message"] = "; ".join(messages)
    return out


PARAMETERS = (
    Parameter("model", "1", "Hamiltonian: bond-Peierls (seed Eq. 6), Holstein (Eq. 2), or their "
              "antiadiabatic effective models (Eq. 4)", default="bond_peierls",
              choices=tuple(MODELS)),
    conventions.LAM,
    conventions.COUPLING,
    conventions.T_OVER_OMEGA,
    conventions.U_OVER_T,
    conventions.V_OVER_T,
    conventions.D,
    Parameter("energy_tol", "t", "convergence: max change of E_BP in the last growth step",
              default=1e-3, bounds=(1e-14, 1.0)),
    Parameter("rel_tol", "1", "convergence: max relative change of R²_BP and m*_BP in the "
              "last growth step", default=0.02, bounds=(1e-8, 1.0)),
    Parameter("binding_tol", "t", "Δ_BP above which the pair counts as bound", default=1e-3,
              bounds=(0.0, 1.0)),
    Parameter("max_memory_gb", "GiB", "array memory budget of one point (sets the state cap)",
              default=2.0, bounds=(0.01, 64.0)),
    Parameter("max_phonons", "1", "cap on the total number of phonon quanta", default=30,
              bounds=(0, 200), integer=True),
    Parameter("max_cloud", "a", "cap on a phonon's Manhattan distance from the nearer "
              "electron", default=100, bounds=(0, 100), integer=True),
    Parameter("max_separation", "a", "cap on each component of the ↑–↓ separation",
              default=100, bounds=(0, 1000), integer=True),
    Parameter("growth", "1", "basis growth: 'selected' (amplitude threshold) or "
              "'generations' (plain Bonča–Trugman)", default="selected",
              choices=("selected", "generations")),
    Parameter("max_steps", "1", "cap on growth steps", default=60, bounds=(1, 200),
              integer=True),
    Parameter("max_seconds", "s", "wall-clock budget of one point, 0 = none "
              "(with a budget an unconverged point's values depend on the machine's speed)",
              default=0.0, bounds=(0.0, 1e6)),
    conventions.TC_PREFACTOR,
    conventions.MU_STAR,
)

OUTPUTS = (
    Output("e_bp", "t", "bipolaron ground-state energy E_BP(K = 0)"),
    Output("e_p", "t", "polaron energy E_P, minimum over K"),
    Output("k_p", "1/a", "|K| of the polaron minimum (0 unless the band minimum moved)"),
    Output("delta_bp", "t", "binding energy Δ_BP = 2E_P − E_BP"),
    Output("delta_bp_over_omega", "1", "binding energy Δ_BP/Ω"),
    Output("mass_bp", "2 m_e", "bipolaron mass m*_BP/(2m_e), m_e = 1/(2t)", allow_nan=True),
    Output("r2_bp", "a²", "mean squared ↑–↓ separation R²_BP", allow_nan=True),
    Output("nph_bp", "1", "mean phonon number in the bipolaron"),
    Output("tc_over_omega", "1", "bipolaronic T_c/Ω (seed Eq. 8; d = 3: 1.2/(m*R²); NaN in "
           "d = 1 or when unbound)", allow_nan=True),
    Output("tc_above_binding", "1", "T_c exceeds Δ_BP (Eq. 8 not self-consistent)",
           dtype="bool"),
    Output("tc_me_over_omega", "1", "Migdal–Eliashberg (Allen–Dynes) T_c/Ω estimate"),
    Output("bound", "1", "Δ_BP > binding_tol", dtype="bool"),
    Output("k0_minimum", "1", "E_BP(K) checked minimal at K = 0", dtype="bool"),
    Output("basis_size", "1", "states in the final bipolaron basis", dtype="int64"),
    Output("basis_size_polaron", "1", "states in the final polaron basis", dtype="int64"),
    Output("growth_steps", "1", "bipolaron growth steps solved", dtype="int32"),
    Output("de_last", "t", "decrease of E_BP in the last growth step", allow_nan=True),
    Output("dmass_rel", "1", "relative change of m*_BP in the last step", allow_nan=True),
    Output("dr2_rel", "1", "relative change of R²_BP in the last step", allow_nan=True),
    Output("memory_mb", "MiB", "peak array memory of the point (estimate from array sizes)"),
    Output("lambda_eff", "1", "λ in the model's convention"),
    Output("coupling_over_omega", "1", "α/Ω (bond-Peierls) or g/Ω (Holstein)"),
)


KERNELS = (
    Kernel(
        name="bipolaron",
        version="0.2.0",
        summary="bond-Peierls vs Holstein bipolarons by VED: E_BP, m*, R², T_c (Eq. 8)",
        reference="Sous, bipolaron perspective, Eqs. 2, 4-9 (docs/models/bipolaron.md)",
        parameters=PARAMETERS,
        outputs=OUTPUTS,
        solve_point=solve_point,
        # Measured: the 1-D example (examples/bipolaron_dome.toml) averages ~26 s per point
        # on one core, 2-D points 20-300 s (bench/results/bipolaron_2d_U8.txt). Anything
        # above the engine's ~5 s block target gives one-point blocks; 1 ms (the default)
        # made automatic blocks of hours.
        seconds_per_point=30.0,
        doc=__doc__ or "",
    ),
)
