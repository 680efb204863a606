"""Whole-store export: ``pairsweep export STORE -o x.nc | x.csv``.

netCDF is written by xarray's scipy backend (netCDF-3, 64-bit offsets; scipy is already a
dependency, so no HDF5 stack is needed). netCDF attributes hold only strings and numbers,
so nested attributes (the root ``pairsweep`` provenance: spec, versions, runs) are stored as
JSON text, marked by a ``json:`` prefix in ``pairsweep_json_attrs``; netCDF-3 has no uint8,
so ``status`` is stored as int16 (same codes, same flag attributes).

CSV is long format: one row per grid point, one column per axis, then ``status`` (its
name), each output (an output with extra dimensions such as ``ell`` gives one column per
index, ``lambda[ell=0]``), and the failure message from the ledger. It is written a slab of
the first axis at a time, so memory stays bounded for any store size and any number of axes.

Both are written to a temporary file beside the target and renamed into place: a killed
export never leaves a torn file under the requested name.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .spec import SpecError

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["EXPORT_SUFFIXES", "check_export_path", "export_csv", "export_netcdf", "netcdf_ready"]

EXPORT_SUFFIXES = (".nc", ".csv")
_STATUS_NAMES = {0: "ok", 1: "not_converged", 2: "failed", 255: "not_computed"}
#: Rows per CSV slab, roughly: bounds the memory an export needs.
_ROWS_PER_SLAB = 200_000


def check_export_path(path: str | Path, *, force: bool = False, field: str = "--output") -> Path:
    """Reject an unknown suffix, a missing directory, or an existing file (unless ``force``)."""
    out = Path(path)
    if out.suffix.lower() not in EXPORT_SUFFIXES:
        raise SpecError(f"{field}: unknown export format {out.suffix or '(none)'!r}; allowed: {', '.join(EXPORT_SUFFIXES)}")
    if not out.parent.resolve().is_dir():
        raise SpecError(f"{field}: directory {out.parent} does not exist")
    if out.exists() and not force:
        raise SpecError(f"{field}: {out} exists; pass --force to replace it")
    return out


@contextmanager
def _atomic(out: Path) -> Iterator[Path]:
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}-", suffix=out.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _plain(value: Any) -> bool:
    if isinstance(value, str | int | float | np.number) and not isinstance(value, bool):
        return True
    if isinstance(value, list | tuple | np.ndarray):
        items = list(np.asarray(value).ravel()) if isinstance(value, np.ndarray) else list(value)
        return bool(items) and all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in items)
    return False


def _encode_attrs(attrs: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    out, encoded = {}, []
    for key, value in attrs.items():
        if _plain(value):
            out[key] = value
        else:
            out[key] = json.dumps(value, default=str, sort_keys=True)
            encoded.append(key)
    return out, encoded


def netcdf_ready(ds: xr.Dataset) -> xr.Dataset:
    """A copy of ``ds`` that netCDF-3 accepts: nested attributes as JSON text, uint8 → int16,
    bool → int8. Read the provenance back with ``json.loads(nc.attrs["pairsweep"])``."""
    ds = ds.copy()
    for name in list(ds.variables):
        var = ds[name]
        if var.dtype == np.uint8 or var.dtype.kind == "u":
            ds[name] = var.astype(np.int16 if var.dtype.itemsize == 1 else np.int64 if var.dtype.itemsize > 2 else np.int32)
        elif var.dtype == bool:
            ds[name] = var.astype(np.int8)
        ds[name].attrs, encoded = _encode_attrs(var.attrs)
        if encoded:
            ds[name].attrs["pairsweep_json_attrs"] = " ".join(encoded)
        ds[name].encoding = {}
    ds.attrs, encoded = _encode_attrs(ds.attrs)
    if encoded:
        ds.attrs["pairsweep_json_attrs"] = " ".join(encoded)
    return ds


def export_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` (e.g. a whole :func:`open_result`) as netCDF-3 with JSON-encoded provenance."""
    out = Path(path)
    ready = netcdf_ready(ds)
    import dask

    # The scipy backend cannot be written from distributed workers (xarray refuses when a
    # Client is active); the export reads chunks in this process, one at a time.
    with _atomic(out) as tmp, dask.config.set(scheduler="synchronous"):
        ready.to_netcdf(tmp, engine="scipy", format="NETCDF3_64BIT")
    return out


def _columns(sub: xr.Dataset, axes: list[str], names: list[str]) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {}
    grids = np.meshgrid(*[sub[a].values for a in axes], indexing="ij")
    for a, g in zip(axes, grids, strict=True):
        cols[a] = g.ravel()
    n = grids[0].size if grids else 1
    if "status" in sub:
        codes = np.asarray(sub["status"].transpose(*axes).values).ravel()
        cols["status"] = np.array([_STATUS_NAMES.get(int(c), str(c)) for c in codes], dtype=object)
    for name in names:
        var = sub[name]
        extra = [d for d in var.dims if d not in axes]
        values = np.asarray(var.transpose(*axes, *extra).values).reshape(n, -1)
        if not extra:
            cols[name] = values[:, 0]
            continue
        labels = np.meshgrid(*[sub[d].values for d in extra], indexing="ij")
        for j, combo in enumerate(zip(*[lab.ravel() for lab in labels], strict=True)):
            key = ",".join(f"{d}={v}" for d, v in zip(extra, combo, strict=True))
            cols[f"{name}[{key}]"] = values[:, j]
    return cols


def export_csv(
    ds: xr.Dataset, path: str | Path, messages: Mapping[int, str] | None = None, *, rows_per_slab: int = _ROWS_PER_SLAB
) -> Path:
    """Write ``ds`` as a long-format CSV (one row per grid point), a slab at a time.

    ``messages`` maps a point's flat index in the full grid (C order over the axes, as the
    ledger stores it) to its failure message; it fills the ``message`` column.
    ``rows_per_slab`` bounds the rows loaded at once (whole slabs of the first axis).
    """
    import pandas as pd

    out = Path(path)
    axes = [str(d) for d in ds["status"].dims] if "status" in ds else [str(d) for d in ds.dims]
    # an adaptive store's parameters are coordinates along its `point` axis: columns too
    names = [str(c) for c in ds.coords if c not in ds.dims and set(ds[c].dims) <= set(axes) and ds[c].dims]
    names += [str(n) for n in ds.data_vars if n != "status"]
    shape = tuple(ds.sizes[a] for a in axes)
    row_size = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    slab = max(1, rows_per_slab // max(row_size, 1))
    with _atomic(out) as tmp, open(tmp, "w", newline="") as f:
        for start in range(0, shape[0] if shape else 1, slab):
            sub = ds.isel({axes[0]: slice(start, start + slab)}).load() if axes else ds.load()
            cols = _columns(sub, axes, names)
            if messages is not None:
                local = np.indices(tuple(sub.sizes[a] for a in axes)).reshape(len(axes), -1)
                local[0] += start
                flat = np.ravel_multi_index(tuple(local), shape)
                cols["message"] = np.array([messages.get(int(i), "") for i in flat], dtype=object)
            pd.DataFrame(cols).to_csv(f, header=start == 0, index=False)
    return out
