"""The client's side of a run: keep a bounded window of block tasks on the cluster, take
each one back as it finishes, and keep the run's record and report.

Shaped like python-adaptive's runner: :class:`RunLoop` holds a ``Future -> block id``
map and does its work in small steps (:meth:`~RunLoop.start`, :meth:`~RunLoop.submit`,
:meth:`~RunLoop.handle`, :meth:`~RunLoop.finish`), and the counts accumulate in a
:class:`SweepReport`. :class:`BlockRunner` walks a grid's blocks; the adaptive runner
(:mod:`.adaptive`) asks learners for them. A block's id comes from that map,
never from parsing a task key, so the key is free to be whatever the dashboard shows best.

What the client holds: the done-mask (one boolean per block, read by the caller), a lazy
iterator over the blocks still to do, and at most ``max_in_flight`` futures. Nothing per
point, and nothing per finished block (its future is released as soon as it is counted).

Run records: the run is written into the store's root attributes when it starts and again
when it ends, with ``finished`` or ``interrupted``. Everything between the two sits inside
one ``try``, so a Ctrl-C at any moment leaves the run recorded as interrupted, never as
forever "started". The ledger, not this record, says which blocks are done.
"""

from __future__ import annotations

import socket
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from distributed import Client, Future, as_completed
from pairsweep.cluster import capacity, cluster_info, dashboard_link, tunnel_hint
from pairsweep.storage import ledger
from pairsweep.storage.errors import StoreLockedError
from pairsweep.storage.layout import read_root_attrs, update_root_attrs
from pairsweep.storage.lock import StoreLock

from .execute import compute_block
from .grid import BlockGrid
from .progress import QuietSizeof, RunProgress, choose_mode, run_log_path
from .spec import ResolvedSweep

__all__ = ["BlockRunner", "PartsRunner", "RunLoop", "SweepInterrupted", "SweepReport", "record_run", "utc_now"]

#: Prefix of every block task's key (the dashboard's task stream groups by it).
TASK_PREFIX = "pairsweep_block"


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second (as run records and store metadata hold it)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


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
    """What one call of :func:`~pairsweep.sweeps.run_sweep` did; counts are in points unless
    named blocks, ``seconds`` is wall-clock time of the run."""

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
    #: by block id; ``"PART:BLOCK"`` for the parts of an extended store
    block_errors: dict[int | str, str] = field(default_factory=dict)
    seconds: float = 0.0
    dashboard: str | None = None

    @property
    def complete(self) -> bool:
        return self.blocks_already_done + self.blocks_computed == self.n_blocks

    def add_block(self, summary: dict[str, Any]) -> None:
        """Count one computed block from its task's summary (``points``, ``ok``,
        ``not_converged``, ``failed``; see :func:`pairsweep.sweeps.execute.compute_block`)."""
        self.blocks_computed += 1
        self.points_computed += summary["points"]
        self.ok += summary["ok"]
        self.not_converged += summary["not_converged"]
        self.failed += summary["failed"]

    def add_error(self, block_id: int, exc: BaseException) -> str:
        """Record that block ``block_id``'s task could not run; returns the message kept."""
        message = f"{type(exc).__name__}: {exc}"
        self.block_errors[block_id] = message
        return message

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


def record_run(store: Path, run: dict[str, Any]) -> None:
    """Write ``run`` into the store's list of runs, replacing the entry with the same id.

    Only the client writes root metadata (workers never do), so this read-modify-write has
    no concurrent writer while the caller holds the store's lock.
    """
    meta = read_root_attrs(store)["pairsweep"]
    runs = [r for r in meta.get("runs", []) if r.get("run") != run["run"]] + [run]
    update_root_attrs(store, {"pairsweep": {**meta, "runs": runs}})


