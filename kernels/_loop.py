"""The generic per-point loop: a block solved one point at a time, each failure confined to
its point. The engine uses it for kernels that only have ``solve_point`` (and to isolate the
bad points of a vectorized ``solve_block`` that raised); kernels and their tests call it
instead of writing their own loop."""

from __future__ import annotations

import os
import traceback
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._api import Kernel, Status

__all__ = ["MESSAGE_LIMIT", "describe_exception", "loop_points"]

#: Longest message kept per point.
MESSAGE_LIMIT = 500


def describe_exception(exc: BaseException) -> str:
    """``Type: message (at file:line)``, the line where it was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"[:MESSAGE_LIMIT]


def _scalar(value: Any) -> Any:
    # Kernels get plain Python scalars (str, int, float, bool), as a user calling
    # solve_point by hand would pass them; numpy scalars convert exactly.
    return value.item() if isinstance(value, np.generic) else value


def _extra_sizes(kernel: Kernel, params: Mapping[str, np.ndarray]) -> dict[str, int]:
    first = {name: _scalar(np.asarray(values)[0]) for name, values in params.items()}
    return {dim: len(values) for dim, values in kernel.coords_for(first).items()}


def loop_points(
    kernel: Kernel, params: Mapping[str, np.ndarray], extra_sizes: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """Solve the ``n`` points given as flat arrays in ``params`` one at a time.

    Returns the ``solve_block`` contract: one array per output shaped ``(n, *extra)``,
    ``"status"`` and ``"messages"``. A point that raises becomes ``FAILED`` with its outputs
    at their fill values and the exception as its message; the other points are untouched.
    ``extra_sizes`` defaults to the kernel's extra coordinates for the first point's
    parameters.
    """
    n = len(np.asarray(next(iter(params.values()))))
    sizes = dict(extra_sizes) if extra_sizes is not None else _extra_sizes(kernel, params)
    outputs = {
        o.name: np.full((n, *(sizes[d] for d in o.dims)), o.fill_value, dtype=o.dtype) for o in kernel.outputs
    }
    status = np.full(n, Status.FAILED, np.uint8)
    messages: dict[int, str] = {}
    for i in range(n):
        try:
            if kernel.solve_point is not None:
                values = kernel.solve_point(**{name: _scalar(np.asarray(v)[i]) for name, v in params.items()})
            else:
                assert kernel.solve_block is not None
                single = kernel.solve_block({k: np.asarray(v)[i : i + 1] for k, v in params.items()})
                values = {k: np.asarray(v)[0] for k, v in single.items() if k != "messages"}
                if single.get("messages"):
                    values["message"] = next(iter(single["messages"].values()))
            for o in kernel.outputs:
                value = np.asarray(values[o.name], dtype=o.dtype)
                expected = tuple(sizes[d] for d in o.dims)
                if value.shape != expected:
                    raise ValueError(f"output {o.name!r} has shape {value.shape}, declared {expected}")
                outputs[o.name][i] = value
            status[i] = int(values["status"])
            if values.get("message"):
                messages[i] = str(values["message"])[:MESSAGE_LIMIT]
        except Exception as exc:  # noqa: BLE001 - a kernel bug must not take the block down
            for o in kernel.outputs:  # undo a partially stored point
                outputs[o.name][i] = o.fill_value
            status[i] = Status.FAILED
            messages[i] = describe_exception(exc)
    return {**outputs, "status": status, "messages": messages}
