"""What every bipolaron solver shares: couplings, T_c formulas and the common parameters.

Seed: J. Sous, "Bipolaronic high-temperature superconductivity from phonon-modulated
hopping: a perspective", Eqs. 2, 6, 8 (``docs/models/bipolaron.md``). Units: t = 1,
energies in t, masses m*/(2 m_e) with m_e = 1/(2t), lengths in lattice units a.

A second solver of the same models declares its parameters with the objects below wherever
the meaning is the same, so that a sweep over ``lam``, ``t_over_omega``, ``U_over_t`` … means
one thing whichever solver runs it. ``model`` is not shared: the antiadiabatic models exist
only for the VED solver.
"""

from __future__ import annotations

import math

from .._api import Parameter

__all__ = [
    "COUPLING",
    "D",
    "LAM",
    "MU_STAR",
    "TC_PREFACTOR",
    "TC_PREFACTOR_2D",
    "TC_PREFACTOR_3D",
    "T_OVER_OMEGA",
    "U_OVER_T",
    "V_OVER_T",
    "allen_dynes_tc",
    "bipolaronic_tc",
    "coupling_constant",
    "coupling_outputs",
]

#: Prefactor of seed Eq. 8 (2-D BKT at touching density), the seed's rounding of 1.84/π.
TC_PREFACTOR_2D = 0.5
#: Prefactor of the 3-D analogue of Eq. 8 quoted in seed Sec. 6.
TC_PREFACTOR_3D = 1.2


def coupling_constant(model: str, lam: float, omega: float, d: int,
                      convention: str = "lambda") -> tuple[float, float]:
    """(α or g in units of t, λ) for a ``lam`` value read with ``convention``."""
    bond = model.startswith("bond_peierls")
    if convention == "g_over_omega":
        c = lam * omega
        lam_eff = c * c / (2.0 * omega) if bond else c * c / (2.0 * d * omega)
        return c, lam_eff
    c = math.sqrt(2.0 * lam * omega) if bond else math.sqrt(2.0 * d * lam * omega)
    return c, lam


def allen_dynes_tc(lam: float, mu_star: float) -> float:
    """Allen–Dynes T_c/Ω for an Einstein spectrum (ω_log = ω̄₂ = Ω, so f₂ = 1)."""
    den = lam - mu_star * (1.0 + 0.62 * lam)
    if lam <= 0 or den <= 0:
        return 0.0
    lam1 = 2.46 * (1.0 + 3.8 * mu_star)
    f1 = (1.0 + (lam / lam1) ** 1.5) ** (1.0 / 3.0)
    return f1 / 1.2 * math.exp(-1.04 * (1.0 + lam) / den)


def coupling_outputs(model: str, lam: float, t_over_omega: float, d: int, convention: str,
                     mu_star: float) -> tuple[float, float, dict[str, float]]:
    """(Ω, α or g, the outputs every solver reports about the coupling), all in units of t:
    ``lambda_eff``, ``coupling_over_omega`` and the Allen–Dynes ``tc_me_over_omega``."""
    omega = 1.0 / float(t_over_omega)
    c, lam_eff = coupling_constant(model, float(lam), omega, int(d), convention)
    return omega, c, {"lambda_eff": lam_eff, "coupling_over_omega": c / omega,
                      "tc_me_over_omega": allen_dynes_tc(lam_eff, float(mu_star))}


def bipolaronic_tc(mass: float, r2: float, d: int, tc_prefactor: float) -> float:
    """Bipolaronic T_c in units of t (seed Eq. 8) from m*/(2 m_e) and R² (in a²).

    d = 2: ``tc_prefactor``/(m* R²); d = 3: ``TC_PREFACTOR_3D``/(m* R²) (seed Sec. 6); R² is
    taken as at least 1 (a pair smaller than a lattice spacing). Any other d (the chain):
    NaN, there is no condensate.
    """
    if d == 2:
        return tc_prefactor / (mass * max(r2, 1.0))
    if d == 3:
        return TC_PREFACTOR_3D / (mass * max(r2, 1.0))
    return math.nan


# ---- parameters with the same meaning in every solver ----------------------------------

LAM = Parameter("lam", "1", "dimensionless e-ph coupling λ (α²/2Ωt bond-Peierls, g²/2dtΩ "
                "Holstein), or α/Ω, g/Ω when coupling = 'g_over_omega'", default=0.5,
                bounds=(0.0, 10.0))
COUPLING = Parameter("coupling", "1", "how lam is read: 'lambda' or 'g_over_omega'",
                     default="lambda", choices=("lambda", "g_over_omega"))
T_OVER_OMEGA = Parameter("t_over_omega", "1", "adiabaticity ratio t/Ω", default=1.0,
                         bounds=(0.01, 20.0))
U_OVER_T = Parameter("U_over_t", "1", "on-site Hubbard repulsion U/t (seed Eq. 6)", default=8.0,
                     bounds=(-50.0, 100.0))
V_OVER_T = Parameter("V_over_t", "1", "long-range Coulomb tail V/t between the electrons, V/|r| "
                     "(seed Eq. 9; the seed uses V = U/10 in d = 3)", default=0.0,
                     bounds=(0.0, 50.0))
D = Parameter("d", "1", "lattice dimension (chain, square, cubic)", default=2, choices=(1, 2, 3),
              integer=True)
TC_PREFACTOR = Parameter("tc_prefactor", "1", "prefactor C of seed Eq. 8, T_c = C/(m* R²) in "
                         "d = 2", default=TC_PREFACTOR_2D, bounds=(0.0, 10.0))
MU_STAR = Parameter("mu_star", "1", "Coulomb pseudopotential μ* of the Migdal–Eliashberg "
                    "estimate", default=0.1, bounds=(0.0, 0.5))
