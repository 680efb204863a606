"""Pairing of a 2-D two-component Fermi gas mediated by a two-component (spinor) BEC.

Seed: G. Bighin, P. A. Murthy, N. Defenu, T. Enss, "Resonantly enhanced superconductivity
mediated by spinor condensates", Phys. Rev. Research 7, L022070 (2025)
Equations, conventions, choices and findings: ``docs/models/spinor_bec.md``.

Kernels
-------
``spinor_bec_couplings``
    Sound velocities (formula under seed Eq. 2), spin healing length, and the partial-wave
    couplings λ_ℓ (seed Eq. 8) of the static interaction, ℓ = 0, 1, 2, both from the
    closed forms (seed Eq. 9 and its general-ℓ form) and from an independent adaptive quadrature.
``spinor_bec``
    Full numerical solution of the BCS gap equation (seed Eq. 10) with the retarded
    two-mode interaction of seed Eq. 6: Δ_ℓ(k_F) at temperature T and T_c,ℓ for ℓ = 0, 1, 2,
    each checked by grid refinement (see :mod:`.gap` for the numerics), at
    μ_F = ε_F or with μ_F from the number equation (``chemical_potential``).

Units and conventions (the seed's unless marked *choice*)
---------------------------------------------------------
- ħ = k_B = 1, k_F = 1, ε_F = 1 (m_F = 1/2, v_F = 2), T in units of T_F = ε_F.
- Boson mass m = m_F · ``mass_ratio``; equal component densities n₁ = n₂ = n =
  ``density_ratio`` · n_F, n_F = k_F²/2π the total fermion density.
- Dimensionless couplings g̃ = m g/ħ²: ``g`` (g̃₁₁ = g̃₂₂), ``delta_g`` = g̃ − g̃₁₂,
  ``g_F`` = m(g_F1 − g_F2)/2 (spin mode), ``g_F_plus`` = m(g_F1 + g_F2)/2 (density mode).
- N₀ = m_F/π (both spins) in λ_ℓ; α from its definition, α = g̃_F² m_F n/(2π² m n_F).
- *choice*: the two Bogoliubov branches are labelled by mode character: "spin" is the
  out-of-phase mode, m c_s² = n δg, "density" the in-phase one, m c_d² = n(2g − δg).
  For δg̃ ≤ g̃ (repulsive g̃₁₂, the seed's case) this is the −/+ branch of the formula under
  seed Eq. 2; for g̃ < δg̃ < 2g̃ (attractive g̃₁₂) the spin mode is the upper branch.
- *choice*: validity δg̃ > 0 and 2g̃ − δg̃ > 0 (the miscibility condition g₁₂² < g₁₁g₂₂ of
  a homogeneous two-component BEC, both sound velocities real); enforced with a margin of
  1e-5 on both sides.
- Gap equation: Σ_k' = ∫d²k'/(2π)² per spin, ξ_k = ε_k − μ_F, so the equation
  sees λ_ℓ/2 and Δ_ℓ ∝ exp(−2/|λ_ℓ|) at weak coupling. μ_F (output ``mu``, per channel):
  ``chemical_potential = "fixed"`` (default): μ_F = ε_F exactly, at every T (kernel
  version 1's behaviour, bit for bit). ``"number"``: μ_F solved jointly with Δ_ℓ(k) so that
  the fermion density is n_F = k_F²/2π at the given T (2-D, both spins),
  n = ∫d²k/(2π)² [1 − ξ_k/E_k tanh(E_k/2T)], E_k = √(ξ_k² + Δ_ℓ(|k|)²) (|Δ(k)| of the chiral
  state is isotropic, so the angular integral is trivial for every ℓ). Each channel is a
  separate mean-field state, so each has its own μ_F.
- *choice* (number mode): wherever Δ_ℓ = 0 — in the linearised equation that gives T_c,ℓ,
  and at T ≥ T_c,ℓ — μ_F is the normal state's μ(T) = T ln(e^{ε_F/T} − 1) (2-D ideal Fermi
  gas, exact; = ε_F to machine precision below T ≈ ε_F/745, so T_c,ℓ ≲ 1e-3 T_F are
  identical in both modes). The reported Δ_ℓ(k_F) stays the gap at k = k_F, not at
  k_μ = √(2m_F μ_F); |k_μ − k_F| is O(Δ²).
- *choice* (number mode): ``refine_diff_mu`` = |μ_check − μ_main| in units of ε_F (absolute,
  μ_F may pass through 0 on the BEC side) must also stay below ``tolerance`` for status ok.
- Number mode at weak coupling: μ_F − ε_F = O(Δ²) and *positive* for the mediated
  interaction (Δ_ℓ(k) is larger inside the Fermi sea than outside, so holes below k_F outweigh
  particles above), unlike the 2-D contact result μ = ε_F − Δ²/4ε_F (Randeria, Duan, Shieh,
  PRL 62, 981 (1989)), which the solver reproduces only in the short-range limit
  k_F ξ_s → 0 at fixed binding energy — outside this kernel's ranges (k_F ξ_s ≥ 0.2 and
  α ≤ 1 keep the finite-range change of the exponent ≥ 1/α); tested at the solver level.
- *choice*: for ℓ ≥ 1 the nonlinear equation is solved for the chiral state
  Δ(k) = Δ_ℓ(|k|) e^{iℓφ}, whose |Δ(k)| is isotropic so that one channel closes exactly; the
  linearised equation (T_c) is the same for cos ℓφ. Δ_ℓ(k_F) is the amplitude |Δ| on the
  Fermi surface.
- *choice*: T_c,ℓ below ``TC_FLOOR`` = 1e-6 T_F is reported as 0 and then Δ_ℓ = 0 too
  (the gap would be below ~2e-6 ε_F, which the grids are not graded to resolve).
- *choice*: ``interaction = "static"`` drops the frequency transfer (Ω = 0 in seed Eq. 6),
  the approximation behind the λ_ℓ of seed Eqs. 8–9; "retarded" (default) is seed Eq. 6.
- No momentum cutoff: [3k_F, ∞) is mapped onto a finite interval. The k integral converges
  as K^-4 with a hard cutoff K for both the retarded and the static interaction (the
  Bogoliubov-mediated V falls as 1/q² at large q); retardation is what limits the resonant
  forward-scattering part to |ε_k − ε_k'| ≲ 2mc_s².
- Reported diagnostic ``bf_stability`` = N₀(2g_F²/δg + 2g_F+²/(2g − δg)): the mean-field
  Bose–Fermi mixture is mechanically stable only where it is < 1. The seed's regime near
  the spinodal has it ≫ 1 (the seed treats its parameters as renormalised quasiparticle
  values); it is reported, not enforced.
- *choice*: ``spinor_bec`` accepts α_s + α_d = (g̃_F² + g̃_F+²)(n/n_F)/(2π² m/m_F) ≤ 1
  (Δ_0 ≈ 1.2 ε_F at α = 0.8 near the spinodal); beyond it the fixed-μ BCS mean field is
  meaningless and its searches fail. Δ ≳ 0.3 ε_F should be read with that caveat anyway.
  The same bound holds in number mode. There, with the *static* interaction near the
  spinodal at α ≳ 0.5 (Δ ≳ 3 ε_F, μ_F < 0), Newton can stall or land on different branches
  on the two grids (status not_converged), as the fixed-μ solver sometimes does there too;
  every retarded point tried (δg̃ = 1e-5…0.1, α = 0.2…1) converges in both modes.
- Seed Eq. 6 as written: its q → 0 static limit is −g_F²/δg, half the
  thermodynamic induced interaction −2g_F²/δg (second-order exchange, −2|M|²/ω). Doubling
  it is equivalent to g̃_F → √2 g̃_F.

Solver and accuracy (``spinor_bec``)
------------------------------------
Nyström discretisation of the radial equation with product integration (details in
:mod:`.gap`). Every point is solved on a scout grid (brackets T_c,ℓ and gives
start vectors), a main grid graded to 0.1 × min T_c,ℓ, and a check grid refining every knob;
the check grid's values are returned, the relative change from the main grid is reported
(``refine_diff_*``) and must stay below ``tolerance`` = 1e-6 for status ok (typically
1e-9 to 5e-8). About 0.2–0.7 s per point on one core (``bench/spinor_bec_points.py``).
Number mode adds μ as an (N + 1)-th Newton unknown with the number equation as its row
(same grids, same quadrature weights); it costs about the same per point.

What the solution shows (δg̃ = 1e-3, g̃_F = 2, n = n_F, m = m_F): λ_0 = −16.1 but
Δ_0 = 0.137 ε_F, T_c,0 = 0.070 T_F. Retardation confines the resonant (ξ_s-enhanced)
forward scattering to |ε_k − ε_k'| ≲ 2mc_s², a window whose weight ∝ ξ_s · c_s² → 0, so Δ_ℓ
grow monotonically but saturate as δg̃ → 0 (Δ_0 = 0.1443 ε_F at δg̃ = 1e-5) instead of
following λ_ℓ ∝ δg̃^-1/2; the static interaction gives Δ_0 = 1.55 ε_F at the same point.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np
from scipy.integrate import IntegrationWarning, quad

from .._api import Kernel, KernelInputError, Output, Parameter, Status
from .gap import REFINE_RTOL, TC_FLOOR, Outcome, solve_point
from .physics import (
    ELLS,
    N0,
    V_F,
    Model,
    interaction_moments,
    static_closed_form,
    static_interaction,
)

__all__ = ["KERNELS", "couplings_kernel", "gap_kernel"]

#: Smallest allowed distance to either instability (δg̃ → 0 and δg̃ → 2g̃).
_STABILITY_MARGIN = 1e-5
#: Relative agreement of closed form and quadrature below which a point is "ok".
_LAMBDA_RTOL = 1e-8


def _common_parameters() -> tuple[Parameter, ...]:
    return (
        Parameter(
            "delta_g",
            "1",
            "detuning from the spinodal δg̃ = m(√(g₁₁g₂₂) − g₁₂)/ħ² (seed Fig. 1b); > 0 is miscible",
            default=1e-3,
            bounds=(1e-5, 2.0),
        ),
        Parameter(
            "g_F",
            "1",
            "spin-mode Bose-Fermi coupling g̃_F = m(g_F1 − g_F2)/2ħ² (seed below Eq. 5)",
            default=2.0,
            bounds=(0.0, 5.0),
        ),
        Parameter(
            "g_F_plus",
            "1",
            "density-mode Bose-Fermi coupling g̃_F+ = m(g_F1 + g_F2)/2ħ² (0 gives seed Eq. 7)",
            default=0.0,
            bounds=(0.0, 5.0),
        ),
        Parameter(
            "g",
            "1",
            "intra-species boson coupling g̃ = m g₁₁/ħ² = m g₂₂/ħ²",
            default=0.1,
            bounds=(1e-3, 1.0),
        ),
        Parameter(
            "density_ratio",
            "1",
            "boson density per component over fermion density, n/n_F (n₁ = n₂ = n)",
            default=1.0,
            bounds=(0.01, 100.0),
        ),
        Parameter(
            "mass_ratio",
            "1",
            "boson over fermion mass, m/m_F",
            default=1.0,
            bounds=(0.01, 100.0),
        ),
    )


def check_inputs(params: Mapping[str, np.ndarray]) -> None:
    """Miscibility of the BEC: 1e-5 ≤ δg̃ ≤ 2g̃ − 1e-5 (both sound velocities real)."""
    dg = np.asarray(params.get("delta_g", 1e-3), dtype=float)
    g = np.asarray(params.get("g", 0.1), dtype=float)
    dg, g = np.broadcast_arrays(dg, g)
    bad = 2.0 * g - dg < _STABILITY_MARGIN
    if np.any(bad):
        i = np.flatnonzero(bad.ravel())[0]
        raise KernelInputError(
            f"delta_g: δg̃ = {dg.ravel()[i]:g} with g = {g.ravel()[i]:g} makes the BEC immiscible "
            f"(density mode unstable); allowed: delta_g <= 2*g - {_STABILITY_MARGIN:g}"
        )


def _model_from(params: Mapping[str, np.ndarray]) -> Model:
    return Model(
        delta_g=np.asarray(params["delta_g"], dtype=float),
        g_F=np.asarray(params["g_F"], dtype=float),
        g_F_plus=np.asarray(params["g_F_plus"], dtype=float),
        g=np.asarray(params["g"], dtype=float),
        density_ratio=np.asarray(params["density_ratio"], dtype=float),
        mass_ratio=np.asarray(params["mass_ratio"], dtype=float),
    )


def _scalar_model(model: Model, i: int) -> Model:
    return Model(*(float(np.asarray(getattr(model, f)).ravel()[i]) for f in Model.__dataclass_fields__))


def lambda_quadrature(model: Model, ell: int) -> float:
    """λ_ℓ of seed Eq. 8 by adaptive quadrature of the static seed Eq. 6 (one point).

    Independent of the closed form: the integrand is built from the Bogoliubov dispersion
    and vertices (:func:`static_interaction`), and the θ range is split at multiples of
    1/(k_F ξ) so that the forward peak of width 1/(k_F ξ_s) is resolved.
    """
    kappa = max(float(model.kF_xi_s), float(model.kF_xi_d))

    def integrand(theta: float) -> float:
        q2 = 2.0 * (1.0 - math.cos(theta))
        # Below θ ~ 1e-8 the q² above loses all digits; the integrand's limit there is V(0).
        q2 = max(q2, theta * theta * (1.0 - theta * theta / 12.0))
        return N0 * math.cos(ell * theta) * float(static_interaction(model, q2)) / math.pi

    breaks = [0.0] + [b / kappa for b in (1.0, 10.0, 100.0) if b / kappa < math.pi] + [math.pi]
    total = 0.0
    with warnings.catch_warnings():
        # Asking for 1e-13 makes QUADPACK warn about round-off once it has reached ~1e-15;
        # the closed-form comparison, not the warning, is the accuracy check.
        warnings.simplefilter("ignore", IntegrationWarning)
        for a, b in zip(breaks[:-1], breaks[1:]):
            total += quad(integrand, a, b, epsabs=0.0, epsrel=1e-13, limit=400)[0]
    return total


def solve_couplings_block(params: Mapping[str, np.ndarray]) -> dict:
    """Vectorised closed forms; the quadrature check runs per point (three adaptive
    quadratures, ~10 ms a point: ``seconds_per_point`` below, ``bench/spinor_bec_points.py``)."""
    model = _model_from(params)
    n = np.asarray(params["delta_g"]).shape[0]
    closed = static_closed_form(model)
    numeric = np.empty((n, len(ELLS)))
    for i in range(n):
        point = _scalar_model(model, i)
        for j, ell in enumerate(ELLS):
            numeric[i, j] = lambda_quadrature(point, ell)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(closed != 0.0, np.abs(numeric / closed - 1.0), np.abs(numeric))
    rel_max = rel.max(axis=1)
    status = np.where(rel_max <= _LAMBDA_RTOL, Status.OK, Status.NOT_CONVERGED).astype(np.uint8)
    messages = {
        int(i): f"quadrature and closed form of λ_ℓ differ by {rel_max[i]:.2e} relative (> {_LAMBDA_RTOL:g})"
        for i in np.flatnonzero(status != Status.OK)
    }
    return {
        "lambda_closed": closed,
        "lambda_numeric": numeric,
        "lambda_rel_diff": rel_max,
        "c_s": model.c_s / V_F * np.ones(n),
        "c_d": model.c_d / V_F * np.ones(n),
        "kF_xi_s": model.kF_xi_s * np.ones(n),
        "alpha": model.alpha_s * np.ones(n),
        "bf_stability": model.bf_stability * np.ones(n),
        "status": status,
        "messages": messages,
    }


_LAMBDA_DOC = "partial-wave coupling λ_ℓ of seed Eq. 8 (N₀ = m_F/π, negative = attractive)"

couplings_kernel = Kernel(
    name="spinor_bec_couplings",
    version="1",
    summary="Spinor-BEC sound velocities, spin healing length and static couplings λ_ℓ (ℓ = 0, 1, 2)",
    reference="Bighin et al., PRR 7, L022070 (2025): Eqs. 2, 3, 6–9",
    parameters=_common_parameters(),
    outputs=(
        Output("lambda_closed", "1", _LAMBDA_DOC + ", closed form (seed Eq. 9 and its general-ℓ form)", dims=("ell",)),
        Output("lambda_numeric", "1", _LAMBDA_DOC + ", adaptive quadrature of static seed Eq. 6", dims=("ell",)),
        Output("lambda_rel_diff", "1", "max over ℓ of |λ_numeric/λ_closed − 1| (diagnostic)"),
        Output("c_s", "v_F", "spin (out-of-phase) sound velocity c_s/v_F, m c_s² = n δg"),
        Output("c_d", "v_F", "density (in-phase) sound velocity c_d/v_F, m c_d² = n(2g − δg)"),
        Output("kF_xi_s", "1", "k_F ξ_s, spin healing length ξ_s = ħ/2mc_s (seed below Eq. 7)"),
        Output("alpha", "1", "α = g̃_F² m_F n/(2π² m n_F) (definition under seed Eq. 9)"),
        Output("bf_stability", "1", "N₀(2g_F²/δg + 2g_F+²/(2g−δg)); mean-field Bose-Fermi stability needs < 1"),
    ),
    solve_block=solve_couplings_block,
    extra_coords={"ell": np.asarray(ELLS)},
    check_inputs=check_inputs,
    seconds_per_point=0.01,
    doc=__doc__ or "",
)



#: Largest α_s + α_d the gap kernel accepts (α = g̃_F² m_F n/(2π² m n_F) per mode).
_ALPHA_MAX = 1.0


def check_gap_inputs(params: Mapping[str, np.ndarray]) -> None:
    """Miscibility (as :func:`check_inputs`) and a bounded coupling α_s + α_d ≤ 1.

    α fixes the strength of the induced attraction in units of the Fermi energy (near the
    spinodal Δ_0 grows roughly as α²); at α = 1 the gap is already ≳ ε_F, beyond which the
    fixed-μ BCS mean field is meaningless and Newton/T_c searches stop converging.
    """
    check_inputs(params)
    get = lambda name, default: np.asarray(params.get(name, default), dtype=float)  # noqa: E731
    g_f, g_fp = get("g_F", 2.0), get("g_F_plus", 0.0)
    dr, mr = get("density_ratio", 1.0), get("mass_ratio", 1.0)
    g_f, g_fp, dr, mr = np.broadcast_arrays(g_f, g_fp, dr, mr)
    alpha = (g_f**2 + g_fp**2) * dr / (2.0 * math.pi**2 * mr)
    bad = alpha > _ALPHA_MAX
    if np.any(bad):
        i = np.flatnonzero(bad.ravel())[0]
        raise KernelInputError(
            f"g_F: α = (g_F² + g_F_plus²)·density_ratio/(2π²·mass_ratio) = {alpha.ravel()[i]:.3g} "
            f"(g_F = {g_f.ravel()[i]:g}, g_F_plus = {g_fp.ravel()[i]:g}, density_ratio = {dr.ravel()[i]:g}, "
            f"mass_ratio = {mr.ravel()[i]:g}) is too strong for the BCS gap equation; "
            f"allowed: α <= {_ALPHA_MAX:g}"
        )


def _gap_parameters() -> tuple[Parameter, ...]:
    common = {p.name: p for p in _common_parameters()}
    # BCS mean field at fixed μ = ε_F: keep the couplings where Δ and T_c stay ≲ ε_F.
    narrowed = {
        "g_F": (0.0, 4.0),
        "density_ratio": (0.05, 20.0),
        "mass_ratio": (0.2, 20.0),
    }
    params = []
    for name in ("delta_g", "g_F"):
        params.append(common[name] if name not in narrowed else _with_bounds(common[name], narrowed[name]))
    params.append(
        Parameter("T", "T_F", "temperature T/T_F of the gap Δ_ℓ(T) (seed Eq. 10, Fig. 3a)", default=0.0, bounds=(0.0, 2.0))
    )
    for name in ("g_F_plus", "g", "density_ratio", "mass_ratio"):
        params.append(common[name] if name not in narrowed else _with_bounds(common[name], narrowed[name]))
    params.append(
        Parameter(
            "interaction",
            "1",
            "seed Eq. 6 with its frequency transfer ('retarded') or at Ω = 0 ('static', Eq. 8-9's approximation)",
            default="retarded",
            choices=("retarded", "static"),
        )
    )
    params.append(
        Parameter(
            "chemical_potential",
            "1",
            "μ_F in ξ_k = ε_k − μ_F (seed Eq. 10): 'fixed' at ε_F, or 'number': from n = n_F jointly with Δ_ℓ",
            default="fixed",
            choices=("fixed", "number"),
        )
    )
    return tuple(params)


def _with_bounds(p: Parameter, bounds: tuple[float, float]) -> Parameter:
    return Parameter(p.name, p.unit, p.description, default=p.default, bounds=bounds)


#: A channel's outcome decides the point's status; the worst channel wins.
_STATUS = {Outcome.OK: Status.OK, Outcome.NOT_CONVERGED: Status.NOT_CONVERGED, Outcome.FAILED: Status.FAILED}


def solve_gap_point(
    delta_g: float,
    g_F: float,
    T: float,
    g_F_plus: float,
    g: float,
    density_ratio: float,
    mass_ratio: float,
    interaction: str = "retarded",
    chemical_potential: str = "fixed",
) -> dict:
    """One point of ``spinor_bec``: Δ_ℓ(k_F; T), T_c,ℓ, μ_ℓ and diagnostics, ℓ = 0, 1, 2."""
    model = Model(
        delta_g=float(delta_g),
        g_F=float(g_F),
        g_F_plus=float(g_F_plus),
        g=float(g),
        density_ratio=float(density_ratio),
        mass_ratio=float(mass_ratio),
    )
    one = np.ones(1)
    lam = N0 * interaction_moments(model, one, one)[0]  # seed Eq. 8 with Eq. 6 at k = k' = k_F
    results, info = solve_point(
        model, float(T), static=(interaction == "static"), number=(chemical_potential == "number")
    )
    status = Status.OK
    messages = []
    for ell, r in zip(ELLS, results):
        if not r.ok:
            status = max(status, _STATUS[r.outcome])
            messages.append(f"ℓ={ell}: {r.message}")
    out = {
        "lambda_fs": lam,
        "gap": np.array([r.gap for r in results]),
        "Tc": np.array([r.tc for r in results]),
        "mu": np.array([r.mu for r in results]),
        "c_s": float(model.c_s) / V_F,
        "kF_xi_s": float(model.kF_xi_s),
        "bf_stability": float(model.bf_stability),
        "iterations": np.array([r.iterations for r in results], dtype=np.int32),
        "residual": np.array([r.residual for r in results]),
        "refine_diff_gap": np.array([r.refine_diff_gap for r in results]),
        "refine_diff_tc": np.array([r.refine_diff_tc for r in results]),
        "refine_diff_mu": np.array([r.refine_diff_mu for r in results]),
        "tolerance": REFINE_RTOL,
        "n_nodes": np.int32(info["n_nodes"]),
        "n_nodes_main": np.int32(info["n_nodes_main"]),
        "d_min": float(info["d_min"]),
        "status": status,
    }
    if messages:
        out["message"] = "; ".join(messages)
    return out


gap_kernel = Kernel(
    name="spinor_bec",
    version="2",
    summary="Spinor-BEC mediated pairing: Δ_ℓ(T) and T_c,ℓ (ℓ = 0, 1, 2) from the full gap equation",
    reference="Bighin et al., PRR 7, L022070 (2025): Eqs. 2, 6, 8, 10; Figs. 2c, 3",
    parameters=_gap_parameters(),
    outputs=(
        Output("lambda_fs", "1", _LAMBDA_DOC + "; Eq. 6 at k = k' = k_F", dims=("ell",)),
        Output("gap", "ε_F", "Δ_ℓ(k_F) at temperature T (0 above T_c,ℓ or below the floor)", dims=("ell",), allow_nan=True),
        Output("Tc", "T_F", f"T_c,ℓ, largest linearised eigenvalue = 1 (0: below {TC_FLOOR:g} T_F)", dims=("ell",), allow_nan=True),
        Output(
            "mu",
            "ε_F",
            "μ_F of channel ℓ at T: exactly 1 with chemical_potential='fixed'; else from n = n_F "
            "(normal state's T ln(e^{1/T} − 1) where Δ_ℓ = 0)",
            dims=("ell",),
            allow_nan=True,
        ),
        Output("c_s", "v_F", "spin sound velocity c_s/v_F"),
        Output("kF_xi_s", "1", "k_F ξ_s, spin healing length"),
        Output("bf_stability", "1", "N₀(2g_F²/δg + 2g_F+²/(2g−δg)); mean-field Bose-Fermi stability needs < 1"),
        Output("iterations", "1", "Newton iterations of Δ_ℓ on the check grid (0: Δ = 0)", dtype="int32", dims=("ell",)),
        Output("residual", "1", "max|Δ + W F(Δ)| / max|Δ| at the returned solution", dims=("ell",), allow_nan=True),
        Output("refine_diff_gap", "1", "|Δ_check − Δ_main| / max(Δ, T_c): change under grid refinement", dims=("ell",), allow_nan=True),
        Output("refine_diff_tc", "1", "|T_c,check − T_c,main| / T_c: change under grid refinement", dims=("ell",), allow_nan=True),
        Output("refine_diff_mu", "ε_F", "|μ_check − μ_main| / ε_F: change under grid refinement (0 if fixed)", dims=("ell",), allow_nan=True),
        Output("tolerance", "1", "refinement change accepted as converged (status ok)"),
        Output("n_nodes", "1", "radial nodes of the check grid (the values returned)", dtype="int32"),
        Output("n_nodes_main", "1", "radial nodes of the main grid", dtype="int32"),
        Output("d_min", "k_F", "width of the check grid's panels touching k_F"),
    ),
    solve_point=solve_gap_point,
    extra_coords={"ell": np.asarray(ELLS)},
    check_inputs=check_gap_inputs,
    seconds_per_point=0.5,
    doc=__doc__ or "",
)

KERNELS = (couplings_kernel, gap_kernel)
