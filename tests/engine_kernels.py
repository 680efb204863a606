"""Kernels used only by the engine tests: cheap, deterministic, with controllable failures
and cost. Referenced from specs as ``"engine_kernels:NAME"`` (tests/ is on sys.path)."""

from __future__ import annotations

import time

import numpy as np

from pairsweep.kernels import Kernel, Output, Parameter, Status

_PARAMS = (
    Parameter("x", "1", "first coordinate", default=0.0, bounds=(-10.0, 10.0)),
    Parameter("y", "1", "second coordinate", default=0.0, bounds=(-10.0, 10.0)),
    Parameter("delay", "s", "sleep per point, to make blocks slow", default=0.0, bounds=(0.0, 5.0)),
)
_OUTPUTS = (
    Output("f", "1", "sin(x) exp(-y²)"),
    Output("moments", "1", "x**k for k in 0..2", dims=("k",)),
    Output("n_calls", "1", "always 1 (an integer output)", dtype="int32"),
)


def surface(x, y):
    return np.sin(x) * np.exp(-(y**2))


def _smooth_block(params):
    x, y = params["x"], params["y"]
    if params["delay"].size and params["delay"][0] > 0:
        time.sleep(float(params["delay"].sum()))
    return {
        "f": surface(x, y),
        "moments": np.stack([x**0, x, x**2], axis=1),
        "n_calls": np.ones(x.shape, np.int32),
        "status": np.zeros(x.shape, np.uint8),
    }


SMOOTH = Kernel(
    name="engine_kernels:SMOOTH",
    version="1",
    summary="a smooth analytic surface, vectorized",
    reference="none (test fixture)",
    parameters=_PARAMS,
    outputs=_OUTPUTS,
    solve_block=_smooth_block,
    extra_coords={"k": [0, 1, 2]},
)


def _flaky_point(x, y, delay):
    """Raises for x < -5, returns NaN for x > 5, reports not-converged for y > 5."""
    if x < -5:
        raise ValueError(f"cannot solve at x={x}")
    status = Status.NOT_CONVERGED if y > 5 else Status.OK
    f = np.nan if x > 5 else surface(x, y)
    return {"f": f, "moments": np.array([1.0, x, x * x]), "n_calls": 1, "status": status,
            "message": "iteration cap" if status else ""}


FLAKY = Kernel(
    name="engine_kernels:FLAKY",
    version="1",
    summary="per-point kernel with failures",
    reference="none (test fixture)",
    parameters=_PARAMS,
    outputs=_OUTPUTS,
    solve_point=_flaky_point,
    extra_coords={"k": [0, 1, 2]},
)


def _flaky_block(params):
    """A vectorized kernel that raises for the whole block when any point is bad."""
    if np.any(params["x"] < -5):
        raise FloatingPointError("block contains a bad point")
    return _smooth_block(params)


FLAKY_BLOCK = Kernel(
    name="engine_kernels:FLAKY_BLOCK",
    version="1",
    summary="vectorized kernel that raises for a whole block",
    reference="none (test fixture)",
    parameters=_PARAMS,
    outputs=_OUTPUTS,
    solve_block=_flaky_block,
    extra_coords={"k": [0, 1, 2]},
)


def _crashing_block(params):
    """Kills its worker process outright when the block contains x == 3 (a segfault-like
    death that no try/except can catch)."""
    if np.any(params["x"] == 3.0):
        import os

        os._exit(1)
    return _smooth_block(params)


CRASHING = Kernel(
    name="engine_kernels:CRASHING",
    version="1",
    summary="vectorized kernel whose worker dies on one block",
    reference="none (test fixture)",
    parameters=_PARAMS,
    outputs=_OUTPUTS,
    solve_block=_crashing_block,
    extra_coords={"k": [0, 1, 2]},
)
