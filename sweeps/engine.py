"""Run a sweep: create or resume its store, submit one task per block, keep a bounded
number in flight, and report.

The client holds one boolean per block (the ledger's done-mask) and the futures in flight;
nothing per point. Blocks are generated lazily, submitted ``max_in_flight`` at a time, and
each completion triggers the next submission, so the scheduler never sees a graph with one
node per point (dask/distributed#2181) and client memory stays flat in the grid size.
"""

from __future__ import annotations

import getpass
import platform
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from distributed import Client, as_completed

from pairsweep.cluster import ClusterError, capacity, cluster_info, connect, dashboard_link, tunnel_hint
from pairsweep.cluster import validate as validate_cluster
from pairsweep.kernels import Status
from pairsweep.storage import ledger
from pairsweep.storage.errors import StoreError, StoreLockedError
from pairsweep.storage.layout import (
    MANIFEST,
    Variable,
    create_store,
    discard_half_created,
    missing_arrays,
    read_root_attrs,
    update_root_attrs,
)
from pairsweep.storage.lock import StoreLock

from .execute import compute_block
from .grid import BlockGrid
from .progress import QuietSizeof, RunProgress, choose_mode, run_log_path
from .spec import ResolvedSweep, SpecError, Sweep, resolve, with_chunks
from .storepath import check_store_path
from .values import canonical_stored_spec

__all__ = ["SpecMismatchError", "SweepInterrupted", "SweepReport", "check_store", "prepare_store", "run_sweep"]

STORE_FORMAT = 1
_VERSIONED = ("pairsweep", "numpy", "scipy", "dask", "distributed", "zarr", "xarray", "numba")


