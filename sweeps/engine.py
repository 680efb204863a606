"""Run a sweep: create or resume its store, submit one task per block, keep a bounded
number in flight, and report.

The client holds one boolean per block (the ledger's done-mask) and the futures in flight;
nothing per point. Blocks are generated lazily, submitted ``max_in_flight`` at a time, and
each completion triggers the next submission, so the scheduler never sees a graph with one
node per point (dask/distributed#2181) and client memory stays flat in the grid size.
That loop, with the run's record and report, is :class:`~.runner.BlockRunner`.
"""

from __future__ import annotations

import getpass
import platform
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from distributed import Client
from pairsweep.cluster import ClusterError, connect
from pairsweep.cluster import validate as validate_cluster
from pairsweep.kernels import Status
from pairsweep.storage import ledger
from pairsweep.storage.axes import axis_size, axis_values
from pairsweep.storage.errors import StoreError
from pairsweep.storage.layout import (
    MANIFEST,
    Variable,
    create_store,
    discard_half_created,
    missing_arrays,
    read_root_attrs,
)
from pairsweep.storage.lock import StoreLock
from pairsweep.storage.parts import (
    discard_unlisted,
    list_parts,
    next_part_name,
    part_path,
    part_stores,
    record_parts,
    union_axes,
)

from .extend import Extension, describe_dropped, match_axes
from .grid import BlockGrid
from .runner import BlockRunner, PartsRunner, SweepInterrupted, SweepReport
from .runner import utc_now as _now
from .spec import ResolvedSweep, SpecError, Sweep, resolve, with_chunks
from .storepath import check_store_path
from .values import axis_entry, canonical_stored_spec

__all__ = [
    "SpecMismatchError",
    "SweepInterrupted",
    "SweepReport",
    "check_store",
    "plan_store",
    "prepare_store",
    "run_sweep",
]

STORE_FORMAT = 1
_VERSIONED = ("pairsweep", "numpy", "scipy", "dask", "distributed", "zarr", "xarray", "numba")


class SpecMismatchError(SpecError):
    """Resuming a store with a spec that would change its results."""


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _describe_values(values: Any) -> str:
    if isinstance(values, Mapping):  # a long axis, summarised by size, ends and digest
        return f"{values['size']} values from {values['first']!r} to {values['last']!r}"
    if not values:
        return "no values"
    if all(isinstance(v, int | float) for v in values):
        return f"{len(values)} values in [{min(values):g}, {max(values):g}]"
    return f"values {values[:6]}{' ...' if len(values) > 6 else ''}"


def _value_differences(old: Sequence[Any], new: Sequence[Any], limit: int = 3) -> str:
    """The first differing positions of two axes, with both values in full precision."""
    shown = []
    for i, (a, b) in enumerate(zip(old, new, strict=False)):
        if a != b:
            shown.append(f"[{i}] store {a!r}, spec {b!r}")
            if len(shown) == limit:
                break
    n_diff = sum(1 for a, b in zip(old, new, strict=False) if a != b)
    text = "; ".join(shown)
    if n_diff > len(shown):
        text += f"; {n_diff - len(shown)} more"
    if len(old) != len(new):
        text = (f"{text}; " if text else "") + f"store has {len(old)} values, spec has {len(new)}"
    return text


def spec_differences(
    stored: dict[str, Any],
    new: dict[str, Any],
    *,
    compare_chunks: bool = True,
    values: Callable[[str], Sequence[Any]] | None = None,
    new_values: Mapping[str, Sequence[Any]] | None = None,
) -> list[str]:
    """Human-readable list of what differs between two canonical specs.

    ``values(name)`` returns the stored values of an axis and ``new_values`` the spec's, so
    that a differing axis is shown by the values that differ, not only by its range.
    """
    diffs = []
    for key in ("kernel", "kernel_version"):
        if stored[key] != new[key]:
            diffs.append(f"{key}: store has {stored[key]!r}, spec has {new[key]!r}")
    if list(stored["axes"]) != list(new["axes"]):
        diffs.append(f"axes: store has {list(stored['axes'])}, spec has {list(new['axes'])}")
    else:
        for name, entry in stored["axes"].items():
            if entry != new["axes"][name]:
                line = (f"axes.{name}: store has {_describe_values(entry)}, "
                        f"spec has {_describe_values(new['axes'][name])}")
                old_vals = entry if isinstance(entry, list) else (values(name) if values else None)
                new_vals = new["axes"][name] if isinstance(new["axes"][name], list) else (
                    (new_values or {}).get(name))
                if old_vals is not None and new_vals is not None:
                    line += f": {_value_differences(list(old_vals), list(new_vals))}"
                diffs.append(line)
    for name in sorted(set(stored["fixed"]) | set(new["fixed"])):
        old, cur = stored["fixed"].get(name, "<unset>"), new["fixed"].get(name, "<unset>")
        if old != cur:
            diffs.append(f"fixed.{name}: store has {old!r}, spec has {cur!r}")
    if compare_chunks and stored["chunks"] != new["chunks"]:
        diffs.append(f"execution.chunks: store has {stored['chunks']}, spec has {new['chunks']}")
    return diffs


