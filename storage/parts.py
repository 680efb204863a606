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

The list itself is protected like the rest of the store's metadata (whose creation copies
cannot serve here: the list changes with every extension):

* ``parts.json`` carries a checksum of its own content (:func:`.checksum.sealed`), so damage
  that still parses (a changed digit) is detected, not believed; and a second copy,
  ``_pairsweep/parts.copy.json``, holds the same text.
* Write order: ``parts.json`` first, then the copy, each through a temporary file, fsync and
  an atomic rename. A kill before the first rename leaves both old (the new parts unlisted,
  removed as above); a kill between the two renames leaves ``parts.json`` new and the copy
  old or absent. So ``parts.json`` is never torn by a kill and always the newest list; the
  copy only ever lags behind it.
* Read rule: ``parts.json`` when it is intact (checksum matches), else the copy when it is
  intact (with a warning pointing at ``pairsweep verify``); when neither is, a
  :class:`StoreError` names both files and touches nothing. No ``parts.json`` and no copy
  means a one-part store (or an extension killed before it listed anything).
* A copy that lags behind an intact ``parts.json`` (missing or older: a kill between the
  two writes) is brought up to date by the next client holding the lock
  (:func:`discard_unlisted`, run before every run or extension) and by ``pairsweep
  verify``. Damage is left to ``pairsweep verify``, which rewrites the damaged file from the
  intact one (:func:`parts_files`, :func:`restore_parts_files`).
* Stores written before the checksum (``format`` 1, no checksum, no copy) are read as
  before: their list is believed as it parses (whatever the copy says: an older pairsweep
  may have extended a store that has one). The next extension, or a repairing ``pairsweep
  verify``, writes the new format; that older version reads it too (it only looks at
  ``parts``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .axes import axis_values
from .checksum import sealed, unseal
from .errors import StoreError
from .layout import STATE_DIR, read_root_attrs
from .ledger import _atomic_write_text

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "PARTS_COPY",
    "PARTS_DIR",
    "PARTS_FILE",
    "PartsFiles",
    "combine_parts",
    "discard_unlisted",
    "extended_spec",
    "list_parts",
    "next_part_name",
    "part_path",
    "part_stores",
    "parts_files",
    "record_parts",
    "restore_parts_files",
    "union_axes",
]

PARTS_DIR = f"{STATE_DIR}/parts"
PARTS_FILE = f"{STATE_DIR}/parts.json"
PARTS_COPY = f"{STATE_DIR}/parts.copy.json"
#: format 1: written before the checksum and the copy (no checksum); format 2: sealed
_FORMAT = 2


def part_path(store: str | Path, name: str) -> Path:
    """Directory of part ``name`` (a decimal number >= 1) of ``store``."""
    return Path(store) / PARTS_DIR / name


def _load(path: Path, *, legacy_ok: bool) -> tuple[dict[str, Any] | None, str | None]:
    """The record in ``path`` and None, or None and what is wrong with the file."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None, "missing"
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror}"
    try:
        record = json.loads(text)
    except ValueError:
        return None, "cannot be parsed"
    if not isinstance(record, dict) or not isinstance(record.get("parts"), list) or not all(
        isinstance(n, str) and n.isdigit() for n in record["parts"]
    ):
        return None, "holds no list of parts"
    seal = unseal(record)
    if seal is None:
        # written before the checksum: believed as it parses; never a copy, never format 2
        if legacy_ok and record.get("format") == 1:
            return record, None
        return None, "has no checksum"
    if not seal:
        return None, "does not match its checksum"
    return record, None


def says(problem: str) -> str:
    """A file's problem as a predicate: ``f"{path} {says(problem)}"``."""
    return f"is {problem}" if problem in ("missing", "out of date") else problem


def _listing(record: Mapping[str, Any]) -> tuple[list[str], Any]:
    return list(record["parts"]), record.get("spec")


@dataclass(frozen=True)
class PartsFiles:
    """The state of a store's list of parts: ``parts.json`` and its copy."""

    store: Path
    #: the record in force (None: a one-part store, or no intact file: see ``usable``)
    record: dict[str, Any] | None
    #: what is wrong with each file (None: intact; ``"missing"``; ``"out of date"`` for a copy
    #: that lags behind an intact ``parts.json``; else damage)
    primary: str | None
    copy: str | None
    #: ``parts.json`` was written before the checksum (format 1: cannot be checked)
    legacy: bool = False

    @property
    def usable(self) -> bool:
        return self.record is not None or (self.primary == "missing" and self.copy == "missing")

    @property
    def copy_lags(self) -> bool:
        """The copy is missing or older while ``parts.json`` is intact: an extension was
        killed between the two writes (not damage)."""
        return self.primary is None and not self.legacy and self.copy in ("missing", "out of date")

    def error(self) -> StoreError:
        primary, copy = self.store / PARTS_FILE, self.store / PARTS_COPY
        # a list written by hand in the first format is read unchecked: the way back when no
        # backup exists (it loses only the record of the spec that last extended the store)
        by_hand = json.dumps({"format": 1, "parts": _part_dirs(self.store)})
        return StoreError(
            f"store: the list of the parts of {self.store} is lost: {primary} {says(self.primary or '')} and "
            f"its copy {copy} {says(self.copy or '')}; nothing was changed. Restore either file from a backup, "
            f"or write {by_hand} (the part directories in {self.store / PARTS_DIR}) to {primary}"
        )