class RunLoop:
    """What every run does, whichever way its blocks are chosen: a run id, the run's record
    in the store, the progress display and log, a window of at most ``max_in_flight`` block
    tasks, the report, and the Ctrl-C handling. Subclasses say which blocks to submit
    (:meth:`submit`), what a finished block means (:meth:`absorb`) and how to refill the
    window (:meth:`refill`): :class:`BlockRunner` walks a grid,
    :class:`pairsweep.sweeps.adaptive.AdaptiveRunner` asks learners.

    :meth:`run` does everything; the steps are separate methods so each can be read, and
    tested, on its own::

        runner.start()                       # run id, run record, progress, first window
        for future in runner.completed:      # as blocks finish ...
            runner.handle(future)            # ... count it, then
            runner.refill()                  # keep the window full
        runner.finish(interrupted=False)     # final run record and report
    """

    def __init__(
        self, client: Client, store: Path, spec_hash: str, *, n_points: int, n_blocks: int,
        blocks_already_done: int, points_already_done: int, max_in_flight: int,
        progress: bool | str = False, durable: bool = True, verbosity: int = 0,
        lock: StoreLock | None = None,
    ) -> None:
        self._started = time.perf_counter()
        self.client = client
        self.store = store
        self.durable = durable
        self.lock = lock
        self.max_in_flight = max_in_flight
        self._progress_choice = progress
        self._verbosity = verbosity
        self._points_already_done = points_already_done
        self.report = SweepReport(
            store=store, spec_hash=spec_hash, n_points=n_points, n_blocks=n_blocks,
            blocks_already_done=blocks_already_done, dashboard=dashboard_link(client),
        )
        self.run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S.%f}-{uuid.uuid4().hex[:6]}"
        self.run_info: dict[str, Any] = {}
        #: Futures in flight and the block each one computes: the only way back from a
        #: finished task to its block.
        self.pending: dict[Future, int] = {}
        #: Yields futures as they finish; :meth:`submit` adds to it while it is iterated.
        self.completed = as_completed()
        self.bar: RunProgress | None = None
        #: True once every block is handled (not after Ctrl-C or an error).
        self.ended_normally = False

    # -- what subclasses decide -------------------------------------------------------------
    def describe(self) -> str:
        """The run log's first line after the run id."""
        report = self.report
        return (f"store {self.store}, spec {report.spec_hash}, {report.n_points} points in "
                f"{report.n_blocks} blocks ({report.blocks_already_done} already done)")

    def submit(self, count: int) -> list[int]:
        """Submit up to ``count`` more blocks; their ids."""
        raise NotImplementedError

    def refill(self) -> None:
        """After a block is handled: keep the window full."""
        self.submit(1)

    def absorb(self, block_id: int, summary: dict[str, Any]) -> dict[str, Any]:
        """Take what a finished block's task returned; the counts for the report."""
        return summary

    def closing_note(self) -> str:
        """Appended to the report printed at the end."""
        return ""

    def blocks_in_ledger(self) -> int:
        """Blocks the ledger holds now (read afresh: blocks may land after a Ctrl-C)."""
        return int(ledger.done_blocks(self.store, self.report.n_blocks).sum())

    # -- the whole run ----------------------------------------------------------------------
    def run(self) -> SweepReport:
        """Run to the end, or until Ctrl-C (then :class:`SweepInterrupted`, run recorded)."""
        self.record_start()
        interrupted = False
        try:
            self.start()
            for future in self.completed:
                self.handle(future)
                self.check_lock()
                self.refill()
            self.ended_normally = True
        except KeyboardInterrupt:
            interrupted = True
        finally:
            kept = self.finish(interrupted=interrupted)
        if interrupted:
            raise SweepInterrupted(self.store, kept, self.report.n_blocks)
        return self.report

    # -- steps ------------------------------------------------------------------------------
    def record_start(self) -> None:
        """Record the run as started in the store (before any block is submitted)."""
        self.run_info = {"run": self.run_id, "host": socket.gethostname(), "started": utc_now(),
                         "cluster": cluster_info(self.client)}
        record_run(self.store, self.run_info)

    def start(self) -> None:
        """Open the progress display and the run's log, then submit the first window."""
        report = self.report
        self.bar = RunProgress(
            total_points=report.n_points, points_done=self._points_already_done,
            n_blocks=report.n_blocks, blocks_done=report.blocks_already_done,
            mode=choose_mode(self._progress_choice, sys.stderr), verbosity=self._verbosity,
            log_path=run_log_path(self.store, self.run_id),
        )
        self.bar.log(f"run {self.run_id}: {self.describe()}")
        if report.dashboard:
            self.bar.info(f"pairsweep: dashboard at {report.dashboard}")
            hint = tunnel_hint(report.dashboard)
            if hint:
                self.bar.info(f"pairsweep: {hint}")
        try:
            # Worker processes of a local cluster write to this terminal: keep distributed's
            # harmless "Sizeof calculation failed" warning off it (and off the bar).
            self.client.register_plugin(QuietSizeof())
        except Exception as exc:  # noqa: BLE001 - cosmetic; never worth failing a run
            self.bar.log(f"could not register the worker logging plugin: {exc}")
        self.bar.__enter__()
        self.submit(self.max_in_flight)

    def track(self, future: Future, block_id: int) -> None:
        """Hold ``future`` (computing ``block_id``) in the window."""
        self.pending[future] = block_id
        self.completed.add(future)

    def handle(self, future: Future) -> int:
        """Count one finished future (a block's summary, or its task's error); its block id.

        The future is released here, so the client keeps nothing for a finished block.
        """
        block_id = self.pending.pop(future)
        if future.status == "finished":
            summary = self.absorb(block_id, future.result())
            self.report.add_block(summary)
            if self.bar is not None:
                self.bar.block_done(summary)
        else:
            message = self.report.add_error(block_id, future.exception())
            if self.bar is not None:
                self.bar.block_error(block_id, message)
        future.release()
        return block_id

    def check_lock(self) -> None:
        """Stop when another process took the store's lock (then it owns the store)."""
        if self.lock is not None and self.lock.lost:
            raise StoreLockedError(f"store: lost the lock of {self.store} to another process; stopping")

    def finish(self, *, interrupted: bool) -> int | None:
        """Close the progress display and record how the run ended.

        Returns the number of blocks in the ledger when ``interrupted`` (read afresh: blocks
        still running may land after this, and the next run counts them from the ledger).
        """
        report = self.report
        report.seconds = time.perf_counter() - self._started
        if self.bar is not None:
            self.bar.close(str(report) + self.closing_note())
        self.run_info.update(
            cluster=cluster_info(self.client),  # job ids submitted during the run, replacements included
            blocks_computed=report.blocks_computed,
            block_errors=len(report.block_errors),
        )
        kept = None
        if interrupted:
            kept = self.blocks_in_ledger()
            self.run_info.update(interrupted=utc_now(), blocks_kept=kept, complete=False)
        else:
            self.run_info.update(finished=utc_now(), complete=report.complete)
        if self.lock is None or not self.lock.lost:
            # a lost lock means another process owns the store's metadata now
            record_run(self.store, self.run_info)
        return kept