def kernel_variables(
    kernel: Any, extra_coords: Mapping[str, np.ndarray], dims: tuple[str, ...] = (),
    shape: tuple[int, ...] = (), chunks: tuple[int, ...] = (),
) -> list[Variable]:
    """One variable per kernel output and ``status`` (CF flags), over the leading ``dims``
    (a grid's axes; none for an adaptive store, whose ``point`` dimension
    :func:`pairsweep.storage.points.point_variables` adds)."""
    variables = []
    for o in kernel.outputs:
        extra = tuple(len(extra_coords[d]) for d in o.dims)
        variables.append(
            Variable(
                name=o.name,
                dims=dims + o.dims,
                shape=shape + extra,
                chunks=chunks + extra,
                dtype=o.dtype,
                fill_value=o.fill_value,
                attrs={"units": o.unit, "long_name": o.description},
            )
        )
    variables.append(
        Variable(
            name="status",
            dims=dims,
            shape=shape,
            chunks=chunks,
            dtype="uint8",
            fill_value=int(Status.NOT_COMPUTED),
            attrs={
                "long_name": "per-point outcome of the kernel",
                "flag_values": [int(s) for s in Status],
                "flag_meanings": " ".join(s.name.lower() for s in Status),
            },
        )
    )
    return variables


def extra_coordinates(kernel: Any, extra_coords: Mapping[str, np.ndarray]) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    """The coordinates of the kernel's extra output dimensions (e.g. ``ell``)."""
    return {dim: (values, {"long_name": f"extra output dimension of {kernel.name}"})
            for dim, values in extra_coords.items()}


