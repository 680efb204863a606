"""The quadratic peak of scattered samples, shared by :func:`pairsweep.sweeps.maximum` (on an
adaptive result) and the ``maximum`` loss of an adaptive sweep (which samples the peak it
fits).

Coordinates are the learner's unit ones: each sampled parameter scaled to [0, 1] over its
bounds (log10 first for log parameters), so distances weigh the parameters as the learner
does. Pure numpy: no Dataset, no learner.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Peak", "fit_peak", "gradient_hessian", "quadratic_terms"]


@dataclass(frozen=True)
class Peak:
    """A fitted maximum: ``value`` at ``x`` (unit coordinates), fitted to the samples within
    ``radius`` of the best sample ``best`` (an index into the samples given)."""

    value: float
    x: np.ndarray
    radius: float
    best: int


def quadratic_terms(u: np.ndarray) -> np.ndarray:
    """[1, u_1..u_n, u_i u_j for i <= j]."""
    n = u.size
    cross = [u[i] * u[j] for i in range(n) for j in range(i, n)]
    return np.concatenate([[1.0], u, cross])


def gradient_hessian(coef: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian at u = 0 of the quadratic with :func:`quadratic_terms` ``coef``."""
    gradient = coef[1 : 1 + n]
    hessian = np.zeros((n, n))
    c = iter(coef[1 + n :])
    for i in range(n):
        for j in range(i, n):
            a = next(c)
            if i == j:
                hessian[i, i] = 2 * a
            else:
                hessian[i, j] = hessian[j, i] = a
    return gradient, hessian


def fit_peak(xs: np.ndarray, values: np.ndarray) -> Peak | str:
    """The best sample refined by a quadratic through it, fitted by least squares to its
    ``2 × (terms of the quadratic) − 1`` nearest other samples (11 in 2-D).

    ``xs`` (n, d) in unit coordinates, ``values`` (n,) finite. The quadratic is a Taylor
    expansion about the best sample and passes through it exactly, so a concave fit never
    puts the maximum below a sample: a free least-squares constant rounds a sharp peak off
    (on the multigap dome, 1.2 K below the true maximum where the best sample was 1.4 K
    below it; anchored, 0.03 K: ``bench/adaptive_dome.py``). The fit's stationary point is
    used when its Hessian is negative definite, it lies no farther from the best sample
    than the farthest neighbour used, and inside the unit box. Otherwise returns why not,
    as a note for the caller (the best sample is then the answer).
    """
    xs = np.asarray(xs, dtype=float).reshape(len(values), -1)
    values = np.asarray(values, dtype=float)
    n_dim = xs.shape[1]
    n_terms = 1 + n_dim + n_dim * (n_dim + 1) // 2
    if len(values) < 2 * n_terms:
        return f"only {len(values)} ok samples, the fit uses {2 * n_terms}"
    best = int(np.argmax(values))
    distance = np.linalg.norm(xs - xs[best], axis=1)
    order = np.argsort(distance, kind="stable")
    near = order[order != best][: 2 * n_terms - 1]
    radius = float(distance[near].max())
    if radius == 0:
        return "the samples nearest the best one all sit on it"
    u = (xs[near] - xs[best]) / radius
    design = np.array([quadratic_terms(r)[1:] for r in u])
    if np.linalg.matrix_rank(design) < n_terms - 1:
        return "the samples nearest the best one do not determine a quadratic (e.g. on a line)"
    coef, *_ = np.linalg.lstsq(design, values[near] - values[best], rcond=None)
    gradient, hessian = gradient_hessian(np.concatenate([[0.0], coef]), n_dim)
    if np.any(np.linalg.eigvalsh(hessian) >= 0):
        return "the local quadratic fit is not concave"
    u_star = -np.linalg.solve(hessian, gradient)
    if np.linalg.norm(u_star) > 1.0:
        return "the fitted maximum lies outside the samples used for the fit"
    x_star = xs[best] + u_star * radius
    if np.any(x_star < 0) or np.any(x_star > 1):
        return "the fitted maximum lies outside the sampled bounds"
    return Peak(float(values[best] + 0.5 * gradient @ u_star), x_star, radius, best)
