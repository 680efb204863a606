"""Synthetic kernels of known cost for bench/engine_overhead.py (not physics).

``loop_1ms``: a per-point solver in pure Python, ~1 ms per point (a fixed-point iteration of
cos). ``vector_10us``/``vector_1us``: vectorized numpy, a sum of N exponentials per point.
"""

from __future__ import annotations

import math

import numpy as np

from pairsweep.kernels import Kernel, Output, Parameter, Status

_PARAMS = (
    Parameter("a", "1", "first coordinate", default=0.5, bounds=(0.0, 1.0)),
    Parameter("b", "1", "second coordinate", default=0.5, bounds=(0.0, 1.0)),
)
_OUTPUT = (Output("value", "1", "the kernel's number"),)
LOOP_ITERATIONS = 33_000  # ~1 ms of interpreted Python on this project's machines


def _loop_point(a: float, b: float) -> dict:
    x = a + b
    for _ in range(LOOP_ITERATIONS):
        x = math.cos(x)
    return {"value": x, "status": Status.OK}


def _vector(n_terms: int):
    k = np.linspace(0.0, 1.0, n_terms)

    def solve_block(params):
        x = params["a"] + params["b"]
        value = np.empty_like(x)
        # Cache-sized pieces into one reused buffer, as a well-written vectorized kernel
        # does: fresh (256 x n_terms) temporaries per piece would time glibc's mmap/trim
        # policy (page faults), not the kernel or the engine.
        buf = np.empty((256, n_terms))
        for start in range(0, x.size, 256):
            piece = slice(start, min(start + 256, x.size))
            work = buf[: piece.stop - piece.start]
            np.multiply.outer(x[piece], -k, out=work)
            np.exp(work, out=work)
            work.sum(axis=1, out=value[piece])
        return {"value": value, "status": np.zeros(x.shape, np.uint8)}
    return solve_block


LOOP_1MS = Kernel("bench_kernels:LOOP_1MS", "1", "~1 ms/point Python loop", "none", _PARAMS, _OUTPUT,
                  solve_point=_loop_point, seconds_per_point=1e-3)
VECTOR_10US = Kernel("bench_kernels:VECTOR_10US", "1", "~10 µs/point numpy", "none", _PARAMS, _OUTPUT,
                     solve_block=_vector(1500), seconds_per_point=1e-5)
VECTOR_1US = Kernel("bench_kernels:VECTOR_1US", "1", "~1 µs/point numpy", "none", _PARAMS, _OUTPUT,
                    solve_block=_vector(100), seconds_per_point=1e-6)
