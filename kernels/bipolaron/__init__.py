"""Bond-Peierls vs Holstein bipolarons (kernels ``bipolaron`` and ``bipolaron_qmc``).

One module per solver, each with its physics in its docstring: :mod:`.ved` (variational
exact diagonalisation, kernel ``bipolaron``; engine in :mod:`._ved_basis` and
:mod:`._ved_growth`) and :mod:`.qmc` (path-integral Monte Carlo, kernel ``bipolaron_qmc``;
Markov chain in :mod:`._qmc_chain`, error bars in :mod:`._qmc_stats`). What both share (λ
conventions, seed Eq. 8, Allen–Dynes, the common parameters) is in :mod:`.conventions`.
"""

from . import qmc, ved
from .conventions import (
    TC_PREFACTOR_2D,
    TC_PREFACTOR_3D,
    allen_dynes_tc,
    bipolaronic_tc,
    coupling_constant,
)
from .qmc import merge_chains
from .ved import MODELS, solve_point

# the other names the flat module ``pairsweep.kernels.bipolaron`` offered before the split
from ._ved_basis import (  # noqa: F401
    MODEL_BP,
    MODEL_BP_AA,
    MODEL_H,
    MODEL_H_AA,
    Problem,
    TimeCap,
    VEDBasis,
)
from ._ved_growth import Series, Settings, compile_numba, grow  # noqa: F401
from .ved import K_CHECK_FRACTION, OUTPUTS, PARAMETERS, SCAN_FRACTION, SCAN_MIN_STATES  # noqa: F401

# KERNELS collects every solver's kernels (the registry reads it).
KERNELS = ved.KERNELS + qmc.KERNELS

__all__ = [
    "KERNELS",
    "MODELS",
    "TC_PREFACTOR_2D",
    "TC_PREFACTOR_3D",
    "allen_dynes_tc",
    "bipolaronic_tc",
    "coupling_constant",
    "merge_chains",
    "solve_point",
]
