"""Multigap superconductivity near a Lifshitz transition: the T_c(η, g) dome.

Seed: M. V. Mazziotti, R. Raimondi, A. Valletta, G. Campi, A. Bianconi, "Resonant multigap
superconductivity at room temperature near a Lifshitz topological transition in sulphur
hydrides", Eqs. 1–8, Figs. 3–11. Equations, conventions, choices and findings:
``docs/models/multigap_lifshitz.md``.

Kernel ``multigap_lifshitz``
----------------------------
A superlattice of quantum wires (width L, spacers W, period d = L + W, free along x) has
Kronig-Penney subbands ε_n(k) = ħ²k_x²/2m_x + E_n(k_z) (seed Eqs. 2–4). The Lifshitz
parameter η = (μ − E_L)/ΔE puts the chemical potential relative to the bottom E_L of the
third subband, ΔE its k_z width (seed text above Eq. 2). Per point the kernel returns T_c
from the linearised gap equation (seed Eq. 8), the T = 0 gaps of every subband from seed
Eq. 6 solved together with the density equation (seed Eq. 7), the gap ratios 2Δ_n/T_c, the
isotope coefficient and the renormalisation of μ.

Physics and units (the seed's unless marked *choice*)
-----------------------------------------------------
- Geometry L = 0.85 nm, W = 0.55 nm; m_x = m_z = m_e by default. The barrier V_b is found
  by root search so that the third subband's k_z width equals ΔE: 274 meV (case "A") or
  145 meV (case "B"). Calibrated V_b = 2707.195 meV (A) and 3532.235 meV (B) for the
  default geometry (output ``V_b_meV``). The band structure is computed once per geometry
  and cached (transfer matrices: exact, no basis truncation).
- Couplings g_nn' (dimensionless): g₃₃ = ``g``; g_nn = ``g_low`` (0.1) for n ≠ 3;
  g_nn' = ``g_inter`` (0.1) for n ≠ n'. The pair kernel is g_nn' · d·I^{nn'}(k_z, k_z')
  (seed Eq. 5, wavefunctions normalised over one period), with N₀ = m_x/(2πħ²):
  Δ_n(k) = Σ_n' ∫dk'/2π (g_nn'/N₀) d·I^{nn'} χ_n'(k') Δ_n'(k'). For plane waves this is
  BCS with λ = g (tested).
- Cutoff ω̃₀ = ω₀√(1 − 2g) (seed Eq. 1, taken literally) for all subbands; ω₀ = 330 meV
  (A) or 225 meV (B). *choice*: the cutoff is a shell |ξ| < ω̃₀ in the full energy
  ξ = ħ²k_x²/2m_x + E_n(k_z) − μ; inside it Δ_n depends on k_z only, outside it is zero.
- *choice*: η fixes the normal-state chemical potential μ₀ = E_L + ηΔE at T = 0. T_c is
  the temperature where the largest eigenvalue of seed Eq. 8 at μ₀ equals 1 (no thermal
  shift of μ). The T = 0 gaps are solved at the fixed density ρ = ρ_N(μ₀); the resulting
  μ − μ₀ is ``mu_shift_meV``.
- *choice*: the reported gap Δ_n of a subband is the average of Δ_n(k_z) over its Fermi
  line weighted by the density of states, ∝ 1/√(μ − E_n(k_z)); for a subband that does not
  reach μ (the third one for η < 0), Δ_n at its band bottom.
- Isotope coefficient α = ½ ∂ln T_c/∂ln ω₀ at fixed g and η (ω₀ ∝ M^-1/2), symmetric
  finite difference in ln ω₀ with relative step ``isotope_step``. BCS gives 1/2 (tested).
- T_c below ``tc_floor_K`` is reported as 0 (no root above the floor); α and the gap
  ratios are NaN there and the gaps 0.
- The gap is even in k_z (s-wave, the Perron vector of the non-negative kernel).
- *choice*: the third subband is the Lifshitz band whatever ``n_bands``; subbands above the
  kept ones must lie above μ₀ + ω̃₀ (else the point fails with a message). Because the
  cutoff is sharp, subbands entirely outside the shell do not change T_c at all.
- *choice*: energies are measured from the well bottom (V = 0); ΔE is the k_z width
  |E₃(π/d) − E₃(0)| of the third subband (bottom at k_z = 0).

Results with the defaults (``bench/multigap_lifshitz_points.py --dome``)
-----------------------------------------------------------------------
Top of the dome on a 0.01 × 0.01 (η, g) grid: case A 205.0 K at (η, g) = (0.97, 0.42)
(201.2 K at g = 0.40), case B 271.9 K at (0.94, 0.40); the seed quotes 250 K and 330 K at
(1, 0.4). Both are ≈ 0.82 of the seed's values; the position agrees. Below the band edge
T_c falls to the mK range with a minimum (Fano antiresonance) at η ≈ −0.22 (A, 1.1 mK at
g = 0.4; the seed's Fig. 9 puts it at −0.34) and η ≈ −0.6 (B, 0.47 mK).

Cases
-----
``case`` = "A" (ΔE = 274 meV, ω₀ = 330 meV, model of H₃S), "B" (ΔE = 145 meV, ω₀ = 225 meV,
model of CSH_x) or "custom" (ΔE = ``delta_E_meV``, ω₀ = ``omega0_meV``). With "A" or "B"
those two parameters must keep their defaults (or equal the case's own values).

Numerics (details in ``kernels/multigap_lifshitz/gap.py``)
-------------------------------------------------
k_x integrals: sinh-mapped Gauss–Legendre around the Fermi point (exact shell limits).
k_z: Gauss–Legendre panels split at the Fermi crossing and graded geometrically toward it
down to the scale of ``tc_floor_K``. The pair overlaps are exact Gauss–Legendre integrals of
|ψ|² products, compressed onto a per-geometry basis of rank ≈ 13, so every eigenproblem is
a symmetric matrix of size ≈ 3 × 13 whatever the k_z resolution.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._api import Kernel, KernelInputError, Output, Parameter, Status
from .bands import HBAR2_2ME_EV_NM2, calibrated_bands
from .gap import (
    Model,
    build_mesh,
    critical_temperature,
    dos_over_N0,
    fermi_surface_gaps,
    gaps_on_mesh,
    solve_zero_temperature,
)

__all__ = [
    "CASES",
    "DEFAULTS",
    "KERNELS",
    "K_B_MEV_PER_K",
    "coupling_matrix",
    "multigap_lifshitz_kernel",
    "point_model",
    "solve_point",
    "tc_kelvin",
]

#: Boltzmann constant in meV/K (CODATA 2018, exact).
K_B_MEV_PER_K = 8.617333262e-2

#: Case → (ΔE in meV, ω₀ in meV), seed text above Eq. 2 and below Eq. 1.
CASES: dict[str, tuple[float, float]] = {"A": (274.0, 330.0), "B": (145.0, 225.0)}

#: The subband whose bottom is the Lifshitz transition (seed: the third subband).
LIFSHITZ_BAND = 3
#: Relative tolerance of the T = 0 self-consistency (gap vector and μ).
_GAP_TOL = 1e-10

# ΔE and ω₀ default to case A's values; with case A or B they must keep them (check_inputs).
_DEFAULTS = dict(zip(("delta_E_meV", "omega0_meV"), CASES["A"], strict=True))

PARAMETERS = (
    Parameter("eta", "1", "Lifshitz parameter η = (μ − E_L)/ΔE, μ of the normal state (seed above Eq. 2)",
              default=1.0, bounds=(-2.0, 3.0)),
    Parameter("g", "1", "e-ph coupling g = g₃₃ in the third (Lifshitz) subband (seed Figs. 8–11); ω̃₀ = ω₀√(1−2g)",
              default=0.4, bounds=(0.0, 0.49)),
    Parameter("case", "1", "heterostructure: 'A' (ΔE 274, ω₀ 330 meV), 'B' (ΔE 145, ω₀ 225 meV) or 'custom'",
              default="A", choices=("A", "B", "custom")),
    Parameter("delta_E_meV", "meV", "k_z width ΔE of the third subband, used only with case='custom'",
              default=_DEFAULTS["delta_E_meV"], bounds=(1.0, 5000.0)),
    Parameter("omega0_meV", "meV", "bare phonon energy ω₀ (seed Eq. 1), used only with case='custom'",
              default=_DEFAULTS["omega0_meV"], bounds=(1.0, 2000.0)),
    Parameter("L_nm", "nm", "wire (well) width L (seed: 0.85 nm)", default=0.85, bounds=(0.2, 5.0)),
    Parameter("W_nm", "nm", "spacer (barrier) width W (seed: 0.55 nm)", default=0.55, bounds=(0.1, 5.0)),
    Parameter("mass_x", "m_e", "band mass m_x along the wires", default=1.0, bounds=(0.05, 20.0)),
    Parameter("mass_z", "m_e", "band mass m_z across the wires (Kronig-Penney)", default=1.0, bounds=(0.05, 20.0)),
    Parameter("g_low", "1", "intraband coupling g_nn of the subbands n ≠ 3 (seed: g₁₁ = g₂₂ = 0.1)",
              default=0.1, bounds=(0.0, 1.0)),
    Parameter("g_inter", "1", "interband coupling g_nn', n ≠ n', times the overlap d·I^{nn'} (default 0.1; the seed says only 'small')",
              default=0.1, bounds=(0.0, 1.0)),
    Parameter("n_bands", "1", "number of subbands kept (fixed, not swept; the 3rd is the Lifshitz band)",
              default=3, bounds=(3, 6), integer=True),
    Parameter("kz_order", "1", "Gauss–Legendre nodes per k_z panel (k-grid size)", default=12,
              bounds=(4, 32), integer=True),
    Parameter("kx_order", "1", "Gauss–Legendre nodes per k_x panel (k-grid size)", default=12,
              bounds=(4, 32), integer=True),
    Parameter("tc_floor_K", "K", "T_c below this is reported as 0 (root search floor)", default=1e-4,
              bounds=(1e-7, 1.0)),
    Parameter("isotope_step", "1", "relative step of ω₀ in the isotope-coefficient finite difference",
              default=0.01, bounds=(1e-4, 0.1)),
)

#: Every parameter's default: the one place they are written is PARAMETERS above.
DEFAULTS: dict[str, Any] = {p.name: p.default for p in PARAMETERS}

OUTPUTS = (
    Output("Tc_K", "K", "critical temperature from the linearised seed Eq. 8 (0 below tc_floor_K)"),
    Output("Tc_meV", "meV", "critical temperature k_B T_c"),
    Output("gap_meV", "meV", "T = 0 gap Δ_n of each subband: Fermi-line average (band edge if empty), seed Eqs. 6–7",
           dims=("band",)),
    Output("gap_ratio", "1", "2Δ_n/(k_B T_c) (seed Fig. 6); NaN where T_c = 0", dims=("band",), allow_nan=True),
    Output("isotope_alpha", "1", "isotope coefficient ½ ∂ln T_c/∂ln ω₀ at fixed g, η (seed Fig. 6); NaN where T_c = 0",
           allow_nan=True),
    Output("mu_shift_meV", "meV", "μ(T = 0, superconducting, fixed density) − μ₀ (seed Eq. 7)"),
    Output("omega_tilde_meV", "meV", "pairing cutoff ω̃₀ = ω₀√(1 − 2g) (seed Eq. 1)"),
    Output("V_b_meV", "meV", "Kronig-Penney barrier height calibrated to ΔE"),
    Output("E_L_meV", "meV", "bottom of the third subband (Lifshitz energy) above the well bottom"),
    Output("mu0_meV", "meV", "normal-state chemical potential μ₀ = E_L + ηΔE above the well bottom"),
    Output("fermi_energy_meV", "meV", "μ₀ − bottom of each subband (negative: empty)", dims=("band",)),
    Output("dos_ratio", "1", "normal-state density of states at μ₀ of each subband over N₀ = m_x/2πħ² (seed Fig. 3)",
           dims=("band",)),
    Output("n_kz", "1", "k_z quadrature nodes (all subbands) at μ₀", dtype="int32"),
    Output("tc_evaluations", "1", "eigenvalue evaluations of the T_c root search", dtype="int32"),
    Output("gap_iterations", "1", "sweeps of the T = 0 gap/density iteration (0 where T_c = 0)", dtype="int32"),
    Output("gap_residual", "1", "relative change of the gap vector in the last T = 0 sweep (0 where T_c = 0)"),
)


def case_values(case: str, delta_E_meV: float, omega0_meV: float) -> tuple[float, float]:
    """(ΔE, ω₀) in meV for ``case``; 'custom' takes the explicit values."""
    if case == "custom":
        return float(delta_E_meV), float(omega0_meV)
    return CASES[str(case)]


def _free_width_meV(L: float, W: float, mass_z: float) -> float:
    """k_z width of the third subband at V_b = 0: 5 (ħ²/2m_z) π²/d²."""
    return 1e3 * 5.0 * HBAR2_2ME_EV_NM2 / mass_z * (math.pi / (L + W)) ** 2


def _unique(params: Mapping[str, Any], name: str) -> list[Any]:
    return PARAMETER_MAP[name].distinct(params)


def check_inputs(params: Mapping[str, np.ndarray]) -> None:
    """Cross-parameter rules, checked over every combination of the values given.

    - n_bands must be a single value (it sizes the ``band`` output dimension).
    - With case 'A' or 'B', delta_E_meV and omega0_meV keep their defaults (or equal the
      case's own values): they are used only with case='custom'.
    - ΔE must lie below the third subband's width at V_b = 0, 5(ħ²/2m_z)π²/d².
    """
    nb = _unique(params, "n_bands")
    if len(nb) != 1:
        raise KernelInputError(f"n_bands: must be fixed (it sizes the 'band' dimension), got {nb}")
    for case, dE, w0 in itertools.product(_unique(params, "case"), _unique(params, "delta_E_meV"),
                                          _unique(params, "omega0_meV")):
        if case in CASES:
            own_dE, own_w0 = CASES[case]
            if dE not in (_DEFAULTS["delta_E_meV"], own_dE):
                raise KernelInputError(
                    f"delta_E_meV: {dE:g} meV is used only with case='custom'; case {case!r} fixes ΔE = {own_dE:g} meV"
                )
            if w0 not in (_DEFAULTS["omega0_meV"], own_w0):
                raise KernelInputError(
                    f"omega0_meV: {w0:g} meV is used only with case='custom'; case {case!r} fixes ω₀ = {own_w0:g} meV"
                )
    for case, dE, L, W, mz in itertools.product(
        _unique(params, "case"), _unique(params, "delta_E_meV"), _unique(params, "L_nm"), _unique(params, "W_nm"),
        _unique(params, "mass_z"),
    ):
        target = case_values(case, dE, 0.0)[0]
        free = _free_width_meV(L, W, mz)
        if not target < 0.98 * free:
            raise KernelInputError(
                f"delta_E_meV: ΔE = {target:g} meV is not below 98% of the free third-subband width "
                f"{free:.1f} meV for L = {L:g} nm, W = {W:g} nm, m_z = {mz:g} (no barrier gives it)"
            )


def _extra_coords(fixed: Mapping[str, Any]) -> dict[str, np.ndarray]:
    if "n_bands" not in fixed:
        raise KernelInputError("n_bands: must be fixed, not swept (it sizes the 'band' dimension)")
    return {"band": np.arange(1, int(fixed["n_bands"]) + 1)}


def coupling_matrix(n_bands: int, g: float, g_low: float, g_inter: float) -> np.ndarray:
    """g_nn' (dimensionless): g_low on the diagonal except g₃₃ = g; g_inter off it."""
    G = np.full((n_bands, n_bands), float(g_inter))
    np.fill_diagonal(G, float(g_low))
    G[LIFSHITZ_BAND - 1, LIFSHITZ_BAND - 1] = float(g)
    return G


def _arguments(given: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``given`` over :data:`DEFAULTS`; a name that is not a parameter is an error (a
    misspelt keyword must not silently fall back to its default)."""
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"{where}() got unexpected keyword arguments {unknown}; parameters: {', '.join(DEFAULTS)}")
    return {**DEFAULTS, **given}


def point_model(**params: Any) -> tuple[Model, float]:
    """The pairing model of one point and its normal-state μ₀ (eV); keyword arguments as
    :func:`solve_point` (``isotope_step`` is accepted and not used)."""
    p = _arguments(params, "point_model")
    eta, g, case, delta_E_meV, omega0_meV = p["eta"], p["g"], p["case"], p["delta_E_meV"], p["omega0_meV"]
    L_nm, W_nm, mass_x, mass_z = p["L_nm"], p["W_nm"], p["mass_x"], p["mass_z"]
    g_low, g_inter, n_bands, kz_order, kx_order = p["g_low"], p["g_inter"], p["n_bands"], p["kz_order"], p["kx_order"]
    tc_floor_K = p["tc_floor_K"]
    dE_meV, w0_meV = case_values(str(case), delta_E_meV, omega0_meV)
    bands = calibrated_bands(float(L_nm), float(W_nm), float(mass_z), dE_meV * 1e-3, int(n_bands))
    omega = w0_meV * 1e-3 * math.sqrt(1.0 - 2.0 * float(g))
    mu0 = bands.E_L + float(eta) * dE_meV * 1e-3
    T_floor = float(tc_floor_K) * K_B_MEV_PER_K * 1e-3
    G = coupling_matrix(int(n_bands), g, g_low, g_inter)
    c_x = HBAR2_2ME_EV_NM2 / float(mass_x)
    model = Model(bands, G, omega, c_x, 0.5 * T_floor, kz_order=int(kz_order), kx_order=int(kx_order))
    return model, mu0


def tc_kelvin(**kwargs: Any) -> float:
    """T_c (K) of one point (same arguments as :func:`solve_point`), without gaps or isotope."""
    model, mu0 = point_model(**kwargs)
    T_floor = 2.0 * model.s_min
    return critical_temperature(model, build_mesh(model, mu0), T_floor).Tc * 1e3 / K_B_MEV_PER_K


def solve_point(**params: Any) -> dict[str, Any]:
    """All outputs of one point (see the module docstring); never raises for physics failures.

    Keyword arguments are the kernel's parameters (:data:`PARAMETERS`, units there); an
    omitted one takes its declared default (:data:`DEFAULTS`).
    """
    p = _arguments(params, "solve_point")
    n_bands, isotope_step = p["n_bands"], p["isotope_step"]
    n_bands = int(n_bands)
    nan_bands = np.full(n_bands, np.nan)
    try:
        model, mu0 = point_model(**p)
    except (RuntimeError, ValueError) as exc:  # no barrier gives ΔE, or too opaque a barrier
        return {
            **{o.name: (nan_bands if o.dims else np.nan) for o in OUTPUTS if o.dtype == "float64"},
            **{o.name: 0 for o in OUTPUTS if o.dtype == "int32"},
            "status": Status.FAILED,
            "message": f"band structure: {exc}",
        }
    bands, omega = model.bands, model.omega
    T_floor = 2.0 * model.s_min
    out: dict[str, Any] = {
        "Tc_K": np.nan,
        "Tc_meV": np.nan,
        "gap_meV": nan_bands,
        "gap_ratio": nan_bands,
        "isotope_alpha": np.nan,
        "mu_shift_meV": np.nan,
        "omega_tilde_meV": omega * 1e3,
        "V_b_meV": bands.geo.V_b * 1e3,
        "E_L_meV": bands.E_L * 1e3,
        "mu0_meV": mu0 * 1e3,
        "fermi_energy_meV": np.array([(mu0 - bands.bottom(n)) * 1e3 for n in range(1, n_bands + 1)]),
        "dos_ratio": nan_bands,
        "n_kz": 0,
        "tc_evaluations": 0,
        "gap_iterations": 0,
        "gap_residual": 0.0,
    }
    next_bottom = bands.bottom(n_bands + 1)
    if mu0 + omega >= next_bottom:
        out["status"] = Status.FAILED
        out["message"] = (
            f"subband {n_bands + 1} (bottom {next_bottom * 1e3:.1f} meV) lies inside the pairing shell "
            f"μ₀ + ω̃₀ = {(mu0 + omega) * 1e3:.1f} meV: increase n_bands"
        )
        return out
    try:
        mesh = build_mesh(model, mu0)
        out["n_kz"] = mesh.size
        out["dos_ratio"] = dos_over_N0(model, mesh)
        tc = critical_temperature(model, mesh, T_floor, want_vector=True)
        out["tc_evaluations"] = tc.evaluations
        out["Tc_meV"] = tc.Tc * 1e3
        out["Tc_K"] = tc.Tc * 1e3 / K_B_MEV_PER_K
        if tc.Tc == 0.0:
            out["gap_meV"] = np.zeros(n_bands)
            out["mu_shift_meV"] = 0.0
            out["status"] = Status.OK
            return out
        out["isotope_alpha"] = _isotope(model, mu0, tc.Tc, T_floor, float(isotope_step))
        start = tc.Psi * (1.764 * tc.Tc / np.max(np.abs(np.concatenate(gaps_on_mesh(mesh, tc.Psi)))))
        sol = solve_zero_temperature(model, mu0, start, tol=_GAP_TOL)
    except (RuntimeError, ValueError, FloatingPointError) as exc:
        out["status"] = Status.FAILED
        out["message"] = f"{type(exc).__name__}: {exc}"
        return out
    gaps = fermi_surface_gaps(model, sol.mesh, sol.Psi)
    out["gap_meV"] = gaps * 1e3
    out["gap_ratio"] = 2.0 * gaps / tc.Tc
    out["mu_shift_meV"] = (sol.mu - mu0) * 1e3
    out["gap_iterations"] = sol.iterations
    out["gap_residual"] = sol.residual
    if not sol.converged:
        out["status"] = Status.NOT_CONVERGED
        out["message"] = (
            f"T = 0 gap/density iteration not converged after {sol.iterations} sweeps "
            f"(last relative change {sol.residual:.2e})"
        )
    else:
        out["status"] = Status.OK
    return out


def _isotope(model: Model, mu0: float, Tc: float, T_floor: float, h: float) -> float:
    """½ ∂ln T_c/∂ln ω₀ by the symmetric difference ω₀ → ω₀ e^{±h} (g, μ₀ fixed)."""
    lnT = []
    for sign in (1.0, -1.0):
        m = Model(model.bands, model.g, model.omega * math.exp(sign * h), model.c_x, model.s_min,
                  kz_order=model.kz_order, kx_order=model.kx_order)
        r = critical_temperature(m, build_mesh(m, mu0), T_floor, guess=Tc)
        if r.Tc == 0.0:
            return float("nan")
        lnT.append(math.log(r.Tc))
    return 0.5 * (lnT[0] - lnT[1]) / (2.0 * h)


PARAMETER_MAP = {p.name: p for p in PARAMETERS}

multigap_lifshitz_kernel = Kernel(
    name="multigap_lifshitz",
    version="2",
    summary="T_c(η, g) dome of a superlattice of quantum wires near a Lifshitz transition (3-subband BCS)",
    reference="Mazziotti, Raimondi, Valletta, Campi, Bianconi (sulphur hydrides): Eqs. 1–8, Figs. 3–11",
    parameters=PARAMETERS,
    outputs=OUTPUTS,
    solve_point=solve_point,
    extra_coords=_extra_coords,
    check_inputs=check_inputs,
    seconds_per_point=0.15,
    doc=__doc__ or "",
)

KERNELS = (multigap_lifshitz_kernel,)
