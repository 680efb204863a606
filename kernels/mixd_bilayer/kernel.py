"""Mean field of the mixed-dimensional (MixD+V) t-J bilayer: BCS-to-BEC crossover of holes.

Seed: P. Borchia, H. Lange, F. Grusdt, "Extended s-wave pairing from an emergent Feshbach
resonance in bilayer nickelate superconductors" (2025)
Sec. II–IV and Appendices B, C. Equations, conventions, choices and findings:
``docs/models/mixd_bilayer.md``.

Kernel ``mixd_bilayer``
-----------------------
Variational ground state (seed Eq. 9 / B1) of the effective sc–cc Hamiltonian (seed Eq. 3,
A14): a BCS state of spinon-chargon (sc) singlets on opposite layers times a coherent state
of chargon-chargon (cc) pairs at zero momentum. The ground state minimises the variational
energy (seed B9) under the hole-number constraint; it solves the gap equation (B15), the β
equation (B17) and the hole-number equation (B19) together.

Units and conventions (the seed's unless marked *choice*)
---------------------------------------------------------
- Energy unit V = 1 (the on-rung Coulomb repulsion). Parameters J⊥/V, t∥/V.
- Lattice: L (ladder, d = 1) or L×L (bilayer, d = 2) rungs, periodic, k on the L^d grid
  2πm/L with m = −⌊(L−1)/2⌋ … ⌊L/2⌋ (Γ in the middle, π included for even L).
- Doping δ = N_h/L^d holes per rung (the seed's δ = 8/30 at L = 30 is N_h = 8);
  ``doping_convention = "site"`` reads it per site instead, N_h = δ·2L^d.
- d dimensions: cos k → γ_k = Σ_a cos k_a; the recombination form factor is
  f_k = γ_k + 2ε cos k_x cos k_y (diagonal recombination, seed Eq. 13, d = 2 only).
- ξ_k = t∥(1 − 2|β|²/L^d) γ_k + J⊥ − (3/2)t∥²/J⊥ + μ_h, derived from B9 (B10/B11 print
  t∥|β|²/L; differentiating B9 gives 2t∥|β|²/L). V_kk' = (3/2)(t∥²/J⊥) γ_{k−k'} (B11).
- ⟨H⟩ is B9 (= B20 at the solution, with B20's typo t∥² → t∥ in the |β|² term). The triplet
  term of A14 drops out of B7 for the singlet ansatz and the quartic Hartree terms of B7
  are dropped as in the seed (B8); neither is re-added. Gutzwiller projections are dropped
  (seed: valid for δ < 0.5).
- *choice*: β is real and ≥ 0 (B17 gives Im β = 0; the overall sign is a gauge choice that
  flips Δ_k). So the sign of Δ_k is meaningful only relative to other k: ``delta_gamma``
  and ``delta_corner`` are signed in this gauge, ``delta_kstar`` is |Δ_{k*}|.
- *choice*: N_h must be a positive even integer ≤ L^d/2 (δ ≤ 0.5 per rung, the seed's
  range of validity without Gutzwiller projection, Sec. II): every component of the ansatz
  holds an even number of holes (sc singlet pairs and cc's carry two each).
  "Integer" is tested with an absolute tolerance of 1e-6 on δ·L^d, so 8/30 written as
  0.26666666666666666 gives N_h = 8.
- *choice*: Δ_k is even in k (the ansatz pairs k with −k); the sin k_a harmonics of V_kk'
  then drop out, and Δ_k = 4t∥(β/√L^d) f_k − (3/2)(t∥²/J⊥) C γ_k with one coefficient C
  (C_x = C_y: the dual problem below is strictly concave in (C_x, C_y) and x ↔ y
  symmetric). The tests check against an unrestricted solve on all L^d components from a
  random, non-even start.
- Energies ``energy`` and ``energy_minus_bg`` are totals for the L^d system (seed Fig. 4);
  densities n_sc = N_sc/L^d, n_cc = N_cc/L^d = |β|²/L^d (seed App. B).
- E_B = 2Δ_gap, Δ_gap = min_k E_k, E_k = √(ξ_k² + Δ_k²) (seed Eq. 10, App. C).
- *choice*: pairing-symmetry code from the sign structure of Δ_k on the grid: −1 no pairing
  (Δ ≡ 0), 0 s-wave without sign change, 1 extended s (Δ changes sign and Δ_Γ Δ_M < 0, two
  regions, seed Fig. 2), 2 extended s with a third region (sign change but Δ_Γ Δ_M > 0: the
  zone corners take Γ's sign, seed Fig. 7). M = (π, …, π); Δ_Γ and Δ_M are evaluated from
  the closed form of Δ_k, also for odd L.

Solver (see :mod:`.numerics` for the derivation)
-------------------------------------------------------
At fixed b = β/√L^d, minimising B9 over θ_k at fixed N_h is the maximum of a concave dual
function of (μ_h, C): unique, found by Newton steps with a bracketed fallback. The ground
state is then min over b of that profile e*(b): a fixed scan from the BEC side (all holes in
cc's) to the BCS side (b → 0) brackets every local minimum (sign change of de*/db ∝ the
B17 residual; dips of e* next to kinks), each is refined (Brent, then Newton on
B15 + B17 + B19), and the lowest wins. The β = 0 branch — the sc Fermi sea, an exact
stationary point of B9 — always competes. ``branch`` says which won (0: β = 0, 1: β ≠ 0);
``n_minima`` counts the local minima of e*(β) found (> 1: coexisting solutions, the
issue's "start from both sides"). ``status`` is OK when the relative residuals of B15,
B17, B19, recomputed from the per-k arrays, are below 1e-10 and N_h holds to 1e-10.

Validated region (the parameter bounds): 0.1 ≤ J⊥/V ≤ 10, 0.01 ≤ t∥/V ≤ 0.3, δ ≤ 0.5. There,
at 660 random points (L ≤ 100 for d = 1, L ≤ 16 for d = 2, ε ∈ {0, 1.5, −1}), a 4×
denser β scan picks the same minimum. Outside it (δ → 1, where gap nodes meet a half-filled sc band, or t∥ ≳ J⊥ with
ε ≠ 0) the search found differing or non-stationary (kink) minima at a few points.

Optional Δ_k map
----------------
``with_delta_k_map = True`` stores Δ_k on the whole grid in the output ``delta_k`` with
dimensions (kx, ky): L × L for d = 2, L × 1 (ky = 0) for d = 1. Its size depends on L and
d, so they must be fixed (not swept) and the flag itself must be fixed. With the default
False the grid collapses to the single point Γ (kx = ky = 0) and ``delta_k`` holds Δ_Γ.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._api import Kernel, KernelInputError, Output, Parameter, Status
from .numerics import V_UNIT, Lattice, MixdSolution, k_axis, make_lattice, solve_mixd

__all__ = ["KERNELS", "check_inputs", "extra_coords", "mixd_bilayer_kernel", "solve_point"]

#: Absolute tolerance on doping·L^d (or doping·2L^d) being an integer.
HOLE_NUMBER_TOL = 1e-6
#: Largest k grid (L^d) per point.
MAX_K_POINTS = 16384

_PARAMETERS = (
    Parameter(
        "J_perp",
        "V",
        "inter-layer spin exchange J⊥ in units of the rung repulsion V (seed Eq. 1)",
        default=1.0,
        bounds=(0.1, 10.0),
    ),
    Parameter(
        "doping",
        "1",
        "hole doping δ = N_h/L^d per rung (per site with doping_convention='site'); "
        "δ·L^d must be an even integer",
        default=8 / 30,
        bounds=(0.0, 0.5),
    ),
    Parameter(
        "t_par",
        "V",
        "intra-layer hopping t∥/V (seed Eq. 1; the effective model needs t∥ ≪ J⊥, V)",
        default=0.1,
        bounds=(0.01, 0.3),
    ),
    Parameter("L", "1", "linear size: L rungs (d = 1) or L×L rungs (d = 2), periodic", default=30,
              bounds=(4, MAX_K_POINTS), integer=True),
    Parameter("d", "1", "dimension: 1 = two-leg ladder, 2 = square-lattice bilayer", default=1,
              choices=(1, 2)),
    Parameter(
        "eps",
        "1",
        "diagonal recombination strength ε (seed Eq. 13, Fig. 7); d = 2 only",
        default=0.0,
        bounds=(-3.0, 3.0),
    ),
    Parameter(
        "doping_convention",
        "1",
        "'rung': δ = N_h/L^d (the seed's); 'site': δ = N_h/(2L^d)",
        default="rung",
        choices=("rung", "site"),
    ),
    Parameter(
        "with_delta_k_map",
        "1",
        "store Δ_k on the whole k grid in delta_k (L and d must then be fixed)",
        default=False,
        choices=(False, True),
    ),
)

_OUTPUTS = (
    Output("mu_h", "V", "hole chemical potential μ_h (seed Eq. 3; enters as +μ_h N̂)"),
    Output("beta", "1", "cc condensate amplitude β (seed Eq. 9), real ≥ 0; N_cc = β²"),
    Output("n_sc", "1", "sc holes per rung N_sc/L^d = (2/L^d) Σ_k v_k² (seed App. B)"),
    Output("n_cc", "1", "cc pairs per rung N_cc/L^d = β²/L^d (seed App. B)"),
    Output("sc_cc_balance", "1", "(N_sc − 2N_cc)/N_h: > 0 sc (BCS) side, < 0 cc (BEC) side (Fig. 3)"),
    Output("energy", "V", "⟨H⟩ of the L^d system, seed B9/B20 at the solution (Fig. 4 left)"),
    Output("energy_minus_bg", "V", "E − J⊥N_sc − (V + J⊥)N_cc, total (Fig. 4 right)"),
    Output("delta_gap", "V", "pairing gap Δ_gap = min_k E_k, E_k = √(ξ_k² + Δ_k²) (App. C)"),
    Output("binding_energy", "V", "binding energy E_B = 2Δ_gap (seed Eq. 10, App. C, Fig. 5)"),
    Output("delta_kstar", "V", "|Δ_k| at k* = argmin_k E_k (Fig. 5, dashed)"),
    Output("O_BEC", "1", "BEC order parameter √(N_cc/L^d) (seed Eq. 11)"),
    Output("O_BCS", "1", "BCS order parameter (1/L^d) Σ_k |Δ_k|/E_k (seed Eq. 12)"),
    Output("delta_gamma", "V", "Δ_k at Γ (sign in the gauge β ≥ 0)"),
    Output("delta_corner", "V", "Δ_k at the zone corner (π, …, π) (sign in the gauge β ≥ 0)"),
    Output(
        "pairing_symmetry",
        "1",
        "−1 no pairing, 0 s (no sign change), 1 extended s (Δ_Γ Δ_M < 0, Fig. 2), "
        "2 extended s with a third region at the corners (Fig. 7)",
        dtype="int8",
    ),
    Output("branch", "1", "winning solution: 0 β = 0 (sc Fermi sea), 1 β ≠ 0", dtype="int8"),
    Output("n_minima", "1", "local minima of the energy along β found (> 1: coexisting branches)",
           dtype="int32"),
    Output("residual", "1", "largest relative residual of B15, B17, B19 at the solution"),
    Output("n_evaluations", "1", "k-grid evaluations used (cost diagnostic)", dtype="int32"),
    Output("delta_k", "V", "Δ_k on the k grid (only Γ unless with_delta_k_map)", dims=("kx", "ky")),
)


# -- validation -------------------------------------------------------------------------


def _hole_number(doping: float, L: int, d: int, convention: str) -> float:
    return float(doping) * float(L) ** int(d) * (2.0 if convention == "site" else 1.0)


def _pair_error(doping: float, L: int, d: int, eps: float, convention: str) -> str | None:
    """Message for an invalid combination, or None."""
    n_rungs = int(L) ** int(d)
    if n_rungs > MAX_K_POINTS:
        return (
            f"L: L^d = {n_rungs} k points at L = {L}, d = {d} is too large; allowed: "
            f"L^d <= {MAX_K_POINTS} (L <= {int(math.isqrt(MAX_K_POINTS))} for d = 2)"
        )
    if int(d) == 1 and float(eps) != 0.0:
        return (
            f"eps: diagonal recombination eps = {float(eps):g} needs d = 2; "
            "allowed: eps = 0 for d = 1"
        )
    per = "2L^d" if convention == "site" else "L^d"
    n_h = _hole_number(doping, L, d, convention)
    n_int = round(n_h)
    allowed = (
        f"allowed: doping × {per} must be an even integer N_h in [2, L^d/2] "
        f"(tolerance {HOLE_NUMBER_TOL:g}), e.g. doping = 8/30 at L = 30, d = 1"
    )
    where = f"doping = {float(doping)!r} with L = {int(L)}, d = {int(d)}"
    if abs(n_h - n_int) > HOLE_NUMBER_TOL:
        return f"doping: {where} gives N_h = {n_h:.9g} holes, not an integer; {allowed}"
    if n_int % 2:
        return f"doping: {where} gives N_h = {n_int}, an odd hole number; {allowed}"
    if not 2 <= n_int <= n_rungs // 2:
        return f"doping: {where} gives N_h = {n_int}, out of range; {allowed}"
    return None


def _values(params: Mapping[str, Any], name: str) -> list[Any]:
    return next(p for p in _PARAMETERS if p.name == name).distinct(params)


def check_inputs(params: Mapping[str, Any]) -> None:
    """Cross-parameter validation (raises :class:`KernelInputError` naming the field).

    Checks every combination of the distinct values of doping, L, d, eps and
    doping_convention — a superset of the pairs on a Cartesian grid, whether the arrays
    are per-axis values or the flattened grid.
    """
    flag = np.asarray(params.get("with_delta_k_map", False))
    if flag.ndim > 0 and bool(np.any(flag)):
        raise KernelInputError(
            "with_delta_k_map: must be fixed (not an axis); allowed: with_delta_k_map = true "
            "or false in [fixed]"
        )
    if bool(np.any(flag)):
        for name in ("L", "d"):
            if name in params and np.asarray(params[name]).ndim > 0:
                raise KernelInputError(
                    f"{name}: with_delta_k_map = true stores an L^d grid per point, so {name} "
                    f"must be fixed, not swept; allowed: a single value of {name} in [fixed]"
                )
    combos = itertools.product(
        *(_values(params, n) for n in ("doping", "L", "d", "eps", "doping_convention"))
    )
    for doping, L, d, eps, convention in combos:
        error = _pair_error(doping, L, d, eps, convention)
        if error:
            raise KernelInputError(error)


def extra_coords(fixed: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """k coordinates of ``delta_k``: the L^d grid with the map, else Γ alone."""
    if not bool(fixed.get("with_delta_k_map", False)):
        return {"kx": np.zeros(1), "ky": np.zeros(1)}
    missing = [n for n in ("L", "d") if n not in fixed]
    if missing:
        raise KernelInputError(
            f"{missing[0]}: with_delta_k_map = true needs L and d fixed (the map has L^d "
            "points per sweep point); allowed: fix them in [fixed]"
        )
    L, d = int(fixed["L"]), int(fixed["d"])
    kx = k_axis(L)
    return {"kx": kx, "ky": kx.copy() if d == 2 else np.zeros(1)}


# -- solving ----------------------------------------------------------------------------

_LATTICES: dict[tuple[int, int, float], Lattice] = {}


def _lattice(L: int, d: int, eps: float) -> Lattice:
    # A cache only: a lattice is a pure function of (L, d, eps).
    key = (L, d, eps)
    if key not in _LATTICES:
        if len(_LATTICES) > 64:
            _LATTICES.clear()
        _LATTICES[key] = make_lattice(L, d, eps)
    return _LATTICES[key]


def _symmetry_code(delta: np.ndarray, d_gamma: float, d_corner: float) -> int:
    scale = float(np.max(np.abs(delta))) if delta.size else 0.0
    if scale == 0.0:
        return -1
    tol = 1e-12 * scale
    if not (np.any(delta > tol) and np.any(delta < -tol)):
        return 0
    return 1 if d_gamma * d_corner < 0.0 else 2


def _outputs(sol: MixdSolution, lat: Lattice, J: float, t: float, n_holes: int,
             with_map: bool) -> dict[str, Any]:
    N = lat.n_sites
    f = sol.fields
    b = sol.b
    n_sc = float(np.mean(1.0 - f.w))
    n_cc = b * b
    k_star = int(np.argmin(f.e))
    g = 1.5 * t * t / J
    # Closed form of Δ_k at Γ and M: f and γ are (d + 2ε[d=2], d) at Γ, (−d + 2ε[d=2], −d) at M.
    diag = 2.0 * lat.eps if lat.d == 2 else 0.0
    d_gamma = 4.0 * t * b * (lat.d + diag) - g * sol.C * lat.d
    d_corner = 4.0 * t * b * (-lat.d + diag) + g * sol.C * lat.d
    if b == 0.0:
        d_gamma = d_corner = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(f.e > 0.0, np.abs(f.delta) / f.e, 0.0)
    if with_map:
        delta_k = f.delta.reshape(lat.L, lat.L if lat.d == 2 else 1).copy()
    else:
        delta_k = np.array([[d_gamma]])
    return {
        "mu_h": sol.mu,
        "beta": b * math.sqrt(N),
        "n_sc": n_sc,
        "n_cc": n_cc,
        "sc_cc_balance": (n_sc - 2.0 * n_cc) * N / n_holes,
        "energy": sol.energy * N,
        "energy_minus_bg": (sol.energy - J * n_sc - (V_UNIT + J) * n_cc) * N,
        "delta_gap": float(f.e[k_star]),
        "binding_energy": 2.0 * float(f.e[k_star]),
        "delta_kstar": abs(float(f.delta[k_star])),
        "O_BEC": b,
        "O_BCS": float(np.mean(ratio)),
        "delta_gamma": d_gamma,
        "delta_corner": d_corner,
        "pairing_symmetry": _symmetry_code(f.delta, d_gamma, d_corner),
        "branch": sol.branch,
        "n_minima": sol.n_minima,
        "residual": sol.residual,
        "n_evaluations": sol.n_evals,
        "delta_k": delta_k,
    }


def _failed(L: int, d: int, with_map: bool, message: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for o in _OUTPUTS:
        if o.dims:
            shape = (L, L if d == 2 else 1) if with_map else (1, 1)
            out[o.name] = np.full(shape, o.fill_value, dtype=o.dtype)
        else:
            out[o.name] = o.fill_value
    out["status"] = Status.FAILED
    out["message"] = message
    return out


def solve_point(
    J_perp: float = 1.0,
    doping: float = 8 / 30,
    t_par: float = 0.1,
    L: int = 30,
    d: int = 1,
    eps: float = 0.0,
    doping_convention: str = "rung",
    with_delta_k_map: bool = False,
) -> dict[str, Any]:
    """Ground state at one parameter point; see the module docstring.

    Parameters
    ----------
    J_perp, t_par
        J⊥/V and t∥/V.
    doping
        δ = N_h/L^d (or N_h/(2L^d) with ``doping_convention = "site"``).
    L, d
        Linear size and dimension (1 ladder, 2 bilayer).
    eps
        Diagonal recombination ε (d = 2).
    doping_convention
        "rung" or "site".
    with_delta_k_map
        Return Δ_k on the whole grid in ``delta_k`` (shape (L, L) or (L, 1)).

    Returns
    -------
    dict
        One value per declared output, ``status`` and, if not OK, ``message``.
    """
    L, d, with_map = int(L), int(d), bool(with_delta_k_map)
    error = _pair_error(doping, L, d, eps, str(doping_convention))
    if error is not None:
        return _failed(L, d, with_map, error)
    n_holes = round(_hole_number(doping, L, d, str(doping_convention)))
    lat = _lattice(L, d, float(eps))
    sol = solve_mixd(float(J_perp), float(t_par), n_holes / lat.n_sites, lat)
    out = _outputs(sol, lat, float(J_perp), float(t_par), n_holes, with_map)
    out["status"] = Status.OK if sol.converged else Status.NOT_CONVERGED
    if not sol.converged:
        out["message"] = sol.message
    return out


mixd_bilayer_kernel = Kernel(
    name="mixd_bilayer",
    version="1",
    summary="MixD+V t-J bilayer mean field: BCS-to-BEC crossover of hole pairs, extended s-wave gap",
    reference=(
        "Borchia, Lange, Grusdt (2025), extended s-wave pairing in bilayer nickelates: Eqs. 3, 9–13, "
        "B9 (energy), B15 (gap), B17 (β), B19 (N_h), B20, C1"
    ),
    parameters=_PARAMETERS,
    outputs=_OUTPUTS,
    solve_point=solve_point,
    extra_coords=extra_coords,
    check_inputs=check_inputs,
    seconds_per_point=0.01,
    doc=__doc__ or "",
)

KERNELS = (mixd_bilayer_kernel,)
