"""pairsweep's public API: describe a sweep, run it, open its result.

>>> from pairsweep.sweeps import Sweep, run_sweep, open_result   # doctest: +SKIP
>>> report = run_sweep(Sweep(kernel="spinor_bec_couplings", store="c.zarr",
...                          axes={"delta_g": [1e-3, 1e-2], "g_F": [1.0, 2.0]}))
>>> ds = open_result("c.zarr")
"""

from pairsweep.kernels import available_kernels, get_kernel
from pairsweep.storage import failures, open_result, store_status

from .engine import SpecMismatchError, SweepReport, prepare_store, run_sweep
from .spec import Axis, ClusterSpec, ResolvedSweep, SpecError, Sweep, load_spec, resolve

__all__ = [
    "Axis",
    "ClusterSpec",
    "ResolvedSweep",
    "SpecError",
    "SpecMismatchError",
    "Sweep",
    "SweepReport",
    "available_kernels",
    "failures",
    "get_kernel",
    "load_spec",
    "open_result",
    "prepare_store",
    "resolve",
    "run_sweep",
    "store_status",
]
