"""Reading physics off a stored grid: a maximum between grid points, and level lines.

>>> from pairsweep.sweeps import open_result                            # doctest: +SKIP
>>> from pairsweep.sweeps.analysis import maximum, level_line
>>> ds = open_result("results/lifshitz.zarr")
>>> m = maximum(ds.sel(ell=0), "Tc", dims=["eta", "g"])   # dome top, refined off-grid
>>> m.value, m.coords                                      # (T_c at the top, {"eta": ..., "g": ...})
>>> line = level_line(ds.sel(ell=0), "Tc", 0.05)           # DataFrame: line, eta, g

Only ``ok`` points count: a failed or not-converged point is never a maximum and never part of
a level line (its stored value may be a fill value or an unconverged number). Both functions
load only ``var`` and ``status`` of the slice given, as numpy arrays, so they work on the lazy
dataset of :func:`open_result` (the ``argmax(dim=[...])`` idiom does not: pandas asserts
inside xarray's dask path).

Log-spaced axes (see :func:`~pairsweep.sweeps.selection.is_log_spaced`) are fitted and
interpolated in the logarithm of the coordinate, the variable in which their grid is even.

An adaptive result (samples along ``point``) goes to :func:`maximum` as it is: the fit then
runs through the samples nearest the best one. For :func:`level_line`, put it on a grid
first with :func:`~pairsweep.sweeps.adaptive_grid.to_grid`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import TYPE_CHECKING

import numpy as np

from pairsweep.storage.points import POINT

from .peak import fit_peak, gradient_hessian, quadratic_terms
from .selection import is_log_spaced
from .spec import SpecError

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

__all__ = ["Maximum", "level_line", "maximum"]

_OK = 0


@dataclass(frozen=True)
class Maximum:
    """The largest ``ok`` value of a variable and where it is.

    ``value`` and ``coords`` are refined between grid points by a local quadratic fit when the
    fit is trustworthy (``refined``); otherwise they are the grid maximum's. ``note`` says why
    a refinement was not used. Units are those of the variable and of each coordinate. For
    an adaptive result, "grid" means the best ok sample, and ``coords`` name the sampled
    parameters only (the learner selected is the caller's selection).
    """

    value: float
    coords: dict[str, float]
    grid_value: float
    grid_coords: dict[str, float]
    refined: bool
    note: str = ""
    on_edge: tuple[str, ...] = field(default=())


def _ok_values(ds: xr.Dataset, var: str, dims: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    if var not in ds.data_vars:
        raise SpecError(f"variable: {var!r} is not in the dataset; variables: {', '.join(map(str, ds.data_vars))}")
    da = ds[var]
    free = [str(d) for d in da.dims]
    dims = list(free if dims is None else dims)
    unknown = [d for d in dims if d not in free]
    if unknown:
        raise SpecError(f"dims: {', '.join(unknown)} not dimensions of {var}; dimensions: {', '.join(free)}")
    rest = [d for d in free if d not in dims]
    if rest:
        raise SpecError(f"dims: {var} also varies along {', '.join(rest)}; select one value with .sel() / .isel() first")
    status = ds["status"].broadcast_like(da) if "status" in ds else None
    values = np.asarray(da.transpose(*dims).values, dtype=float)
    if status is not None:
        values = np.where(np.asarray(status.transpose(*dims).values) == _OK, values, np.nan)
    return values, dims


def _scaled_axes(ds: xr.Dataset, dims: Sequence[str]) -> list[tuple[np.ndarray, bool]]:
    """Each dimension's coordinate as fitted: log of it on a log-spaced axis."""
    out = []
    for d in dims:
        c = np.asarray(ds[d].values)
        if c.dtype.kind not in "fiu":
            raise SpecError(f"dims: {d} is categorical; a maximum or level line needs numeric axes")
        c = c.astype(float)
        if np.any(np.diff(c) <= 0):
            raise SpecError(f"dims: {d} is not increasing; sort it first (ds.sortby({d!r}))")
        log = is_log_spaced(c)
        out.append((np.log(c) if log else c, log))
    return out


def maximum(ds: xr.Dataset, var: str, dims: Sequence[str] | None = None) -> Maximum:
    """Largest ``ok`` value of ``var`` over ``dims``, refined between grid points.

    Parameters
    ----------
    ds
        A result (e.g. ``open_result(store)``), already reduced with ``.sel`` to ``dims``.
    var
        The variable to maximise (use ``-ds[var]`` for a minimum).
    dims
        The dimensions to search; default all of ``var``'s.

    On an adaptive result (a ``point`` dimension) the samples are fitted directly; see
    :func:`_scattered_maximum`. On a grid, the refinement fits a full quadratic
    (1 + n + n(n+1)/2 terms) by least squares to the ok
    points of the 3^n neighbourhood of the grid maximum, in coordinates scaled by the local
    grid spacing. Its stationary point is used when the fitted Hessian is negative definite
    and the point lies within one grid step of the grid maximum; otherwise the grid maximum is
    returned with ``refined=False`` and a note. A maximum on the edge of the grid is not
    extrapolated along that dimension (``on_edge`` names it).
    """
    if POINT in ds.dims and "adaptive" in (ds.attrs.get("pairsweep") or {}).get("spec", {}):
        if dims is not None and list(dims) != [POINT]:
            raise SpecError(f"dims: an adaptive result's samples lie along {POINT!r}; "
                            f"give dims=[{POINT!r}] or leave it out")
        return _scattered_maximum(ds, var)
    values, dims = _ok_values(ds, var, dims)
    if not np.isfinite(values).any():
        raise SpecError(f"variable: {var} has no ok, finite value in this selection")
    axes = _scaled_axes(ds, dims)
    idx = np.unravel_index(int(np.nanargmax(values)), values.shape)
    grid_value = float(values[idx])
    grid_coords = {d: float(ds[d].values[i]) for d, i in zip(dims, idx, strict=True)}
    edge = tuple(d for d, i, n in zip(dims, idx, values.shape, strict=True) if i == 0 or i == n - 1)
    free = [k for k, d in enumerate(dims) if d not in edge]
    if not free:
        return Maximum(grid_value, grid_coords, grid_value, grid_coords, False,
                       "maximum on the edge of the grid in every dimension", edge)
    # Neighbourhood of the grid maximum along the dimensions with a neighbour on both sides.
    centre = np.array([axes[k][0][idx[k]] for k in free])
    step = np.array([(axes[k][0][idx[k] + 1] - axes[k][0][idx[k] - 1]) / 2 for k in free])
    rows, targets = [], []
    for offset in product((-1, 0, 1), repeat=len(free)):
        at = list(idx)
        for k, o in zip(free, offset, strict=True):
            at[k] += o
        v = values[tuple(at)]
        if np.isfinite(v):
            u = (np.array([axes[k][0][at[k]] for k in free]) - centre) / step
            rows.append(quadratic_terms(u))
            targets.append(v)
    n_terms = 1 + len(free) + len(free) * (len(free) + 1) // 2
    if len(rows) < n_terms:
        return Maximum(grid_value, grid_coords, grid_value, grid_coords, False,
                       f"only {len(rows)} ok neighbours, a quadratic needs {n_terms}", edge)
    coef, *_ = np.linalg.lstsq(np.array(rows), np.array(targets), rcond=None)
    gradient, hessian = gradient_hessian(coef, len(free))
    if np.any(np.linalg.eigvalsh(hessian) >= 0):
        return Maximum(grid_value, grid_coords, grid_value, grid_coords, False,
                       "the local quadratic fit is not concave", edge)
    u_star = -np.linalg.solve(hessian, gradient)
    if np.any(np.abs(u_star) > 1.0):
        return Maximum(grid_value, grid_coords, grid_value, grid_coords, False,
                       "the fitted maximum lies more than one grid step away", edge)
    value = float(coef @ quadratic_terms(u_star))
    coords = dict(grid_coords)
    for j, k in enumerate(free):
        scaled = centre[j] + u_star[j] * step[j]
        coords[dims[k]] = float(np.exp(scaled) if axes[k][1] else scaled)
    return Maximum(value, coords, grid_value, grid_coords, True, "", edge)


def _scattered_maximum(ds: xr.Dataset, var: str) -> Maximum:
    """:func:`maximum` of an adaptive result: the best ok sample, refined by a quadratic
    through it fitted to its ``2 × (terms of the quadratic) − 1`` nearest ok samples (11 in
    2-D; :func:`~.peak.fit_peak`).

    Distances and the fit are in the learner's coordinates (each sampled parameter scaled
    to [0, 1] over its bounds, log10 first for log parameters), so the neighbourhood is the
    one the learner refined. The fit's stationary point is used when its Hessian is negative
    definite and it lies no farther from the best sample than the farthest neighbour used,
    and inside the bounds; otherwise (and when the neighbours coincide or do not determine a
    quadratic) the best sample is returned with ``refined=False`` and a note. A result with
    several learners (learner-grid axes) must be reduced to one first.
    """
    from .adaptive_grid import adaptive_spec_of

    spec = adaptive_spec_of(ds)
    sampled = list(spec["bounds"])
    log = set(spec.get("log", []))
    values, _ = _ok_values(ds, var, [POINT])
    ok = np.isfinite(values)
    for name, axis in spec.get("learner_axes", {}).items():
        if len(axis) < 2:
            continue
        # slots never written hold NaN coordinates: only ok samples say which learners remain
        here = np.asarray(ds[name].values)[ok] if name in ds.coords else None
        if here is None or np.unique(here).size > 1:
            raise SpecError(f"{name}: this result has one learner per {name} value ({', '.join(map(str, axis))}); "
                            f"select one first, e.g. ds.isel(point=ds[{name!r}].values == {axis[0]!r})")
    if not ok.any():
        raise SpecError(f"variable: {var} has no ok, finite value in this selection")

    # each sampled parameter's bounds in learner space (log10 for log parameters)
    lows, highs = np.array([[np.log10(b) if n in log else b for b in spec["bounds"][n]] for n in sampled]).T

    def learner_space(name: str) -> np.ndarray:
        x = np.asarray(ds[name].values, dtype=float)
        return np.log10(x) if name in log else x

    xs = ((np.stack([learner_space(n) for n in sampled], axis=1) - lows) / (highs - lows))[ok]
    vs = values[ok]
    params = {n: np.asarray(ds[n].values, dtype=float)[ok] for n in sampled}
    best = int(np.argmax(vs))
    grid_value = float(vs[best])
    grid_coords = {n: float(params[n][best]) for n in sampled}
    edge = tuple(n for j, n in enumerate(sampled) if min(xs[best, j], 1 - xs[best, j]) <= 1e-12)
    peak = fit_peak(xs, vs)
    if isinstance(peak, str):
        return Maximum(grid_value, grid_coords, grid_value, grid_coords, False, peak, edge)
    learnt = lows + peak.x * (highs - lows)
    coords = {n: float(10 ** learnt[j] if n in log else learnt[j]) for j, n in enumerate(sampled)}
    return Maximum(peak.value, coords, grid_value, grid_coords, True, "", edge)


def level_line(ds: xr.Dataset, var: str, level: float, dims: Sequence[str] | None = None) -> pd.DataFrame:
    """Where ``var`` crosses ``level``: a crossover or phase-boundary line.

    Over two dimensions: the contour lines (marching squares through ``contourpy``), one
    ``line`` number per connected piece, as a table with columns ``line`` and the two
    dimensions; only grid cells whose four corners are ok take part. Over one dimension: the
    crossing points, linearly interpolated between adjacent ok points, with columns ``line``
    (the crossing's number) and the dimension. Coordinates in the axes' units.
    """
    import pandas as pd

    values, dims = _ok_values(ds, var, dims)
    axes = _scaled_axes(ds, dims)
    level = float(level)
    if len(dims) == 1:
        (c, log), v = axes[0], values
        a, b = v[:-1] - level, v[1:] - level
        hit = np.isfinite(a) & np.isfinite(b) & ((a == 0) | (a * b < 0))
        i = np.flatnonzero(hit)
        t = np.where(a[i] == b[i], 0.0, a[i] / (a[i] - b[i]))
        x = c[i] + t * (c[i + 1] - c[i])
        x = np.exp(x) if log else x
        if np.isfinite(v[-1]) and v[-1] == level:
            x = np.append(x, np.exp(c[-1]) if log else c[-1])
        return pd.DataFrame({"line": np.arange(x.size), dims[0]: x})
    if len(dims) != 2:
        raise SpecError(f"dims: a level line needs one or two dimensions, got {', '.join(dims)}")
    import contourpy

    (cx, logx), (cy, logy) = axes
    z = np.ma.masked_invalid(values.T)  # contourpy: z[y, x]
    gen = contourpy.contour_generator(cx, cy, z, line_type=contourpy.LineType.Separate, corner_mask=False)
    pieces = []
    for n, line in enumerate(gen.lines(level)):
        xs, ys = line[:, 0], line[:, 1]
        pieces.append(pd.DataFrame({"line": n, dims[0]: np.exp(xs) if logx else xs,
                                    dims[1]: np.exp(ys) if logy else ys}))
    if not pieces:
        return pd.DataFrame({"line": np.array([], int), dims[0]: np.array([]), dims[1]: np.array([])})
    return pd.concat(pieces, ignore_index=True)
