"""Bond-Peierls vs Holstein bipolarons (kernel ``bipolaron``).

One module per solver: :mod:`.ved` (variational exact diagonalisation, kernel
``bipolaron``; its docstring is the physics documentation), with its engine in
:mod:`._ved_basis` and :mod:`._ved_growth`. :mod:`.conventions` holds what every solver
shares: the coupling conventions, the T_c formulas and the common parameters.
"""

from . import ved
from .conventions import (
    TC_PREFACTOR_2D,
    TC_PREFACTOR_3D,
    allen_dynes_tc,
    bipolaronic_tc,
    coupling_constant,
)
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
KERNELS = ved.KERNELS

__all__ = [
    "KERNELS",
    "MODELS",
    "TC_PREFACTOR_2D",
    "TC_PREFACTOR_3D",
    "allen_dynes_tc",
    "bipolaronic_tc",
    "coupling_constant",
    "solve_point",
]
