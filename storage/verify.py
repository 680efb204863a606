"""``pairsweep verify``: check every done block against its checksums, and the metadata
against the record made at creation; mark what is bad not-done so a resume recomputes it.

What is checked (see :mod:`.checksum` for what the checksums cover):

* **Metadata.** Every file written at creation (array ``zarr.json`` files, coordinate
  chunks) against ``_pairsweep/manifest.json``; the root ``zarr.json`` must parse and hold
  the creation-time attributes and consolidated metadata (only the list of runs changes
  after creation). A damaged file is repaired from its copy in ``_pairsweep/pristine/``
  when that copy matches the manifest; the root keeps its run history when it can still be
  parsed. Otherwise :class:`StoreError` says which file is damaged and that nothing was
  changed.
* **The list of parts** of an extended store (:mod:`.parts`): ``parts.json`` and its copy
  must each match their checksum. A damaged one is rewritten from the other; a copy lagging
  behind (a kill between the two writes) is brought up to date and is not damage. Both
  damaged: :class:`StoreError` naming both, nothing changed.
* **Blocks.** Each ledger entry must parse, carry a valid seal (a checksum of itself), name
  its own block and exactly the store's variables at the right chunk keys; each chunk file
  must have the recorded size and blake2b, and be absent where the block wrote none (a
  fill-value chunk). Entries written before checksums existed are counted as unverifiable.
* **Extra files.** A file inside an array that is not a chunk of the grid. A chunk file of
  a block that is not done is not an error: it is what a run killed mid-block leaves, and
  the block's computation replaces it (or deletes it, if the block's chunk is fill value).

Repair (default) moves each bad block's ledger entry, then its chunk files, into
``_pairsweep/quarantine/<verify id>/`` (nothing is deleted) and writes the report to
``_pairsweep/verify/<verify id>.json``. The block is then not done, so the next
``pairsweep run`` recomputes exactly the bad blocks, bit-identical to an uninterrupted run.
Every step is one rename: a kill during repair leaves each block either done and intact or
not done. Repairing takes the store's lock (:mod:`.lock`).
"""

from __future__ import annotations

import json
import os
import time
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from .checksum import file_digest, unseal
from .errors import StoreError
from .layout import MANIFEST, PRISTINE_DIR, STATE_DIR, chunk_key
from .lock import StoreLock
from .parts import PARTS_COPY, PARTS_FILE, part_path, parts_files, restore_parts_files, says

__all__ = ["BadBlock", "VerifyReport", "verify_store"]

_QUARANTINE = f"{STATE_DIR}/quarantine"
_REPORTS = f"{STATE_DIR}/verify"
_BLOCKS = f"{STATE_DIR}/blocks"


@dataclass
class BadBlock:
    """A done block whose data or ledger entry does not match its record."""

    block: int
    reasons: list[str]
    ranges: dict[str, list[Any]] = field(default_factory=dict)

    def __str__(self) -> str:
        where = ", ".join(f"{k} in [{_fmt(lo)}, {_fmt(hi)}]" for k, (lo, hi) in self.ranges.items())
        return f"block {self.block} ({where}): {'; '.join(self.reasons)}"


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


