"""MixD+V t-J bilayer mean field (kernel ``mixd_bilayer``).

The kernel is declared in :mod:`.kernel` (its docstring is the physics documentation);
:mod:`.numerics` holds the lattice sums and the variational minimisation.
"""

from .kernel import KERNELS, check_inputs, extra_coords, mixd_bilayer_kernel, solve_point

# the other names the flat module ``pairsweep.kernels.mixd_bilayer`` offered before the split
from .kernel import HOLE_NUMBER_TOL, MAX_K_POINTS  # noqa: F401
from .numerics import V_UNIT, Lattice, MixdSolution, k_axis, make_lattice, solve_mixd  # noqa: F401

__all__ = ["KERNELS", "check_inputs", "extra_coords", "mixd_bilayer_kernel", "solve_point"]
