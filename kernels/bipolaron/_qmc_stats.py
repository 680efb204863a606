"""Error bars of Markov-chain averages: binning, jackknife, and the merge of chains.

Private to :mod:`pairsweep.kernels.bipolaron.qmc`. Pure numpy.

A chain's measurements are correlated; the standard error of their mean is found by
averaging them in blocks of doubling length until the blocks are longer than the
autocorrelation time, where the naive error of the block means stops growing (the plateau).
Functions of several averages (the mass β d/⟨Δ²⟩, a binding energy) get their error from a
jackknife over the same blocks, which carries the correlations between the averages.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Estimate", "binning", "jackknife", "merge_chains"]

#: Fewest blocks an error is read from: below this the block variance is itself too noisy.
MIN_BLOCKS = 32


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo average with one standard error and its integrated autocorrelation
    time (in measurements; 0.5 for uncorrelated data)."""

    mean: float
    err: float
    tau: float = math.nan

    @property
    def rel_err(self) -> float:
        return abs(self.err / self.mean) if self.mean else math.inf


def binning(series: np.ndarray) -> Estimate:
    """Mean, plateau error and τ_int = ½ (σ_plateau/σ_naive)² of one correlated series.

    The error is the largest naive error of the block means over block lengths 1, 2, 4, …
    that still leave ``MIN_BLOCKS`` blocks: the plateau where it has converged, an
    underestimate (flagged by a τ_int comparable to the series' length / MIN_BLOCKS) where
    the chain is too short.
    """
    x = np.asarray(series, dtype=float)
    n = len(x)
    if n < 2:
        return Estimate(float(x.mean()) if n else math.nan, math.inf, math.nan)
    naive = x.std(ddof=1) / math.sqrt(n)
    err = naive
    blocks = x
    while len(blocks) >= 2 * MIN_BLOCKS:
        blocks = 0.5 * (blocks[: len(blocks) // 2 * 2 : 2] + blocks[1 : len(blocks) // 2 * 2 : 2])
        err = max(err, blocks.std(ddof=1) / math.sqrt(len(blocks)))
    tau = 0.5 * (err / naive) ** 2 if naive > 0 else 0.5
    return Estimate(float(x.mean()), float(err), float(tau))


def jackknife(columns: Sequence[np.ndarray], fn: Callable[..., float],
              n_blocks: int = MIN_BLOCKS) -> Estimate:
    """``fn`` of the means of ``columns`` (equal-length series), with a jackknife error over
    ``n_blocks`` contiguous blocks (each longer than the autocorrelation time when the
    series is long enough for :func:`binning` to plateau)."""
    cols = [np.asarray(c, dtype=float) for c in columns]
    n = len(cols[0]) // n_blocks * n_blocks
    if n == 0:
        return Estimate(fn(*(c.mean() for c in cols)), math.inf)
    sums = [c[:n].reshape(n_blocks, -1).sum(axis=1) for c in cols]
    totals = [s.sum() for s in sums]
    size = n // n_blocks
    full = fn(*(t / n for t in totals))
    leave = np.array([fn(*((t - s[b]) / (n - size) for t, s in zip(totals, sums)))
                      for b in range(n_blocks)])
    finite = np.isfinite(leave)
    if not finite.all():
        return Estimate(full, math.inf)
    err = math.sqrt((n_blocks - 1) / n_blocks * ((leave - leave.mean()) ** 2).sum())
    return Estimate(float(full), float(err))


def merge_chains(means: np.ndarray, errors: np.ndarray, axis: int = -1) -> tuple[np.ndarray,
                                                                                  np.ndarray]:
    """One estimate from independent chains of the same point.

    The mean of the chains, with the larger of two errors: the chains' own errors
    propagated (√Σσ²/n) and the spread between the chains (their standard deviation /√n).
    The second catches a chain whose own error bar is too small (a chain stuck in one region,
    or too short to reach its plateau); with few chains it is itself noisy, which is why the
    larger of the two is kept. NaN (failed or unbound) chains are left out.
    """
    m = np.asarray(means, dtype=float)
    e = np.asarray(errors, dtype=float)
    ok = np.isfinite(m) & np.isfinite(e)
    n = ok.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, m, 0.0).sum(axis=axis) / n
        propagated = np.sqrt(np.where(ok, e * e, 0.0).sum(axis=axis)) / n
        dev = np.where(ok, m - np.expand_dims(mean, axis), 0.0)
        spread = np.sqrt((dev * dev).sum(axis=axis) / np.maximum(n - 1, 1) / n)
        spread = np.where(n > 1, spread, 0.0)
    return mean, np.maximum(propagated, spread)