@dataclass
class VerifyReport:
    """What :func:`verify_store` found and did."""

    store: Path
    blocks_checked: int = 0
    bad: list[BadBlock] = field(default_factory=list)
    unverifiable: int = 0
    metadata_problems: list[str] = field(default_factory=list)
    metadata_repaired: list[str] = field(default_factory=list)
    extra_files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repaired: bool = False
    seconds: float = 0.0
    record: str | None = None
    #: an extended store's further parts (:mod:`.parts`), each verified as a store of its own
    parts: dict[str, VerifyReport] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        own = not (self.bad or self.metadata_problems or self.extra_files)
        return own and all(part.clean for part in self.parts.values())

    def __str__(self) -> str:
        lines = [f"{self.store}: {self.blocks_checked} done blocks checked in {self.seconds:.2f} s"]
        if self.unverifiable:
            lines.append(f"  {self.unverifiable} blocks have no checksums (written before pairsweep kept them)")
        lines += [f"  note: {note}" for note in self.notes]
        for problem in self.metadata_problems:
            lines.append(f"  metadata: {problem}")
        for bad in self.bad:
            lines.append(f"  BAD {bad}")
        for extra in self.extra_files:
            lines.append(f"  extra file: {extra}")
        for name, part in self.parts.items():
            lines.append(f"  part {name}: " + str(part).replace("\n", "\n  "))
        if self.clean:
            lines.append("  OK: every done block matches its checksums")
        elif self.repaired:
            lines.append(
                f"  repaired: {len(self.metadata_repaired)} metadata files restored, {len(self.bad)} blocks marked "
                f"not done, {len(self.extra_files)} extra files moved (kept in {self.record}); "
                "run `pairsweep run` on the spec to recompute them"
            )
        else:
            lines.append("  nothing changed (check only)")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# metadata
# ---------------------------------------------------------------------------------------


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _root_differences(current: Any, reference: dict[str, Any]) -> list[str]:
    """Keys of the creation-time root metadata that ``current`` lost or changed. Keys added
    after creation (the list of runs, anything a later pairsweep records) are not compared."""
    if not isinstance(current, dict):
        return ["(cannot be parsed)"]
    diffs = [key for key in reference if key != "attributes" and current.get(key) != reference[key]]
    attrs = current.get("attributes") if isinstance(current.get("attributes"), dict) else {}
    for key, value in reference.get("attributes", {}).items():
        if key != "pairsweep":
            if attrs.get(key) != value:
                diffs.append(f"attributes.{key}")
            continue
        meta = attrs.get("pairsweep") if isinstance(attrs.get("pairsweep"), dict) else {}
        diffs += [f"attributes.pairsweep.{k}" for k, v in value.items() if k != "runs" and meta.get(k) != v]
    return diffs


