"""Shared pieces of the adaptive benchmarks: evaluate a registered kernel at points in this
process, and a python-adaptive point function for adaptive's own Runner."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from pairsweep.kernels import get_kernel  # noqa: E402
from pairsweep.sweeps.execute import evaluate_block  # noqa: E402


def evaluate(kernel_name: str, fixed: Mapping[str, Any], points: Mapping[str, np.ndarray], output: str,
             index: tuple[int, ...] = ()) -> np.ndarray:
    """``output`` at ``points`` (parameter -> flat array), NaN where not ok; one process."""
    kernel = get_kernel(kernel_name)
    values = {p.name: p.default for p in kernel.parameters}
    values.update(fixed)
    n = len(next(iter(points.values())))
    params = {k: np.full(n, v) for k, v in values.items() if k not in points}
    params.update({k: np.asarray(v, dtype=float) for k, v in points.items()})
    extra = {d: len(v) for d, v in kernel.coords_for(values).items()}
    result = evaluate_block(kernel, params, extra)
    out = np.asarray(result.outputs[output], dtype=float)
    out = out[(slice(None), *index)] if index else out
    return np.where(result.status == 0, out, np.nan)


class PointFunction:
    """A picklable f(point) for adaptive's Runner: one kernel evaluation per call."""

    def __init__(self, kernel_name: str, fixed: Mapping[str, Any], names: tuple[str, ...], output: str,
                 offset: float = 0.0):
        self.kernel_name, self.fixed, self.names, self.output, self.offset = kernel_name, dict(fixed), names, output, offset

    def __call__(self, x: Any) -> float:
        x = np.atleast_1d(x)
        value = evaluate(self.kernel_name, self.fixed, {n: np.array([v]) for n, v in zip(self.names, x)}, self.output)
        v = float(value[0]) - self.offset
        return v if np.isfinite(v) else 0.0


def needs(rows: list[tuple[int, bool]]) -> int | None:
    """Smallest evaluation count n from which every row ``(n, meets target)`` of a series
    meets the target (a method's error need not fall monotonically with n)."""
    need = None
    for n, ok in sorted(rows, reverse=True):
        if not ok:
            break
        need = n
    return need
