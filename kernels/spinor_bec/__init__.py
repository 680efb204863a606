"""Spinor-BEC-mediated pairing (kernels ``spinor_bec_couplings`` and ``spinor_bec``).

The kernels are declared in :mod:`.kernel` (its docstring is the physics documentation);
:mod:`.physics` holds the interaction, :mod:`.gap` the gap-equation solver and
:mod:`._numba` its compiled inner loop.
"""

from .kernel import KERNELS, couplings_kernel, gap_kernel

# the other names the flat module ``pairsweep.kernels.spinor_bec`` offered before the split
from .gap import REFINE_RTOL, TC_FLOOR, mu_normal, solve_point  # noqa: F401
from .kernel import (  # noqa: F401
    check_gap_inputs,
    check_inputs,
    lambda_quadrature,
    solve_couplings_block,
    solve_gap_point,
)
from .physics import (  # noqa: F401
    ELLS,
    N0,
    V_F,
    Model,
    interaction_moments,
    static_closed_form,
    static_interaction,
)

__all__ = ["KERNELS", "couplings_kernel", "gap_kernel"]
