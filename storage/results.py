"""Reading results: the labelled Dataset, the failures table and the progress summary."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import ledger
from .axes import axis_size, axis_values
from .layout import read_root_attrs
from .parts import combine_parts, extended_spec, list_parts, part_stores

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["StoreStatus", "failure_messages", "failures", "open_result", "store_status"]


def open_result(path: str | Path, *, only_ok: bool = False) -> xr.Dataset:
    """Open a sweep result as a lazily loaded :class:`xarray.Dataset`.

    Equivalent to ``xarray.open_zarr(path)`` for a store that was never extended. An
    extended store (:mod:`.parts`) opens as one Dataset over the union of its parts' grids,
    numeric coordinates sorted, ``status`` = not computed where no block was computed yet;
    ``attrs["pairsweep_parts"]`` lists the parts and the spec that last extended the store.
    With ``only_ok=True`` every output is NaN where ``status`` is not ``ok`` (integer and
    boolean outputs become floating point so that NaN can mark them, by xarray's promotion:
    float32 for 8- and 16-bit integers, float64 for wider integers and booleans; no masked
    point reads as a number).
    """
    import xarray as xr  # here, not at import: `pairsweep status` never needs it

    if list_parts(path):
        ds = _open_parts(path)
    else:
        ds = xr.open_zarr(str(path))
    if only_ok:
        ok = ds["status"] == 0
        for name, var in ds.data_vars.items():
            if name != "status":
                ds[name] = var.where(ok)
    return ds


def _open_parts(path: str | Path) -> xr.Dataset:
    import xarray as xr
    import zarr

    stores = part_stores(path)
    datasets = [xr.open_zarr(str(p)) for p in stores]
    group = zarr.open_group(str(path), mode="r")
    fill = {name: group[name].fill_value for name in datasets[0].data_vars}
    dims = list(_meta(path)["spec"]["axes"])
    ds = combine_parts(datasets, dims, fill)
    ds.attrs["pairsweep_parts"] = {
        "parts": ["0", *list_parts(path)],
        "spec_hashes": [_meta(p)["spec_hash"] for p in stores],
        "extended_by": extended_spec(path),
    }
    return ds


def _meta(path: str | Path) -> dict[str, Any]:
    return read_root_attrs(path)["pairsweep"]


def _grid(meta: dict[str, Any]) -> tuple[list[str], tuple[int, ...], tuple[int, ...]]:
    spec = meta["spec"]
    names = list(spec["axes"])
    shape = tuple(axis_size(v) for v in spec["axes"].values())
    chunks = tuple(spec["chunks"][n] for n in names)
    return names, shape, chunks


def failures(path: str | Path) -> Iterator[dict[str, Any]]:
    """Every recorded message of a non-ok point: its parameters, block and message.

    Read from the ledger alone (no data is loaded); every part of an extended store.
    """
    stores = part_stores(path)
    for number, part in enumerate(stores):
        for row in _part_failures(part):
            # block ids count within a part: name the part when there are several
            yield {**row, "part": number} if len(stores) > 1 else row


def _part_failures(path: Path) -> Iterator[dict[str, Any]]:
    meta = _meta(path)
    names, shape, _ = _grid(meta)
    axes: dict[str, Any] = {}  # read on the first message: a long axis lives in its array
    for entry in ledger.iter_entries(path):
        if not axes:
            axes = {name: axis_values(path, meta["spec"], name).tolist() for name in names}
        for flat, message in entry.get("messages", {}).items():
            index = np.unravel_index(int(flat), shape)
            row = {name: axes[name][int(i)] for name, i in zip(names, index, strict=True)}
            yield {**row, "block": entry["block"], "message": message}


def failure_messages(path: str | Path, ds: xr.Dataset) -> dict[int, str]:
    """Failure messages keyed by the point's flat index (C order) in ``ds``'s grid, where
    ``ds`` is :func:`open_result` of the store: the ledger's own keys for a store never
    extended, else each part's points placed on the union grid."""
    if not list_parts(path):
        return {int(k): v for e in ledger.iter_entries(path) for k, v in e.get("messages", {}).items()}
    dims = list(_meta(path)["spec"]["axes"])
    index = {d: {v: i for i, v in enumerate(ds[d].values.tolist())} for d in dims}
    shape = tuple(ds.sizes[d] for d in dims)
    return {
        int(np.ravel_multi_index(tuple(index[d][row[d]] for d in dims), shape)): row["message"]
        for row in failures(path)
    }