def _part_dirs(store: Path) -> list[str]:
    directory = store / PARTS_DIR
    if not directory.is_dir():
        return []
    return sorted((p.name for p in directory.iterdir() if p.name.isdigit()), key=int)


def parts_files(store: str | Path) -> PartsFiles:
    """Read and check both files of the list of parts (reads only; never raises for damage)."""
    store = Path(store)
    primary, p_problem = _load(store / PARTS_FILE, legacy_ok=True)
    copy, c_problem = _load(store / PARTS_COPY, legacy_ok=False)
    legacy = primary is not None and unseal(primary) is None
    if primary is not None:
        if copy is not None and _listing(copy) != _listing(primary):
            c_problem = "out of date"
        return PartsFiles(store, primary, None, c_problem, legacy)
    return PartsFiles(store, copy, p_problem, c_problem)


def _read(store: str | Path) -> dict[str, Any] | None:
    state = parts_files(store)
    if not state.usable:
        raise state.error()
    if state.primary is not None and state.record is not None:
        warnings.warn(
            f"{state.store / PARTS_FILE} (the list of the store's parts) {says(state.primary)}; using its copy "
            f"{PARTS_COPY}. Run `pairsweep verify {state.store}` to repair it",
            stacklevel=3,
        )
    return state.record


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


def _copy_pause() -> None:
    # Tests only: widen the window between writing parts.json and its copy.
    delay = os.environ.get("PAIRSWEEP_TEST_PARTS_COPY_DELAY")
    if delay:
        time.sleep(float(delay))


def _text(names: Sequence[str], spec: Any) -> str:
    record = {"format": _FORMAT, "parts": [str(n) for n in names], "spec": spec}
    return json.dumps(sealed(record), indent=1)


def _write_both(store: Path, text: str) -> None:
    # parts.json first: it is the newest list at every instant, the copy only lags (see above)
    _atomic_write_text(store / PARTS_FILE, text)
    _copy_pause()
    _atomic_write_text(store / PARTS_COPY, text)


def record_parts(store: str | Path, names: Sequence[str], spec: Mapping[str, Any]) -> None:
    """List ``names`` as the store's parts (after part 0) and ``spec`` as the spec that
    extended it, in ``parts.json`` then its copy. Each write is atomic, and a kill between
    them leaves ``parts.json`` new and intact (see the module's docstring). Call holding the
    store's lock, after every listed part is created."""
    _publish_pause()
    missing = [str(n) for n in names if not (part_path(store, str(n)) / "zarr.json").is_file()]
    if missing:
        # listing a part that is not there would leave the store unopenable
        raise StoreError(f"store: parts {', '.join(missing)} of {store} are missing; the list of parts "
                         "was not changed")
    _write_both(Path(store), _text(names, dict(spec)))


def restore_parts_files(state: PartsFiles) -> list[str]:
    """Rewrite whichever of ``parts.json`` and its copy is damaged, missing or out of date
    from the intact one, ``parts.json`` first (call holding the store's lock). A
    ``parts.json`` of format 1 (no checksum) is rewritten with one. Returns the files
    rewritten."""
    if state.record is None:
        return []
    text = _text(*_listing(state.record))
    written = []
    if state.primary is not None or state.legacy:
        _atomic_write_text(state.store / PARTS_FILE, text)
        written.append(PARTS_FILE)
    if state.copy is not None:
        _atomic_write_text(state.store / PARTS_COPY, text)
        written.append(PARTS_COPY)
    return written


def discard_unlisted(store: str | Path) -> list[str]:
    """Remove part directories (and creation leftovers) that ``parts.json`` does not list:
    what a kill between creating parts and listing them leaves. Returns what was removed.

    Refuses (:class:`StoreError`, nothing removed) if such a directory holds a ledger entry:
    blocks are only computed in listed parts, so that would be someone else's doing.

    Also completes a listing a kill interrupted: a copy of ``parts.json`` that lags behind
    it is brought up to date (call holding the store's lock).
    """
    state = parts_files(store)
    if state.copy_lags:
        restore_parts_files(state)
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
