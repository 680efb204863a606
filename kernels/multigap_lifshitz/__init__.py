"""Multigap superconductivity near a Lifshitz transition (kernel ``multigap_lifshitz``).

The kernel is declared in :mod:`.kernel` (its docstring is the physics documentation);
:mod:`.bands` holds the superlattice subbands, :mod:`.gap` the multiband gap equations.
"""

from .kernel import (
    CASES,
    K_B_MEV_PER_K,
    KERNELS,
    coupling_matrix,
    multigap_lifshitz_kernel,
    point_model,
    solve_point,
    tc_kelvin,
)

# the other names the flat module ``pairsweep.kernels.multigap_lifshitz`` offered before the split
from .bands import HBAR2_2ME_EV_NM2, calibrated_bands  # noqa: F401
from .gap import (  # noqa: F401
    Model,
    build_mesh,
    critical_temperature,
    dos_over_N0,
    fermi_surface_gaps,
    gaps_on_mesh,
    solve_zero_temperature,
)
from .kernel import (  # noqa: F401
    LIFSHITZ_BAND,
    OUTPUTS,
    PARAMETER_MAP,
    PARAMETERS,
    case_values,
    check_inputs,
)

__all__ = [
    "CASES",
    "KERNELS",
    "K_B_MEV_PER_K",
    "coupling_matrix",
    "multigap_lifshitz_kernel",
    "point_model",
    "solve_point",
    "tc_kelvin",
]
