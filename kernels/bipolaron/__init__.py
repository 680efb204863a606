"""Bond-Peierls vs Holstein bipolarons (kernel ``bipolaron``).

One module per solver: :mod:`.ved` (variational exact diagonalisation, kernel
``bipolaron``; its docstring is the physics documentation), with its engine in
:mod:`._ved_basis` and :mod:`._ved_growth`.
"""

from . import ved
from .ved import allen_dynes_tc, coupling_constant, solve_point

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
from .ved import (  # noqa: F401
    K_CHECK_FRACTION,
    MODELS,
    OUTPUTS,
    PARAMETERS,
    SCAN_FRACTION,
    SCAN_MIN_STATES,
    TC_PREFACTOR_2D,
    TC_PREFACTOR_3D,
)

# KERNELS collects every solver's kernels (the registry reads it).
KERNELS = ved.KERNELS

__all__ = ["KERNELS", "allen_dynes_tc", "coupling_constant", "solve_point"]