def store_attrs(title: str, kernel: Any, canonical: dict[str, Any], spec_hash: str,
                extra_coords: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """A new store's root attributes: the kernel, the spec and its hash, provenance."""
    return {
        "title": f"{title}: {kernel.name}",
        "kernel": kernel.name,
        "kernel_version": kernel.version,
        "reference": kernel.reference,
        "pairsweep": {
            "format": STORE_FORMAT,
            "spec": canonical,
            "spec_hash": spec_hash,
            "extra_sizes": {d: len(v) for d, v in extra_coords.items()},
            "created": _now(),
            "host": socket.gethostname(),
            "user": getpass.getuser(),
            "versions": _versions(),
            "runs": [],
        },
    }


def _variables(rs: ResolvedSweep) -> list[Variable]:
    return kernel_variables(rs.kernel, rs.extra_coords, rs.dims, rs.shape, rs.chunks)


def _coords(rs: ResolvedSweep) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    params = rs.kernel.parameter_map
    coords = {
        a.name: (np.asarray(a.values), {"units": params[a.name].unit, "long_name": params[a.name].description})
        for a in rs.axes
    }
    return coords | extra_coordinates(rs.kernel, rs.extra_coords)


def _stored_axis(store: Path, name: str) -> list[Any]:
    import zarr

    return np.asarray(zarr.open_group(str(store), mode="r")[name][...]).tolist()


def unreadable_store(store: Path, exc: Exception) -> StoreError | SpecMismatchError:
    """The error for an existing ``store`` whose pairsweep metadata could not be read:
    a damaged pairsweep store (repairable by verify), or a directory that is not ours."""
    if (store / MANIFEST).is_file():
        return StoreError(
            f"store: {store} is a pairsweep store but its root metadata cannot be read "
            f"({type(exc).__name__}: {exc}); run `pairsweep verify {store}` to repair it"
        )
    return SpecMismatchError(
        f"store: {store} exists and is not a pairsweep store ({type(exc).__name__}: {exc}); "
        "choose another path or remove it yourself"
    )


def check_store(sweep: Sweep) -> tuple[ResolvedSweep, bool]:
    """Validate ``sweep`` and its store without writing anything.

    Returns the resolved sweep (with the store's block shape and hash when the store
    exists) and whether the store exists. Raises :class:`SpecError` naming the field when
    the store path cannot be created or written, and :class:`SpecMismatchError` listing every
    difference when an existing store was made by a different spec. A spec whose axes are
    supersets of the store's (everything else equal) is accepted: it extends the store
    (:func:`plan_store` says by which points).
    """
    rs, exists, _ = plan_store(sweep)
    return rs, exists


def _stored_axes(store: Path, stored: dict[str, Any], extended: bool) -> dict[str, list[Any]]:
    """Every axis's stored values (over all parts of an extended store)."""
    if extended:
        return union_axes(store)
    return {
        name: list(entry) if isinstance(entry, list) else _stored_axis(store, name)
        for name, entry in stored["axes"].items()
    }


def plan_store(sweep: Sweep) -> tuple[ResolvedSweep, bool, Extension | None]:
    """:func:`check_store`, and the extension the spec asks for (None when it adds no point).

    For a store that is (or is about to be) extended the resolved sweep is the spec's whole
    grid with the store's block shape; each part is resolved from its own record when run.
    """
    if getattr(sweep, "adaptive", None) is not None:  # learners choose the points
        from .adaptive import check_adaptive_store

        ra, exists = check_adaptive_store(sweep)  # type: ignore[arg-type]
        return ra, exists, None  # type: ignore[return-value]
    rs = resolve(sweep)
    store = rs.store
    check_store_path(store)
    if not store.exists():
        return rs, False, None
    try:
        meta = read_root_attrs(store)["pairsweep"]
        stored = canonical_stored_spec(meta["spec"], rs.kernel.parameter_map)
    except Exception as exc:  # noqa: BLE001 - anything unreadable is not ours to touch
        raise unreadable_store(store, exc) from None
    new = rs.canonical()
    extended = bool(list_parts(store))
    extension = None
    if list(stored["axes"]) != list(new["axes"]):
        diffs = spec_differences(stored, new, compare_chunks=bool(sweep.chunks))
    else:
        # Everything but the axis values as before (the chunks a spec asks for are clipped
        # to part 0's axes, as they were when it was created); the values by set inclusion.
        part0_sizes = {name: axis_size(entry) for name, entry in stored["axes"].items()}
        clipped = {name: min(c, part0_sizes[name]) for name, c in new["chunks"].items()}
        diffs = spec_differences(
            stored, {**new, "axes": stored["axes"], "chunks": clipped}, compare_chunks=bool(sweep.chunks)
        )
        if not extended and stored["axes"] == new["axes"]:
            # the usual resume: equal values (a long axis by its digest), nothing to read
            extension = Extension(())
        else:
            union = _stored_axes(store, stored, extended)
            extension = match_axes(union, {a.name: a.values for a in rs.axes})
        for m in extension.axes:
            if m.dropped:
                entry = axis_entry(m.stored)
                diffs.append(
                    f"axes.{m.name}: store has {_describe_values(entry)}, spec has "
                    f"{_describe_values(new['axes'][m.name])}: {_value_differences(list(m.stored), list(m.values))}"
                    + describe_dropped(m)
                )
    if diffs:
        raise SpecMismatchError(
            f"store: {store} was created by a different spec; refusing to resume it.\n  "
            + "\n  ".join(diffs)
        )
    assert extension is not None
    rs = resolve(with_chunks(sweep, meta["spec"]["chunks"]))
    if not extended and not extension.adds_points:
        # The store's own hash identifies it, whatever form its spec was written in.
        return replace(rs, stored_hash=meta["spec_hash"]), True, None
    # the spec's values where they match stored ones, so the parts share exact coordinates
    snapped = replace(rs.sweep, axes={m.name: m.values for m in extension.axes})
    return resolve(snapped), True, extension if extension.adds_points else None


def _part_sweeps(rs: ResolvedSweep) -> list[ResolvedSweep]:
    """Every part of an extended store as a sweep of its own (from its record), part 0
    first; ``[rs]`` for a store never extended."""
    if not list_parts(rs.store):
        return [rs]
    parts = []
    for path in part_stores(rs.store):
        meta = read_root_attrs(path)["pairsweep"]
        spec = meta["spec"]
        axes = {name: axis_values(path, spec, name) for name in spec["axes"]}
        part = resolve(replace(rs.sweep, store=path, axes=axes, fixed=spec["fixed"], chunks=spec["chunks"]))
        parts.append(replace(part, stored_hash=meta["spec_hash"]))
    return parts


def _lock(store: Path, purpose: str = "run") -> StoreLock:
    """Take the store's lock (one writer per store; :mod:`pairsweep.storage.lock`)."""
    store.parent.mkdir(parents=True, exist_ok=True)
    lock = StoreLock.acquire(store, purpose=purpose)
    if lock.takeover_message:
        print(f"pairsweep: {lock.takeover_message}", file=sys.stderr)
    return lock


def prepare_store(sweep: Sweep) -> ResolvedSweep:
    """Validate ``sweep`` and create its store, or check an existing store matches it.

    A store created by a different spec is never touched: :class:`SpecMismatchError` lists
    every difference. When resuming with no explicit chunks, the store's block shape is
    adopted (so a resume never depends on how the default block size is computed). Holds
    the store's lock while it works; :class:`StoreLockedError` if another process holds it.
    """
    if getattr(sweep, "adaptive", None) is not None:
        from .adaptive import prepare_adaptive_store

        return prepare_adaptive_store(sweep)  # type: ignore[arg-type,return-value]
    rs, _ = check_store(sweep)  # the store path first: the lock file goes beside the store
    with _lock(rs.store, "prepare") as lock:
        return _prepare_locked(sweep, lock)


def _prepare_locked(sweep: Sweep, lock: StoreLock | None = None) -> ResolvedSweep:
    # checked again under the lock: another run may have created the store since the
    # unlocked check that chose where the lock goes
    rs, exists, extension = plan_store(sweep)
    store = rs.store
    if exists:
        missing = missing_arrays(store, [*_coords(rs), *(v.name for v in _variables(rs))])
        if not missing:
            _discard_unlisted_parts(store)
            if extension is not None:
                _extend(rs, extension, lock)
            return rs
        # A root group without its arrays: left by a kill during creation before creation
        # was atomic. Replaced when nothing was computed in it, never trusted.
        if not discard_half_created(store):
            raise StoreError(
                f"store: {store} lacks the arrays {', '.join(missing)} but holds other files "
                f"(computed blocks?); nothing was changed. `pairsweep verify {store}` restores "
                "arrays from the store's creation record when it has one; otherwise move the "
                "store away"
            )
        print(f"pairsweep: {store} was only half created (no {', '.join(missing)}); creating "
              "it anew", file=sys.stderr)
        rs = replace(rs, stored_hash=None)  # the new store's hash is its own spec's
    _create(rs)
    return rs


def _discard_unlisted_parts(store: Path) -> None:
    """Remove the parts an extension killed before listing them left (lock held)."""
    removed = discard_unlisted(store)
    if removed:
        print(f"pairsweep: removed parts {', '.join(removed)} of {store} left by an extension that was killed "
              "before it finished (they held no results)", file=sys.stderr)


def _check_lock(lock: StoreLock | None, store: Path) -> None:
    if lock is not None and lock.lost:
        raise StoreError(f"store: lost the lock of {store} to another process while extending it; stopping "
                         "(the other process owns the store now)")


def _extend(rs: ResolvedSweep, extension: Extension, lock: StoreLock | None = None) -> None:
    """Add the new points of ``extension`` to the store as new parts (lock held).

    Each part is created atomically; the list of parts is written last, atomically, so a
    kill leaves the store as it was (plus unlisted parts, removed by the next run) or
    extended. Nothing already stored is touched (:mod:`pairsweep.storage.parts`). A lock
    lost meanwhile stops the extension before it lists anything: the process that took the
    lock over may already have removed the unlisted parts.
    """
    store = rs.store
    names = list_parts(store)
    first = next_part_name(store)
    chunks = dict(zip(rs.dims, rs.chunks, strict=True))
    for k, piece in enumerate(extension.pieces):
        _check_lock(lock, store)
        name = str(first + k)
        _create(resolve(replace(rs.sweep, store=part_path(store, name), axes=piece, chunks=chunks)))
        names.append(name)
    _check_lock(lock, store)
    record_parts(store, names, rs.canonical())


def _create(rs: ResolvedSweep) -> None:
    """Create the store of ``rs`` (atomically; see :func:`create_store`)."""
    store = rs.store
    store.parent.mkdir(parents=True, exist_ok=True)
    attrs = store_attrs("pairsweep result", rs.kernel, rs.canonical(), rs.spec_hash, rs.extra_coords)
    create_store(store, coords=_coords(rs), variables=_variables(rs), attrs=attrs)


def run_sweep(
    sweep: Sweep,
    *,
    client: Client | None = None,
    progress: bool | str = True,
    durable: bool = True,
    verbosity: int = 0,
) -> SweepReport:
    """Compute every block of ``sweep`` that its store does not hold yet.

    Parameters
    ----------
    sweep
        The sweep; validated (and its store created or checked) before any task is
        submitted.
    client
        Run on this client. By default a cluster is created from ``sweep.cluster`` and shut
        down afterwards.
    progress
        Show progress on stderr: True picks a bar on a terminal and plain periodic lines
        elsewhere (``"bar"``/``"lines"`` force one); False shows none. See
        :mod:`pairsweep.sweeps.progress`. The run's log file is written either way.
    durable
        fsync each block's chunk files before marking it done, so that even a node crash
        (not only a killed process) cannot leave a block marked done without its data.
    verbosity
        -1: print nothing but errors (no dashboard link, no progress); 0: normal; 1: a line
        per block and distributed's INFO messages too.

    Returns
    -------
    SweepReport
        Counts for this run. Results are read with :func:`pairsweep.sweeps.open_result`.
    """
    if getattr(sweep, "adaptive", None) is not None:  # learners choose the points
        from .adaptive import run_adaptive

        return run_adaptive(sweep, client=client, progress=progress, durable=durable,  # type: ignore[arg-type]
                            verbosity=verbosity)
    rs, _ = check_store(sweep)  # every field, and the store path, before the cluster options
    try:
        validate_cluster(sweep.cluster.kind, sweep.cluster.options)
    except ClusterError as exc:
        raise SpecError(str(exc)) from None
    lock = _lock(rs.store)  # held from before creation to the end: one writer
    try:
        rs = _prepare_locked(sweep, lock)
        parts = _part_sweeps(rs)
        if len(parts) > 1:
            return _run_parts(rs, parts, client, sweep, progress=progress, durable=durable,
                              verbosity=verbosity, lock=lock)
        grid = BlockGrid(rs.shape, rs.chunks)
        done = ledger.done_blocks(rs.store, grid.n_blocks)
        if client is None and done.all():
            # Nothing left: answer at once instead of starting (or queueing for) a cluster.
            return SweepReport(
                store=rs.store.resolve(),
                spec_hash=rs.spec_hash,
                n_points=grid.n_points,
                n_blocks=grid.n_blocks,
                blocks_already_done=grid.n_blocks,
            )
        if client is None:
            with connect(sweep.cluster.kind, sweep.cluster.options) as new_client:
                return BlockRunner(rs, new_client, done, progress=progress, durable=durable,
                                   verbosity=verbosity, lock=lock).run()
        return BlockRunner(rs, client, done, progress=progress, durable=durable,
                           verbosity=verbosity, lock=lock).run()
    finally:
        lock.release()


def _run_parts(
    rs: ResolvedSweep, parts: list[ResolvedSweep], client: Client | None, sweep: Sweep, *,
    progress: bool | str, durable: bool, verbosity: int, lock: StoreLock,
) -> SweepReport:
    """Run every block left in the parts of an extended store through one window
    (:class:`~.runner.PartsRunner`; block errors keyed ``"PART:BLOCK"``)."""
    masks = [ledger.done_blocks(p.store, BlockGrid(p.shape, p.chunks).n_blocks) for p in parts]
    if client is None and all(m.all() for m in masks):
        n_blocks = sum(len(m) for m in masks)
        return SweepReport(
            store=rs.store.resolve(), spec_hash=rs.spec_hash,
            n_points=sum(p.n_points for p in parts), n_blocks=n_blocks, blocks_already_done=n_blocks,
        )
    if client is None:
        with connect(sweep.cluster.kind, sweep.cluster.options) as new_client:
            return PartsRunner(parts, new_client, masks, progress=progress, durable=durable,
                               verbosity=verbosity, lock=lock, spec_hash=rs.spec_hash).run()
    return PartsRunner(parts, client, masks, progress=progress, durable=durable,
                       verbosity=verbosity, lock=lock, spec_hash=rs.spec_hash).run()

