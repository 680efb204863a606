"""Physics kernels: pure numpy/scipy solvers of one model at one parameter point.

Nothing here imports Dask, Zarr or the other pairsweep packages.
"""

from ._api import Kernel, KernelInputError, Output, Parameter, Status
from ._loop import loop_points
from .registry import available_kernels, get_kernel

__all__ = [
    "Kernel",
    "KernelInputError",
    "Output",
    "Parameter",
    "Status",
    "available_kernels",
    "get_kernel",
    "loop_points",
]