class BlockRunner(RunLoop):
    """Computes every block of the grid sweep ``rs`` not marked in ``done``,
    ``max_in_flight`` at a time (see :class:`RunLoop` for the steps).

    Parameters
    ----------
    rs
        The resolved sweep; its store exists and matches it (the caller prepared it).
    client
        Where the block tasks run.
    done
        The ledger's done-mask, one boolean per block, read once by the caller.
    progress, verbosity
        As for :func:`~pairsweep.sweeps.run_sweep`.
    durable
        fsync each block's chunk files before its ledger entry is written.
    lock
        The store's lock, held by the caller; losing it stops the run after the current
        block (another process owns the store then).
    """

    def __init__(
        self, rs: ResolvedSweep, client: Client, done: np.ndarray, *, progress: bool | str = False,
        durable: bool = True, verbosity: int = 0, lock: StoreLock | None = None,
    ) -> None:
        self.rs = rs
        self.grid = BlockGrid(rs.shape, rs.chunks)
        super().__init__(
            client, rs.store.resolve(), rs.spec_hash, n_points=self.grid.n_points,
            n_blocks=self.grid.n_blocks, blocks_already_done=int(done.sum()),
            points_already_done=(sum(self.grid.block_size(b) for b in np.flatnonzero(done))
                                 if done.any() else 0),
            # Sized from what the cluster can reach, not what is connected now: an adaptive
            # batch cluster only asks for more jobs when enough blocks are queued.
            max_in_flight=rs.sweep.max_in_flight or 4 * capacity(client),
            progress=progress, durable=durable, verbosity=verbosity, lock=lock,
        )
        self._todo: Iterator[int] = self.grid.iter_blocks(skip=done)

    def describe(self) -> str:
        rs = self.rs
        return f"kernel {rs.kernel.name} v{rs.kernel.version}, " + super().describe()

    def submit(self, count: int) -> list[int]:
        """Submit up to ``count`` more blocks (fewer when the grid runs out); their ids."""
        batch = list(islice(self._todo, count))
        if not batch:
            return batch
        # Logged before submission: the run log over-approximates what this run started.
        ledger.append_run_log(self.store, self.run_id, batch)
        for block_id in batch:
            future = self.client.submit(
                compute_block, str(self.store), block_id, self.rs.spec_hash, self.run_id, self.durable,
                key=f"{TASK_PREFIX}-{self.run_id}-{block_id}",
                # One retry absorbs a transient I/O error on a shared filesystem; a kernel
                # that kills its worker has already had Dask's own 3 tries.
                retries=1,
                pure=False,
            )
            self.track(future, block_id)
        return batch