def _rebuilt_root(current: Any, reference: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The creation-time root metadata, keeping what was added since (runs included) when
    ``current`` can still be parsed. Returns it and whether the additions were kept."""
    if not isinstance(current, dict):
        return json.loads(json.dumps(reference)), False
    rebuilt = json.loads(json.dumps(current))
    for key, value in reference.items():
        if key != "attributes":
            rebuilt[key] = value
    attrs = rebuilt["attributes"] = rebuilt.get("attributes") if isinstance(rebuilt.get("attributes"), dict) else {}
    for key, value in reference.get("attributes", {}).items():
        if key != "pairsweep":
            attrs[key] = value
            continue
        meta = attrs["pairsweep"] = attrs.get("pairsweep") if isinstance(attrs.get("pairsweep"), dict) else {}
        meta.update({k: v for k, v in value.items() if k != "runs"})
        if not isinstance(meta.get("runs"), list):
            meta["runs"] = value.get("runs", [])
    return rebuilt, True


def _atomic_copy(src: Path, dst: Path, data: bytes | None = None) -> None:
    tmp = dst.with_name(f".tmp-verify-{uuid.uuid4().hex[:8]}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(src.read_bytes() if data is None else data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, dst)


def _check_metadata(store: Path, report: VerifyReport, repair: bool) -> None:
    manifest = _load_json(store / MANIFEST)
    if manifest is None:
        if (store / MANIFEST).exists():
            raise StoreError(f"store: {store / MANIFEST} is damaged; metadata cannot be checked (nothing changed)")
        report.notes.append("no manifest (store created before pairsweep kept one): metadata not checked")
        return
    files: dict[str, list[Any] | None] = manifest["files"]
    pristine = store / PRISTINE_DIR
    fixes: list[tuple[str, bytes | None]] = []
    for rel, expected in files.items():
        if rel == "zarr.json":
            continue
        if file_digest(store / rel) == expected:
            continue
        report.metadata_problems.append(f"{rel} is damaged or missing")
        if file_digest(pristine / rel) != expected:
            raise StoreError(
                f"store: {store / rel} is damaged and its creation copy {pristine / rel} too; "
                "cannot rebuild it (nothing changed)"
            )
        fixes.append((rel, None))

    if file_digest(pristine / "zarr.json") != files.get("zarr.json"):
        raise StoreError(f"store: the creation copy of the root metadata ({pristine / 'zarr.json'}) is damaged; "
                         "cannot check the root zarr.json (nothing changed)")
    reference = json.loads((pristine / "zarr.json").read_bytes())
    current = _load_json(store / "zarr.json")
    diffs = _root_differences(current, reference)
    if diffs:
        report.metadata_problems.append(f"zarr.json (root metadata) is damaged: {', '.join(diffs)}")
        rebuilt, kept = _rebuilt_root(current, reference)
        if not kept:
            report.metadata_problems.append("zarr.json: the record of earlier runs was lost with it")
        fixes.append(("zarr.json", json.dumps(rebuilt, indent=2).encode()))
    if repair:
        for rel, data in fixes:
            _atomic_copy(pristine / rel, store / rel, data)
            report.metadata_repaired.append(rel)


# ---------------------------------------------------------------------------------------
# blocks
# ---------------------------------------------------------------------------------------


@dataclass
class _Grid:
    names: tuple[str, ...]
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    arrays: dict[str, zarr.Array]
    source: Path  # where the metadata and coordinates are read

    @property
    def blocks_per_axis(self) -> tuple[int, ...]:
        return tuple(-(-n // c) for n, c in zip(self.shape, self.chunks, strict=True))

    def index(self, block: int) -> tuple[int, ...]:
        return tuple(int(i) for i in np.unravel_index(block, self.blocks_per_axis))

    def ranges(self, block: int) -> dict[str, list[Any]]:
        out = {}
        for name, i, c, n in zip(self.names, self.index(block), self.chunks, self.shape, strict=True):
            values = zarr.open_array(str(self.source), path=name, mode="r")[i * c : min((i + 1) * c, n)]
            out[name] = [values[0].item(), values[-1].item()]
        return out


def _grid(store: Path) -> _Grid:
    """The grid and the output arrays, from the creation copy of the metadata when there is
    one (checked against the manifest already, and readable even when the store's own
    metadata is damaged and this is a check-only run)."""
    if (store / MANIFEST).is_file():
        store = store / PRISTINE_DIR
    root = zarr.open_group(str(store), mode="r", use_consolidated=False)
    status = root["status"]
    names = tuple(status.metadata.dimension_names)
    arrays = {}
    with warnings.catch_warnings():
        # zarr notes that _pairsweep/ is not a zarr node; it is ours, by design
        warnings.simplefilter("ignore")
        members = list(root.arrays())
    for name, arr in members:
        dims = tuple(arr.metadata.dimension_names or ())
        if dims == (name,):
            continue  # a coordinate
        if dims[: len(names)] == names and arr.shape[: len(names)] == status.shape:
            arrays[name] = arr
    return _Grid(names, status.shape, status.chunks, dict(sorted(arrays.items())), store)


def _check_entry(store: Path, grid: _Grid, block: int, path: Path) -> tuple[list[str], bool]:
    """Reasons block ``block`` is bad (empty if fine), and whether it had checksums."""
    entry = _load_json(path)
    if not isinstance(entry, dict):
        return ["ledger entry cannot be parsed"], True
    seal = unseal(entry)
    if seal is None:
        return [], False
    if not seal:
        return ["ledger entry damaged (its checksum does not match)"], True
    if entry.get("block") != block:
        return [f"ledger entry names block {entry.get('block')}"], True
    chunks = entry.get("chunks")
    if not isinstance(chunks, dict) or set(chunks) != set(grid.arrays):
        return [f"ledger entry lists variables {sorted(chunks or {})}, store has {sorted(grid.arrays)}"], True
    reasons = []
    index = grid.index(block)
    for name, arr in grid.arrays.items():
        key = chunk_key(arr, index)
        try:
            recorded_key, size, digest = chunks[name]
        except (TypeError, ValueError):
            reasons.append(f"{name}: ledger record {chunks[name]!r} is not [key, size, checksum]")
            continue
        if recorded_key != key:
            reasons.append(f"{name}: ledger names chunk {recorded_key}, expected {key}")
            continue
        found = file_digest(store / key)
        if size is None:
            if found is not None:
                reasons.append(f"{name}: extra chunk file {key} (the block wrote none: fill value)")
        elif found is None:
            reasons.append(f"{name}: chunk file {key} is missing")
        elif found[0] != size:
            reasons.append(f"{name}: chunk file {key} has {found[0]} bytes, {size} were written")
        elif found[1] != digest:
            reasons.append(f"{name}: chunk file {key} does not match its checksum")
    return reasons, True


def _extra_files(store: Path, grid: _Grid) -> list[str]:
    """Files inside the arrays that are not chunks of the grid."""
    extra = []
    bpa = grid.blocks_per_axis
    for arr in grid.arrays.values():
        base = store / arr.path
        tail = (0,) * (arr.ndim - len(grid.names))
        for dirpath, _, filenames in os.walk(base):
            for fname in filenames:
                rel = (Path(dirpath) / fname).relative_to(store).as_posix()
                if rel == f"{arr.path}/zarr.json" or fname.endswith(".partial"):
                    # zarr writes a chunk to NAME.partial and renames it: one in flight during
                    # a run, or left by a kill, is never read as a chunk
                    continue
                parts = rel[len(arr.path) + 1 :].split("/")
                ok = (
                    len(parts) == arr.ndim + 1
                    and parts[0] == "c"
                    and all(p.isdigit() for p in parts[1:])
                    and all(int(p) < b for p, b in zip(parts[1:], bpa, strict=False))
                    and tuple(int(p) for p in parts[1 + len(grid.names) :]) == tail
                )
                if not ok:
                    extra.append(rel)
    return sorted(extra)


def _move(store: Path, rel: str, quarantine: Path) -> None:
    src = store / rel
    if not src.exists():
        return
    dst = quarantine / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)


def verify_store(path: str | Path, *, repair: bool = True) -> VerifyReport:
    """Check every done block of the store at ``path``; with ``repair``, restore damaged
    metadata and mark bad blocks not done (their entries and chunks kept in quarantine).

    Raises :class:`StoreError` when the store is not a pairsweep store or its metadata is
    damaged beyond what the creation record can restore.
    """
    store = Path(path).absolute()
    if not (store / STATE_DIR).is_dir():
        raise StoreError(f"store: {store} is not a pairsweep store (no {STATE_DIR}/)")
    listing = parts_files(store)
    if not listing.usable:
        raise listing.error()  # before the lock and any repair: nothing is changed
    lock = StoreLock.acquire(store, purpose="verify") if repair else None
    try:
        if lock is not None:
            listing = parts_files(store)  # again: it may have changed while the lock was awaited
            if not listing.usable:
                raise listing.error()  # still before any repair: nothing is changed
        report = _verify(store, repair, listing=True)
        # every part is a store of its own, with its own ledger, checksums and creation record
        record = parts_files(store).record  # restored above when repairing
        for name in record["parts"] if record else []:
            report.parts[name] = _verify(part_path(store, name), repair)
        return report
    finally:
        if lock is not None:
            lock.release()


def _check_parts_list(store: Path, report: VerifyReport, repair: bool) -> None:
    """``parts.json`` and its copy (:mod:`.parts`): a damaged one is a problem, rewritten
    from the intact one; a copy lagging behind (a kill between the two writes) is noted and
    brought up to date; a ``parts.json`` without checksum (format 1) gets one, and a copy."""
    state = parts_files(store)  # again, now under the lock
    if not state.usable:
        raise state.error()
    if state.record is None:
        return  # a one-part store
    fixable = []
    if state.legacy:
        report.notes.append(
            f"{PARTS_FILE} was written before pairsweep kept a checksum and a copy of it: not checked; "
            + ("rewritten with both" if repair else "a repairing verify adds both")
        )
    elif state.primary is not None:
        report.metadata_problems.append(
            f"{PARTS_FILE} (the list of the store's parts) {says(state.primary)}; its copy {PARTS_COPY} is intact"
        )
        fixable.append(PARTS_FILE)
    if state.copy in ("missing", "out of date"):
        if not state.legacy:
            report.notes.append(
                f"{PARTS_COPY} {says(state.copy)} (an extension was stopped between writing {PARTS_FILE} "
                "and its copy)" + ("; brought up to date" if repair else "")
            )
    elif state.copy is not None:
        report.metadata_problems.append(f"{PARTS_COPY} (the copy of the list of parts) {says(state.copy)}; "
                                        f"{PARTS_FILE} is intact")
        fixable.append(PARTS_COPY)
    if repair:
        written = restore_parts_files(state)
        report.metadata_repaired += [rel for rel in written if rel in fixable]


def _verify(store: Path, repair: bool, *, listing: bool = False) -> VerifyReport:
    started = time.perf_counter()
    report = VerifyReport(store=store, repaired=repair)
    _check_metadata(store, report, repair)
    if listing:
        _check_parts_list(store, report, repair)
    try:
        grid = _grid(store)
    except Exception as exc:  # noqa: BLE001 - say what is wrong, never a traceback
        raise StoreError(f"store: cannot read the arrays of {store} ({type(exc).__name__}: {exc})") from None
    n_blocks = int(np.prod(grid.blocks_per_axis))
    bad: dict[int, list[str]] = {}
    stray: list[str] = []
    blocks_dir = store / _BLOCKS
    with os.scandir(blocks_dir) if blocks_dir.is_dir() else _empty() as it:
        for item in it:
            stem, _, ext = item.name.partition(".")
            if ext != "json" or not stem.isdigit():
                continue
            block = int(stem)
            if block >= n_blocks:
                stray.append(f"{_BLOCKS}/{item.name}")
                continue
            report.blocks_checked += 1
            reasons, checked = _check_entry(store, grid, block, Path(item.path))
            report.unverifiable += not checked
            if reasons:
                bad[block] = reasons
    report.bad = [BadBlock(b, bad[b], grid.ranges(b)) for b in sorted(bad)]
    report.extra_files = _extra_files(store, grid) + stray
    if repair and (bad or report.extra_files or report.metadata_repaired):
        vid = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        quarantine = store / _QUARANTINE / vid
        for b in sorted(bad):
            # the entry first: from this rename on the block is not done, whatever follows
            _move(store, f"{_BLOCKS}/{b}.json", quarantine)
            for arr in grid.arrays.values():
                _move(store, chunk_key(arr, grid.index(b)), quarantine)
        for rel in report.extra_files:
            _move(store, rel, quarantine)
        record = {
            "verified": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "bad_blocks": {str(b.block): {"reasons": b.reasons, "ranges": b.ranges} for b in report.bad},
            "extra_files": report.extra_files,
            "metadata_problems": report.metadata_problems,
            "metadata_repaired": report.metadata_repaired,
            "quarantine": str(quarantine.relative_to(store)),
        }
        out = store / _REPORTS / f"{vid}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=1))
        report.record = str(out.relative_to(store))
    report.seconds = time.perf_counter() - started
    return report


class _empty:
    def __enter__(self) -> list[Any]:
        return []

    def __exit__(self, *exc: object) -> None:
        return None

