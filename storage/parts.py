"""Stores made of parts: a grid store extended by later specs, without rewriting anything.

A store starts as one grid, *part 0*, laid out exactly as :mod:`.layout` describes (an
existing store is a one-part store and stays readable and resumable unchanged). Extending
its axes (see ``pairsweep.sweeps.extend``) adds the new points as further parts, each a
rectangular piece of the union grid and a complete store of its own (arrays chunked like
the blocks, coordinates, ledger, checksums, creation record), kept inside part 0's state
directory::

    STORE/                      part 0 (xr.open_zarr(STORE) shows this grid only)
    STORE/_pairsweep/parts.json the list of the other parts, and the spec that last extended
    STORE/_pairsweep/parts/1/   part 1 (xr.open_zarr(STORE/_pairsweep/parts/1) opens it)
    STORE/_pairsweep/parts/2/   ...

Why not rewrite part 0 over the larger grid: that would move every computed chunk, so a
kill mid-rewrite could lose results, and a store on a shared filesystem would be unreadable
for as long as it takes. Why not zarr child groups (``STORE/parts/1``): xarray's DataTree
requires a child's coordinates to align with its parent's, and a piece has, by design,
other values on the axes it extends; ``xr.open_datatree(STORE)`` would refuse the store.

The guarantees (who writes what, what survives a kill):

* Parts are only created by the client holding the store's lock (:mod:`.lock`), each
  atomically (:func:`.layout.create_store`: a hidden sibling, fsync'd, renamed in place).
* ``parts.json`` is written last, through a temporary file and an atomic rename. A part
  exists for the engine only once it is listed there; no block of a part is computed before
  that. A kill between creating parts and listing them leaves unlisted part directories
  holding metadata only; :func:`discard_unlisted` removes them (under the lock) before the
  next extension, and refuses (touching nothing) if one ever holds a ledger entry.
* Each part keeps its own ledger, so "a block is done when, and only when, its entry
  exists" (:mod:`.ledger`) holds per part, and ``pairsweep verify`` checks every part.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .axes import axis_values
from .errors import StoreError
from .layout import STATE_DIR, read_root_attrs
from .ledger import _atomic_write_text

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "PARTS_DIR",
    "PARTS_FILE",
    "combine_parts",
    "discard_unlisted",
    "extended_spec",
    "list_parts",
    "next_part_name",
    "part_path",
    "part_stores",
    "record_parts",
    "union_axes",
]

PARTS_DIR = f"{STATE_DIR}/parts"
PARTS_FILE = f"{STATE_DIR}/parts.json"


def part_path(store: str | Path, name: str) -> Path:
    """Directory of part ``name`` (a decimal number >= 1) of ``store``."""
    return Path(store) / PARTS_DIR / name


def _read(store: str | Path) -> dict[str, Any] | None:
    path = Path(store) / PARTS_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        record = json.loads(text)
        if not isinstance(record.get("parts"), list):
            raise ValueError("no list of parts")
        return record
    except (ValueError, AttributeError) as exc:
        raise StoreError(f"store: {path} (the list of the store's parts) is damaged ({exc})") from None


def list_parts(store: str | Path) -> list[str]:
    """Names of the parts after part 0, in creation order (empty for a one-part store)."""
    record = _read(store)
    return [str(name) for name in record["parts"]] if record else []


def extended_spec(store: str | Path) -> dict[str, Any] | None:
    """The canonical spec that last extended the store (None if it never was)."""
    record = _read(store)
    return record.get("spec") if record else None


def part_stores(store: str | Path) -> list[Path]:
    """Every part's directory, part 0 (the store itself) first."""
    store = Path(store)
    stores = [store]
    for name in list_parts(store):
        path = part_path(store, name)
        if not path.is_dir():
            raise StoreError(f"store: part {name} of {store} is listed in {PARTS_FILE} but {path} is missing")
        stores.append(path)
    return stores


def next_part_name(store: str | Path) -> int:
    """The number the next new part gets (listed ones are never reused)."""
    return max((int(name) for name in list_parts(store)), default=0) + 1


def _publish_pause() -> None:
    # Tests only: widen the window between creating parts and listing them, so a kill test
    # can aim at it (the same variable widens each store's creation window).
    delay = os.environ.get("PAIRSWEEP_TEST_CREATION_DELAY")
    if delay:
        time.sleep(float(delay))


