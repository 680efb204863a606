"""Quadrature rules shared by the model subpackages (pure numpy)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["gauss_legendre"]


@lru_cache(maxsize=32)
def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on [−1, 1] (cached; read-only, so a caller cannot
    corrupt the cache by scaling them in place)."""
    x, w = np.polynomial.legendre.leggauss(n)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w
