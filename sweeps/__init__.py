"""pairsweep's public API: describe a sweep, run it, open its result.

>>> from pairsweep.sweeps import Sweep, run_sweep, open_result   # doctest: +SKIP
>>> report = run_sweep(Sweep(kernel="spinor_bec_couplings", store="c.zarr",
...                          axes={"delta_g": [1e-3, 1e-2], "g_F": [1.0, 2.0]}))
>>> ds = open_result("c.zarr")

Names are imported on first use (PEP 562), so ``pairsweep status`` does not pay for Dask,
xarray and pandas when it only reads a ledger.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "Adaptive",
    "AdaptiveSweep",
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
    "level_line",
    "load_spec",
    "maximum",
    "open_result",
    "prepare_store",
    "resolve",
    "run_sweep",
    "store_status",
    "to_grid",
]

_WHERE = {
    "Adaptive": ".adaptive_spec",
    "AdaptiveSweep": ".adaptive_spec",
    "to_grid": ".adaptive_grid",
    "Axis": ".spec",
    "ClusterSpec": ".spec",
    "ResolvedSweep": ".spec",
    "SpecError": ".spec",
    "Sweep": ".spec",
    "load_spec": ".spec",
    "resolve": ".spec",
    "SpecMismatchError": ".engine",
    "SweepReport": ".engine",
    "prepare_store": ".engine",
    "run_sweep": ".engine",
    "available_kernels": "pairsweep.kernels",
    "get_kernel": "pairsweep.kernels",
    "failures": "pairsweep.storage",
    "open_result": "pairsweep.storage",
    "store_status": "pairsweep.storage",
    "level_line": ".analysis",
    "maximum": ".analysis",
}

if TYPE_CHECKING:
    from pairsweep.kernels import available_kernels, get_kernel
    from pairsweep.storage import failures, open_result, store_status

    from .adaptive_grid import to_grid
    from .adaptive_spec import Adaptive, AdaptiveSweep
    from .analysis import level_line, maximum
    from .engine import SpecMismatchError, SweepReport, prepare_store, run_sweep
    from .spec import Axis, ClusterSpec, ResolvedSweep, SpecError, Sweep, load_spec, resolve


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