class PartsRunner(RunLoop):
    """Computes every block not yet done in the parts of an extended store
    (:mod:`pairsweep.storage.parts`), part 0 first, through one window: workers never idle
    between parts, and the run has one record (in the store's root, part 0), one progress
    display and one report. Block ids are ``"PART:BLOCK"``.

    ``parts`` are the parts as sweeps of their own (``parts[0]`` the store itself),
    ``masks`` their ledgers' done-masks, read once by the caller, and ``spec_hash`` the
    hash of the spec that extended the store (the report's).
    """

    def __init__(
        self, parts: list[ResolvedSweep], client: Client, masks: list[np.ndarray], *,
        progress: bool | str = False, durable: bool = True, verbosity: int = 0,
        lock: StoreLock | None = None, spec_hash: str | None = None,
    ) -> None:
        self.parts = parts
        self.grids = [BlockGrid(p.shape, p.chunks) for p in parts]
        self._stores = [p.store.resolve() for p in parts]
        root = parts[0]
        super().__init__(
            client, self._stores[0], spec_hash or root.spec_hash,
            n_points=sum(g.n_points for g in self.grids),
            n_blocks=sum(g.n_blocks for g in self.grids),
            blocks_already_done=int(sum(m.sum() for m in masks)),
            points_already_done=sum(g.block_size(b) for g, m in zip(self.grids, masks, strict=True)
                                    for b in np.flatnonzero(m)),
            max_in_flight=root.sweep.max_in_flight or 4 * capacity(client),
            progress=progress, durable=durable, verbosity=verbosity, lock=lock,
        )
        self._todo: Iterator[tuple[int, int]] = (
            (k, b) for k, (g, m) in enumerate(zip(self.grids, masks, strict=True)) for b in g.iter_blocks(skip=m)
        )

    def describe(self) -> str:
        rs = self.parts[0]
        return (f"kernel {rs.kernel.name} v{rs.kernel.version}, {len(self.parts)} parts, "
                + super().describe())

    def submit(self, count: int) -> list[str]:
        """Submit up to ``count`` more blocks, across parts in order; their ids."""
        batch = list(islice(self._todo, count))
        for k in sorted({k for k, _ in batch}):
            # Logged before submission, in the part's own run log, as for a single store.
            ledger.append_run_log(self._stores[k], self.run_id, [b for j, b in batch if j == k])
        for k, block_id in batch:
            future = self.client.submit(
                compute_block, str(self._stores[k]), block_id, self.parts[k].spec_hash, self.run_id,
                self.durable, key=f"{TASK_PREFIX}-{self.run_id}-{k}-{block_id}", retries=1, pure=False,
            )
            self.track(future, f"{k}:{block_id}")
        return [f"{k}:{b}" for k, b in batch]

    def blocks_in_ledger(self) -> int:
        return sum(int(ledger.done_blocks(store, g.n_blocks).sum())
                   for store, g in zip(self._stores, self.grids, strict=True))
