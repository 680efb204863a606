"""Put an adaptive result on a regular grid, for plots and for :mod:`.analysis`.

>>> from pairsweep.sweeps import open_result, maximum          # doctest: +SKIP
>>> from pairsweep.sweeps.adaptive_grid import to_grid
>>> grid = to_grid(open_result("dome_adaptive.zarr"), "Tc_K", n=201)
>>> maximum(grid, "Tc_K", dims=["eta", "g"])

Only ``ok`` points enter the interpolation. Along each sampled parameter the grid has ``n``
values between its bounds (geometric for log parameters, which are interpolated in log
space); learner-grid axes keep their values. The interpolant is piecewise linear over the
Delaunay triangulation of the points (``method="cubic"``: scipy's C¹ Clough–Tocher, 2-D
only; 1-D uses linear interpolation either way). Grid points outside the hull of the ok
points get NaN and ``status = not computed``; the others ``status = ok``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np
import xarray as xr

from pairsweep.kernels import Status
from pairsweep.storage.points import POINT

from .errors import SpecError

__all__ = ["adaptive_spec_of", "to_grid"]


def adaptive_spec_of(ds: xr.Dataset) -> dict:
    """The ``adaptive`` part of the canonical spec of an adaptive result."""
    try:
        return ds.attrs["pairsweep"]["spec"]["adaptive"]
    except (KeyError, TypeError):
        raise SpecError("store: not an adaptive result (no adaptive spec in its attributes)") from None


def to_grid(ds: xr.Dataset, var: str, n: int | Mapping[str, int] = 101, method: str = "linear") -> xr.Dataset:
    """``var`` of an adaptive result interpolated onto a regular grid (see the module).

    Parameters
    ----------
    ds
        ``open_result(store)`` of an adaptive store.
    var
        The output to interpolate (extra dimensions such as ``ell`` are kept).
    n
        Grid values per sampled parameter (one number, or per parameter).
    method
        ``"linear"`` or ``"cubic"`` (2-D only).
    """
    from scipy import interpolate

    spec = adaptive_spec_of(ds)
    if var not in ds.data_vars or POINT not in ds[var].dims:
        raise SpecError(f"variable: {var} is not a per-point output of this store")
    if method not in ("linear", "cubic"):
        raise SpecError(f"method: {method!r}; allowed: linear, cubic")
    sampled = list(spec["bounds"])
    if method == "cubic" and len(sampled) != 2:
        raise SpecError("method: cubic interpolation needs exactly 2 sampled parameters")
    log = set(spec.get("log", []))
    learner_axes = {k: np.asarray(v) for k, v in spec.get("learner_axes", {}).items()}
    sizes = {s: int(n[s] if isinstance(n, Mapping) else n) for s in sampled}
    targets = {}
    for s in sampled:
        lo, hi = spec["bounds"][s]
        targets[s] = np.geomspace(lo, hi, sizes[s]) if s in log else np.linspace(lo, hi, sizes[s])

    def learn(name: str, values: np.ndarray) -> np.ndarray:
        return np.log10(values) if name in log else values

    loaded = ds[[var, "status", *sampled, *learner_axes]].load()
    values = np.asarray(loaded[var].values, dtype=float)
    extra_dims = [d for d in loaded[var].dims if d != POINT]
    extra_shape = values.shape[1:]
    flat = values.reshape(len(values), -1)
    ok = (np.asarray(loaded["status"].values) == Status.OK) & np.isfinite(flat).all(axis=1)
    xs = np.stack([learn(s, np.asarray(loaded[s].values, dtype=float)) for s in sampled], axis=1)
    mesh = np.meshgrid(*(learn(s, targets[s]) for s in sampled), indexing="ij")
    query = np.stack([m.ravel() for m in mesh], axis=1)
    grid_shape = tuple(sizes[s] for s in sampled)

    out_shape = tuple(len(v) for v in learner_axes.values()) + grid_shape + extra_shape
    out = np.full(out_shape, np.nan)
    for combo in itertools.product(*(range(len(v)) for v in learner_axes.values())):
        here = ok.copy()
        for (name, axis_values), i in zip(learner_axes.items(), combo, strict=True):
            here &= np.asarray(loaded[name].values) == axis_values[i]
        if here.sum() < len(sampled) + 1:
            continue
        pts, vals = xs[here], flat[here]
        if len(sampled) == 1:
            order = np.argsort(pts[:, 0])
            q = query[:, 0]
            res = np.stack([np.interp(q, pts[order, 0], vals[order, j], left=np.nan, right=np.nan)
                            for j in range(vals.shape[1])], axis=1)
        else:
            pts, unique = np.unique(pts, axis=0, return_index=True)
            vals = vals[unique]
            if method == "cubic":
                res = interpolate.CloughTocher2DInterpolator(pts, vals)(query)
            else:
                res = interpolate.LinearNDInterpolator(pts, vals)(query)
        out[combo] = res.reshape(grid_shape + extra_shape)

    dims = [*learner_axes, *sampled, *extra_dims]
    coords: dict[str, tuple[str, np.ndarray, dict]] = {}
    for name, v in learner_axes.items():
        coords[name] = (name, v, dict(ds[name].attrs))
    for s in sampled:
        coords[s] = (s, targets[s], dict(ds[s].attrs))
    for d in extra_dims:
        coords[d] = (d, np.asarray(ds[d].values), dict(ds[d].attrs))
    finite = np.isfinite(out.reshape(out.shape[: len(out.shape) - len(extra_shape)] + (-1,))).all(axis=-1)
    status = np.where(finite, int(Status.OK), int(Status.NOT_COMPUTED)).astype(np.uint8)
    attrs = {k: v for k, v in ds[var].attrs.items() if k != "coordinates"}
    return xr.Dataset(
        {var: (dims, out, attrs), "status": (dims[: len(dims) - len(extra_dims)], status, dict(ds["status"].attrs))},
        coords={k: (d, v, a) for k, (d, v, a) in coords.items()},
        attrs={**ds.attrs, "interpolated_from": f"{int(ok.sum())} ok points of an adaptive result ({method})"},
    )