class SpecMismatchError(SpecError):
    """Resuming a store with a spec that would change its results."""


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a sweep. Every block in the ledger is kept; rerunning the same
    spec resumes. ``blocks_kept`` of ``n_blocks`` were done when the run was recorded."""

    def __init__(self, store: Path, blocks_kept: int, n_blocks: int):
        super().__init__(f"interrupted: {blocks_kept} of {n_blocks} blocks kept; run the same command to resume")
        self.store = store
        self.blocks_kept = blocks_kept
        self.n_blocks = n_blocks


@dataclass
class SweepReport:
    """What one call of :func:`run_sweep` did."""

    store: Path
    spec_hash: str
    n_points: int
    n_blocks: int
    blocks_already_done: int
    blocks_computed: int = 0
    points_computed: int = 0
    ok: int = 0
    not_converged: int = 0
    failed: int = 0
    block_errors: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0
    dashboard: str | None = None

    @property
    def complete(self) -> bool:
        return self.blocks_already_done + self.blocks_computed == self.n_blocks

    def __str__(self) -> str:
        lines = [
            f"store {self.store} (spec {self.spec_hash}): {self.n_points} points in {self.n_blocks} blocks",
            f"  this run: {self.blocks_computed} blocks, {self.points_computed} points in {self.seconds:.1f} s"
            f" ({self.blocks_already_done} blocks were already done)",
            f"  ok {self.ok}, not converged {self.not_converged}, failed {self.failed}",
        ]
        if self.block_errors:
            lines.append(f"  {len(self.block_errors)} blocks could not run (rerun to retry them):")
            lines += [f"    block {b}: {msg}" for b, msg in list(self.block_errors.items())[:5]]
        lines.append("  complete" if self.complete else "  INCOMPLETE: run again to resume")
        return "\n".join(lines)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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


def _variables(rs: ResolvedSweep) -> list[Variable]:
    variables = []
    for o in rs.kernel.outputs:
        extra = tuple(len(rs.extra_coords[d]) for d in o.dims)
        variables.append(
            Variable(
                name=o.name,
                dims=rs.dims + o.dims,
                shape=rs.shape + extra,
                chunks=rs.chunks + extra,
                dtype=o.dtype,
                fill_value=o.fill_value,
                attrs={"units": o.unit, "long_name": o.description},
            )
        )
    variables.append(
        Variable(
            name="status",
            dims=rs.dims,
            shape=rs.shape,
            chunks=rs.chunks,
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


def _coords(rs: ResolvedSweep) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    params = rs.kernel.parameter_map
    coords = {
        a.name: (np.asarray(a.values), {"units": params[a.name].unit, "long_name": params[a.name].description})
        for a in rs.axes
    }
    for dim, values in rs.extra_coords.items():
        coords[dim] = (values, {"long_name": f"extra output dimension of {rs.kernel.name}"})
    return coords


def _stored_axis(store: Path, name: str) -> list[Any]:
    import zarr

    return np.asarray(zarr.open_group(str(store), mode="r")[name][...]).tolist()


def check_store(sweep: Sweep) -> tuple[ResolvedSweep, bool]:
    """Validate ``sweep`` and its store without writing anything.

    Returns the resolved sweep (with the store's block shape and hash when the store
    exists) and whether the store exists. Raises :class:`SpecError` naming the field when
    the store path cannot be created or written, and :class:`SpecMismatchError` listing every
    difference when an existing store was made by a different spec.
    """
    if getattr(sweep, "adaptive", None) is not None:  # learners choose the points
        from .adaptive import check_adaptive_store

        return check_adaptive_store(sweep)  # type: ignore[arg-type,return-value]
    rs = resolve(sweep)
    store = rs.store
    check_store_path(store)
    if not store.exists():
        return rs, False
    try:
        meta = read_root_attrs(store)["pairsweep"]
        stored = canonical_stored_spec(meta["spec"], rs.kernel.parameter_map)
    except Exception as exc:  # noqa: BLE001 - anything unreadable is not ours to touch
        if (store / MANIFEST).is_file():
            raise StoreError(
                f"store: {store} is a pairsweep store but its root metadata cannot be read "
                f"({type(exc).__name__}: {exc}); run `pairsweep verify {store}` to repair it"
            ) from None
        raise SpecMismatchError(
            f"store: {store} exists and is not a pairsweep store ({type(exc).__name__}: {exc}); "
            "choose another path or remove it yourself"
        ) from None
    diffs = spec_differences(
        stored, rs.canonical(), compare_chunks=bool(sweep.chunks),
        values=lambda name: _stored_axis(store, name),
        new_values={a.name: a.values for a in rs.axes},
    )
    if diffs:
        raise SpecMismatchError(
            f"store: {store} was created by a different spec; refusing to resume it.\n  "
            + "\n  ".join(diffs)
        )
    rs = resolve(with_chunks(sweep, meta["spec"]["chunks"]))
    # The store's own hash identifies it, whatever form its spec was written in.
    return replace(rs, stored_hash=meta["spec_hash"]), True


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
    rs, _ = check_store(sweep)  # the store path first: the lock file goes beside the store
    with _lock(rs.store, "prepare"):
        return _prepare_locked(sweep)


def _prepare_locked(sweep: Sweep) -> ResolvedSweep:
    # checked again under the lock: another run may have created the store since the
    # unlocked check that chose where the lock goes
    rs, exists = check_store(sweep)
    store = rs.store
    if exists:
        missing = missing_arrays(store, [*_coords(rs), *(v.name for v in _variables(rs))])
        if not missing:
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
    store.parent.mkdir(parents=True, exist_ok=True)
    attrs = {
        "title": f"pairsweep result: {rs.kernel.name}",
        "kernel": rs.kernel.name,
        "kernel_version": rs.kernel.version,
        "reference": rs.kernel.reference,
        "pairsweep": {
            "format": STORE_FORMAT,
            "spec": rs.canonical(),
            "spec_hash": rs.spec_hash,
            "extra_sizes": {d: len(v) for d, v in rs.extra_coords.items()},
            "created": _now(),
            "host": socket.gethostname(),
            "user": getpass.getuser(),
            "versions": _versions(),
            "runs": [],
        },
    }
    create_store(store, coords=_coords(rs), variables=_variables(rs), attrs=attrs)
    return rs


def _record_run(store: Path, run: dict[str, Any]) -> None:
    meta = read_root_attrs(store)["pairsweep"]
    runs = [r for r in meta.get("runs", []) if r.get("run") != run["run"]] + [run]
    update_root_attrs(store, {"pairsweep": {**meta, "runs": runs}})


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
        rs = _prepare_locked(sweep)
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
                return _run(rs, new_client, done, progress=progress, durable=durable,
                            verbosity=verbosity, lock=lock)
        return _run(rs, client, done, progress=progress, durable=durable,
                    verbosity=verbosity, lock=lock)
    finally:
        lock.release()


def _run(
    rs: ResolvedSweep, client: Client, done: np.ndarray, *, progress: bool | str, durable: bool,
    verbosity: int = 0, lock: StoreLock | None = None,
) -> SweepReport:
    """Submit every block not marked in ``done`` (the ledger's mask, read once by the caller)."""
    started = time.perf_counter()
    store = rs.store.resolve()
    grid = BlockGrid(rs.shape, rs.chunks)
    report = SweepReport(
        store=store,
        spec_hash=rs.spec_hash,
        n_points=grid.n_points,
        n_blocks=grid.n_blocks,
        blocks_already_done=int(done.sum()),
        dashboard=dashboard_link(client),
    )
    run_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S.%f}-{uuid.uuid4().hex[:6]}"
    run_info = {"run": run_id, "host": socket.gethostname(), "started": _now(), "cluster": cluster_info(client)}
    _record_run(store, run_info)

    points_done = sum(grid.block_size(b) for b in np.flatnonzero(done)) if done.any() else 0
    # Sized from what the cluster can reach, not what is connected now: an adaptive batch
    # cluster only asks for more jobs when enough blocks are queued.
    max_in_flight = rs.sweep.max_in_flight or 4 * capacity(client)
    todo: Iterator[int] = grid.iter_blocks(skip=done)
    pending = as_completed()

    def submit(count: int) -> None:
        batch = list(islice(todo, count))
        if not batch:
            return
        # Logged before submission: the run log over-approximates what this run started.
        ledger.append_run_log(store, run_id, batch)
        for block_id in batch:
            pending.add(
                client.submit(
                    compute_block,
                    str(store),
                    block_id,
                    rs.spec_hash,
                    run_id,
                    durable,
                    key=f"pairsweep_block-{run_id}-{block_id}",
                    # One retry absorbs a transient I/O error on a shared filesystem; a
                    # kernel that kills its worker has already had Dask's own 3 tries.
                    retries=1,
                    pure=False,
                )
            )

    # everything after the run is recorded as started sits inside the try, so that a Ctrl-C
    # at any moment leaves the run recorded as interrupted, never as forever "started"
    bar: RunProgress | None = None
    interrupted = False
    try:
        bar = RunProgress(
            total_points=grid.n_points, points_done=points_done, n_blocks=grid.n_blocks,
            blocks_done=report.blocks_already_done, mode=choose_mode(progress, sys.stderr),
            verbosity=verbosity, log_path=run_log_path(store, run_id),
        )
        bar.log(f"run {run_id}: store {store}, spec {rs.spec_hash}, kernel {rs.kernel.name} "
                f"v{rs.kernel.version}, {grid.n_points} points in {grid.n_blocks} blocks "
                f"({report.blocks_already_done} already done)")
        if report.dashboard:
            bar.info(f"pairsweep: dashboard at {report.dashboard}")
            hint = tunnel_hint(report.dashboard)
            if hint:
                bar.info(f"pairsweep: {hint}")
        try:
            # Worker processes of a local cluster write to this terminal: keep distributed's
            # harmless "Sizeof calculation failed" warning off it (and off the bar).
            client.register_plugin(QuietSizeof())
        except Exception as exc:  # noqa: BLE001 - cosmetic; never worth failing a run
            bar.log(f"could not register the worker logging plugin: {exc}")
        bar.__enter__()
        submit(max_in_flight)
        for future in pending:
            block_id = int(future.key.rsplit("-", 1)[1])
            if future.status == "finished":
                summary = future.result()
                report.blocks_computed += 1
                report.points_computed += summary["points"]
                report.ok += summary["ok"]
                report.not_converged += summary["not_converged"]
                report.failed += summary["failed"]
                bar.block_done(summary)
            else:
                exc = future.exception()
                report.block_errors[block_id] = f"{type(exc).__name__}: {exc}"
                bar.block_error(block_id, report.block_errors[block_id])
            future.release()
            if lock is not None and lock.lost:
                raise StoreLockedError(f"store: lost the lock of {store} to another process; stopping")
            submit(1)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        report.seconds = time.perf_counter() - started
        if bar is not None:
            bar.close(str(report))
        run_info.update(
            cluster=cluster_info(client),  # job ids submitted during the run, replacements included
            blocks_computed=report.blocks_computed,
            block_errors=len(report.block_errors),
        )
        if interrupted:
            # Blocks still running may finish and enter the ledger after this; the next run
            # counts them from the ledger, which is the only record of completion.
            kept = int(ledger.done_blocks(store, grid.n_blocks).sum())
            run_info.update(interrupted=_now(), blocks_kept=kept, complete=False)
        else:
            run_info.update(finished=_now(), complete=report.complete)
        if lock is None or not lock.lost:
            # a lost lock means another process owns the store's metadata now
            _record_run(store, run_info)
    if interrupted:
        raise SweepInterrupted(store, kept, grid.n_blocks)
    return report