@dataclass
class StoreStatus:
    """Progress of a store, from its ledger: blocks and points done, per-axis coverage."""

    path: Path
    kernel: str
    spec_hash: str
    n_points: int
    n_blocks: int
    blocks_done: int
    points_done: int
    ok: int
    not_converged: int
    failed: int
    coverage: dict[str, tuple[int, int]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    #: 1 for a store never extended; else how many parts it has (:mod:`.parts`)
    parts: int = 1

    @property
    def points_remaining(self) -> int:
        return self.n_points - self.points_done

    def __str__(self) -> str:
        pct = 100.0 * self.points_done / self.n_points if self.n_points else 100.0
        lines = [
            f"{self.path}: kernel {self.kernel}, spec {self.spec_hash}"
            + (f", extended: {self.parts} parts" if self.parts > 1 else ""),
            f"  blocks {self.blocks_done}/{self.n_blocks}, points {self.points_done}/{self.n_points} done ({pct:.1f} %),"
            f" {self.points_remaining} remaining",
            f"  ok {self.ok}, not converged {self.not_converged}, failed {self.failed}",
            "  coverage (coordinate values with every point done / total):",
        ]
        lines += [f"    {name}: {full}/{total}" for name, (full, total) in self.coverage.items()]
        if self.runs:
            last = self.runs[-1]
            if "interrupted" in last:
                ended = f"interrupted {last['interrupted']} (Ctrl-C; {last.get('blocks_kept', '?')} blocks kept)"
            else:
                ended = f"finished {last.get('finished', 'not recorded (running or killed)')}"
            lines.append(f"  last run {last.get('run')} on {last.get('host')}: started {last.get('started')}, {ended}")
        return "\n".join(lines)


def store_status(path: str | Path) -> StoreStatus:
    """Summarise a store's progress from its ledger (fast: no chunk is read); an extended
    store's over all of its parts (coverage over the union of their axis values)."""
    stores = part_stores(path)
    if len(stores) == 1:
        return _part_status(path)[0]
    parts, per_value_done = zip(*(_part_status(p) for p in stores), strict=True)
    covered: dict[str, dict[Any, bool]] = {}
    for part, value_coverage in zip(stores, per_value_done, strict=True):
        meta = _meta(part)
        for name, values in value_coverage.items():
            per_value = covered.setdefault(name, {})
            # a value is covered when it is covered in every part that holds it
            for v, full in zip(axis_values(part, meta["spec"], name).tolist(), values, strict=True):
                per_value[v] = per_value.get(v, True) and bool(full)
    first = parts[0]
    runs = sorted((r for p in parts for r in p.runs), key=lambda r: str(r.get("started", "")))
    return StoreStatus(
        path=Path(path),
        kernel=first.kernel,
        spec_hash=first.spec_hash,
        n_points=sum(p.n_points for p in parts),
        n_blocks=sum(p.n_blocks for p in parts),
        blocks_done=sum(p.blocks_done for p in parts),
        points_done=sum(p.points_done for p in parts),
        ok=sum(p.ok for p in parts),
        not_converged=sum(p.not_converged for p in parts),
        failed=sum(p.failed for p in parts),
        coverage={name: (sum(v.values()), len(v)) for name, v in covered.items()},
        runs=runs,
        parts=len(parts),
    )


def _part_status(path: str | Path) -> tuple[StoreStatus, dict[str, np.ndarray]]:
    """One part's summary, and per axis whether each of its coordinate values is done."""
    meta = _meta(path)
    names, shape, chunks = _grid(meta)
    blocks_per_axis = tuple(math.ceil(n / c) for n, c in zip(shape, chunks, strict=True))
    n_blocks = math.prod(blocks_per_axis)
    done = ledger.done_blocks(path, n_blocks).reshape(blocks_per_axis)
    counts = {"points": 0, "ok": 0, "not_converged": 0, "failed": 0}
    for entry in ledger.iter_entries(path):
        for key in counts:
            counts[key] += entry[key]
    coverage = {}
    value_coverage = {}
    for axis, name in enumerate(names):
        # A coordinate value is covered when every block in its slab is done.
        slab_done = done.all(axis=tuple(a for a in range(len(names)) if a != axis))
        per_value = np.repeat(slab_done, chunks[axis])[: shape[axis]]
        coverage[name] = (int(per_value.sum()), shape[axis])
        value_coverage[name] = per_value
    return StoreStatus(
        path=Path(path),
        kernel=meta["spec"]["kernel"],
        spec_hash=meta["spec_hash"],
        n_points=math.prod(shape),
        n_blocks=n_blocks,
        blocks_done=int(done.sum()),
        points_done=counts["points"],
        ok=counts["ok"],
        not_converged=counts["not_converged"],
        failed=counts["failed"],
        coverage=coverage,
        runs=list(meta.get("runs", [])),
    ), value_coverage
