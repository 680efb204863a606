"""Pairing of a 2-D two-component Fermi gas mediated by a two-component (spinor) BEC.

Seed: G. Bighin, P. A. Murthy, N. Defenu, T. Enss, "Resonantly enhanced superconductivity
mediated by spinor condensates", Phys. Rev. Research 7, L022070 (2025)
(``shared/seeds/spinor_bec_bighin2025.txt``). Conventions: ``shared/docs/physics.md``.

Kernels
-------
``spinor_bec_couplings``
    Sound velocities (formula under seed Eq. 2), spin healing length, and the partial-wave
    couplings λ_ℓ (seed Eq. 8) of the static interaction, ℓ = 0, 1, 2, both from the
    closed forms (seed Eq. 9 / physics.md) and from an independent adaptive quadrature.

Units and conventions (physics.md unless marked *choice*)
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
- Reported diagnostic ``bf_stability`` = N₀(2g_F²/δg + 2g_F+²/(2g − δg)): the mean-field
  Bose–Fermi mixture is mechanically stable only where it is < 1. The seed's regime near
  the spinodal has it ≫ 1 (the seed treats its parameters as renormalised quasiparticle
  values); it is reported, not enforced.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np
from scipy.integrate import IntegrationWarning, quad

from ._api import Kernel, KernelInputError, Output, Parameter, Status
from ._spinor_bec_physics import ELLS, N0, V_F, Model, static_closed_form, static_interaction

__all__ = ["KERNELS", "couplings_kernel"]

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
    """Vectorised closed forms; the quadrature check runs per point (~1 ms)."""
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
        Output("lambda_closed", "1", _LAMBDA_DOC + ", closed form (seed Eq. 9, physics.md)", dims=("ell",)),
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
    doc=__doc__ or "",
)

KERNELS = (couplings_kernel,)