def record_parts(store: str | Path, names: Sequence[str], spec: Mapping[str, Any]) -> None:
    """List ``names`` as the store's parts (after part 0) and ``spec`` as the spec that
    extended it. Atomic: the list is either the old one or the new one. Call holding the
    store's lock, after every listed part is created."""
    _publish_pause()
    missing = [str(n) for n in names if not (part_path(store, str(n)) / "zarr.json").is_file()]
    if missing:
        # listing a part that is not there would leave the store unopenable
        raise StoreError(f"store: parts {', '.join(missing)} of {store} are missing; the list of parts "
                         "was not changed")
    record = {"format": 1, "parts": [str(n) for n in names], "spec": dict(spec)}
    _atomic_write_text(Path(store) / PARTS_FILE, json.dumps(record, indent=1))


def discard_unlisted(store: str | Path) -> list[str]:
    """Remove part directories (and creation leftovers) that ``parts.json`` does not list:
    what a kill between creating parts and listing them leaves. Returns what was removed.

    Refuses (:class:`StoreError`, nothing removed) if such a directory holds a ledger entry:
    blocks are only computed in listed parts, so that would be someone else's doing.
    """
    directory = Path(store) / PARTS_DIR
    if not directory.is_dir():
        return []
    listed = set(list_parts(store))
    unlisted = [p for p in directory.iterdir() if p.name not in listed]
    for path in unlisted:
        blocks = path / STATE_DIR / "blocks"
        if blocks.is_dir() and any(blocks.glob("*.json")):
            raise StoreError(
                f"store: {path} is not a listed part of {store} but holds computed blocks; nothing was changed. "
                "Move it away if it is yours"
            )
    for path in unlisted:
        shutil.rmtree(path, ignore_errors=True)
    return [p.name for p in unlisted]


def union_axes(store: str | Path) -> dict[str, list[Any]]:
    """Every axis's values over all parts: part 0's in its order, then each further part's
    values not seen before, in that part's order."""
    out: dict[str, list[Any]] = {}
    for path in part_stores(store):
        spec = read_root_attrs(path)["pairsweep"]["spec"]
        for name in spec["axes"]:
            seen = out.setdefault(name, [])
            known = set(seen)
            for v in np.asarray(axis_values(path, spec, name)).tolist():
                if v not in known:
                    seen.append(v)
                    known.add(v)
    return out


def _union_index(values: Sequence[np.ndarray]) -> np.ndarray:
    joined = np.concatenate([np.asarray(v) for v in values])
    if joined.dtype.kind in "iuf":
        return np.unique(joined)  # sorted
    order = []
    seen = set()
    for v in joined.tolist():
        if v not in seen:
            seen.add(v)
            order.append(v)
    return np.asarray(order, dtype=joined.dtype)


def combine_parts(parts: Sequence[xr.Dataset], dims: Sequence[str], fill: Mapping[str, Any]) -> xr.Dataset:
    """One Dataset over the union grid of disjoint ``parts`` (numeric coordinates sorted).

    ``fill[name]`` is the value of variable ``name`` where no part has the point (never
    happens for a complete set of parts) and where a part's block is not computed: the
    stored arrays' fill values (``status`` = not computed, NaN for floats). Lazy: every part
    is reindexed onto the union and taken where its own coordinates are.
    """
    import xarray as xr

    union = {d: _union_index([p[d].values for p in parts]) for d in dims}
    combined = None
    for part in parts:
        on_union = part.reindex(union, fill_value=dict(fill))
        if combined is None:
            combined = on_union
            continue
        inside = None
        for d in dims:
            member = xr.DataArray(np.isin(union[d], part[d].values), dims=(d,), coords={d: union[d]})
            inside = member if inside is None else inside & member
        combined = on_union.where(inside, combined)
        # where() keeps dtypes (both sides have them) but not the variables' attributes
        for name, var in on_union.variables.items():
            combined[name].attrs = dict(var.attrs)
    assert combined is not None
    for d in dims:
        combined[d].attrs = dict(parts[0][d].attrs)
    combined.attrs = dict(parts[0].attrs)
    return combined
