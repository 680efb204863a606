"""Run an adaptive sweep: learners choose the points, pairsweep batches them into blocks.

The loop (:class:`AdaptiveRunner`, python-adaptive's runner shape):

1. The learners are rebuilt from the store: every point of every block in the ledger is
   told (a resumed run continues where the killed one stopped, to the same goal).
2. While the in-flight window has room and blocks are free, the learners are asked for
   whole blocks' worth of points (``block_points`` each); each block goes to one Dask task.
   The window is ``execution.max_in_flight`` or, by default, one block per worker of the
   cluster's capacity (on SLURM/PBS the capacity it can reach, as for grids), growing to
   at most four per worker as long as the points in flight stay under a quarter of the
   points told and the blocks in flight under 10 % of the budget;
   it is refilled half a window at a time with one ask: few enough that the learners choose with most results known, enough
   that no worker waits while the client asks.
3. A task evaluates its points (:func:`pairsweep.sweeps.execute.evaluate_block`), writes
   chunk ``b`` of every per-point array, parameters included, fsyncs and writes its ledger
   entry, exactly like a grid block. The client then tells the learners the block's values.
4. It stops when every block of the budget is done, or when ``loss_goal`` is reached.

A block's points are recorded before its task is submitted
(:func:`pairsweep.storage.points.write_claim`). A block killed before its ledger entry is
resubmitted by the next run with those same points, so a task of the killed run that
still lands (a batch job outlives its client) writes exactly what the new run writes: no
stored point is lost, none is stored twice, none is overwritten by another. Points that
are not ok follow the stand-in rule of
:mod:`pairsweep.sweeps.adaptive_learners`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from typing import Any

import numpy as np
from distributed import Client
from pairsweep.cluster import (
    ClusterError,
    capacity,
    connect,
)
from pairsweep.cluster import validate as validate_cluster
from pairsweep.kernels import Status
from pairsweep.storage import ledger
from pairsweep.storage.errors import StoreError
from pairsweep.storage.layout import (
    Variable,
    create_store,
    read_root_attrs,
)
from pairsweep.storage.lock import StoreLock
from pairsweep.storage.points import (
    POINT,
    point_variables,
    read_claims,
    read_done_points,
    write_claim,
)

from .adaptive_learners import LearnerSet
from .adaptive_spec import (
    AdaptiveSweep,
    ResolvedAdaptive,
    _table,
    resolve_adaptive,
    with_stored_hash,
)
from .adaptive_task import compute_points_block
from .engine import (
    SpecMismatchError,
    _lock,
    extra_coordinates,
    kernel_variables,
    store_attrs,
    unreadable_store,
)
from .runner import RunLoop, SweepReport
from .spec import SpecError
from .storepath import check_store_path

__all__ = ["AdaptiveRunner", "StoredLearners", "check_adaptive_store", "compute_points_block", "prepare_adaptive_store", "run_adaptive"]


# ---------------------------------------------------------------------------------------
# Store
# ---------------------------------------------------------------------------------------

def _differences(stored: dict[str, Any], new: dict[str, Any]) -> list[str]:
    diffs = []
    for key in ("kernel", "kernel_version"):
        if stored.get(key) != new[key]:
            diffs.append(f"{key}: store has {stored.get(key)!r}, spec has {new[key]!r}")
    old_a, new_a = stored.get("adaptive"), new["adaptive"]
    if old_a is None:
        diffs.append("adaptive: the store is a grid store; this spec is adaptive")
    else:
        for key in sorted(set(old_a) | set(new_a)):
            if old_a.get(key) != new_a.get(key):
                diffs.append(f"adaptive.{key}: store has {old_a.get(key)!r}, spec has {new_a.get(key)!r}")
    for name in sorted(set(stored.get("fixed", {})) | set(new["fixed"])):
        old, cur = stored.get("fixed", {}).get(name, "<unset>"), new["fixed"].get(name, "<unset>")
        if old != cur:
            diffs.append(f"fixed.{name}: store has {old!r}, spec has {cur!r}")
    return diffs


def check_adaptive_store(sweep: AdaptiveSweep) -> tuple[ResolvedAdaptive, bool]:
    """Validate ``sweep`` and its store without writing anything (see
    :func:`pairsweep.sweeps.engine.check_store`); a store made by another spec, grid or
    adaptive, is refused with every difference."""
    ra = resolve_adaptive(sweep)
    store = ra.store
    check_store_path(store)
    if not store.exists():
        return ra, False
    try:
        meta = read_root_attrs(store)["pairsweep"]
        stored = meta["spec"]
    except Exception as exc:  # noqa: BLE001 - anything unreadable is not ours to touch
        raise unreadable_store(store, exc) from None
    stored_block = (stored.get("adaptive") or {}).get("block_points")
    if _table(sweep).block_points is None and isinstance(stored_block, int) and 1 <= stored_block <= ra.npoints:
        # the default block size comes from the kernel's speed estimate, which may change
        # between versions of pairsweep: a resume keeps the store's (as grids keep chunks)
        ra = replace(ra, block_points=stored_block)
    diffs = _differences(stored, ra.canonical())
    if diffs:
        raise SpecMismatchError(f"store: {store} was created by a different spec; refusing to resume it.\n  "
                                + "\n  ".join(diffs))
    return with_stored_hash(ra, meta["spec_hash"]), True


def _parameter_attrs(ra: ResolvedAdaptive) -> dict[str, dict[str, Any]]:
    params = ra.kernel.parameter_map
    names = [a.name for a in ra.grid_axes] + list(ra.sampled)
    return {n: {"units": params[n].unit, "long_name": params[n].description} for n in names}


def _variables(ra: ResolvedAdaptive) -> list[Variable]:
    outputs = kernel_variables(ra.kernel, ra.extra_coords)
    return point_variables(ra.capacity, ra.block_points, _parameter_attrs(ra), outputs)


def _create(ra: ResolvedAdaptive) -> None:
    coords: dict[str, tuple[np.ndarray, dict[str, Any]]] = {
        POINT: (np.arange(ra.capacity, dtype=np.int64), {"long_name": "sample index (in blocks of block_points)"}),
    }
    attrs = store_attrs("pairsweep adaptive result", ra.kernel, ra.canonical(), ra.spec_hash, ra.extra_coords)
    create_store(ra.store, coords=coords | extra_coordinates(ra.kernel, ra.extra_coords),
                 variables=_variables(ra), attrs=attrs)


# ---------------------------------------------------------------------------------------
# The client loop
# ---------------------------------------------------------------------------------------

class StoredLearners:
    """The learners of an adaptive store, rebuilt from it: every point of every block in the
    ledger told (:attr:`n_stored`), the blocks still free and those an earlier run claimed
    but never finished. Needs no cluster: a run whose store already meets its loss goal is
    told so before one is started."""

    def __init__(self, ra: ResolvedAdaptive):
        self.ra = ra
        self.grid_values = [np.asarray(a.values) for a in ra.grid_axes]
        self.learners = LearnerSet(ra.n_learners, [ra.bounds[n] for n in ra.sampled],
                                   [n in ra.log for n in ra.sampled], ra.loss, ra.level)
        self.done = np.zeros(ra.n_blocks, dtype=bool)
        self.free: deque[int] = deque()
        self.reclaim: deque[tuple[int, dict[str, list[float]]]] = deque()
        self.store = ra.store.resolve()
        self.n_stored = self.rebuild()

    def _learner_index(self, grid_params: np.ndarray) -> np.ndarray:
        """Learner of each point from its learner-grid values (C order over the axes)."""
        if not self.grid_values:
            return np.zeros(len(grid_params), dtype=np.int64)
        idx = []
        for k, values in enumerate(self.grid_values):
            order = np.argsort(values)
            pos = np.clip(np.searchsorted(values[order], grid_params[:, k]), 0, len(values) - 1)
            if not np.array_equal(values[order][pos], grid_params[:, k]):
                # a stored value off the learner grid would be told to the wrong learner
                raise StoreError(f"store: {self.store} holds a point whose {self.ra.grid_axes[k].name} is not "
                                 "one of the spec's values; run `pairsweep verify` on it")
            idx.append(order[pos])  # back from sorted positions to the axis order
        return np.ravel_multi_index(tuple(idx), tuple(len(v) for v in self.grid_values))

    def rebuild(self) -> int:
        """Tell the learners every point the store holds; return how many."""
        ra = self.ra
        grid_names = [a.name for a in ra.grid_axes]
        done, data = read_done_points(self.store, [*grid_names, *ra.sampled, ra.output, "status"],
                                      ra.n_blocks, ra.block_points)
        self.done = done
        # Blocks an earlier run chose points for but never finished are resubmitted with
        # those points (a task of that run may still land: storage/points.py); only
        # unclaimed blocks get new points.
        claims = read_claims(self.store)
        self.reclaim = deque((int(b), claims[int(b)]) for b in np.flatnonzero(~done) if int(b) in claims)
        self.free = deque(int(b) for b in np.flatnonzero(~done) if int(b) not in claims)
        n = len(data["status"])
        if n == 0:
            return 0
        which = self._learner_index(np.stack([data[g] for g in grid_names], axis=1) if grid_names
                                    else np.zeros((n, 0)))
        sampled = np.stack([data[s] for s in ra.sampled], axis=1)
        values = self._driving(data[ra.output])
        for i in range(n):
            x = self.learners.to_learner(sampled[i])
            self.learners.tell(int(which[i]), x, float(values[i]), int(data["status"][i]) == Status.OK)
        return n

    def _driving(self, output: np.ndarray) -> np.ndarray:
        """The driving output at the chosen extra index, one float per point."""
        out = np.asarray(output, dtype=float)
        dims = next(o.dims for o in self.ra.kernel.outputs if o.name == self.ra.output)
        return out[(slice(None), *(self.ra.index[d] for d in dims))] if dims else out

    def goal_reached(self) -> bool:
        if self.ra.loss_goal is None:
            return False
        try:
            return self.learners.loss() <= self.ra.loss_goal
        except Exception:  # noqa: BLE001 - a failing loss pass only leaves the goal unmet
            return False


class AdaptiveRunner(StoredLearners, RunLoop):
    """Asks the learners for whole blocks, keeps a bounded window of block tasks in flight,
    tells the learners each finished block (the run's record, progress and report are
    :class:`~.runner.RunLoop`'s, shared with grid runs). The learners are rebuilt from the
    store on construction (:attr:`n_stored` points told), or taken from ``stored`` when the
    caller already rebuilt them. Failure state (``report``'s block errors) is kept apart
    from the learners."""

    def __init__(self, ra: ResolvedAdaptive, client: Client, *, durable: bool = True,
                 max_in_flight: int | None = None, progress: bool | str = False, verbosity: int = 0,
                 lock: StoreLock | None = None, stored: StoredLearners | None = None):
        if stored is not None and stored.ra is ra:
            self.__dict__.update(stored.__dict__)  # the learners already rebuilt from this store
        else:
            StoredLearners.__init__(self, ra)
        self.asked: dict[int, list[tuple[int, Any]]] = {}
        workers = capacity(client)
        # Points in flight are chosen without their results: at most ~10 % of the budget
        # beyond one block per worker. Up to four per worker because each ask costs the
        # client a pass over all the learner's cells (Learner2D: ~0.1 s at 10^4 points), and
        # a larger window means fewer, larger asks: on 2 cores shared with the client, a
        # 10^4-point Learner2D sweep with a fixed window went from 0.76-0.77 to 0.78-0.84 of
        # 2 x the plain loop with four instead of two (the client's CPU 4.2 s -> 3.1 s;
        # bench/adaptive_throughput.py). The window grows to it: see window().
        fixed = max_in_flight or ra.sweep.max_in_flight
        self.window_max = fixed or max(workers, min(4 * workers, ra.npoints // (10 * ra.block_points)))
        self.window_min = fixed or workers
        self.n_told = self.n_stored
        RunLoop.__init__(
            self, client, self.store, ra.spec_hash, n_points=ra.capacity, n_blocks=ra.n_blocks,
            blocks_already_done=int(self.done.sum()), points_already_done=self.n_stored,
            max_in_flight=self.window(), progress=progress, durable=durable, verbosity=verbosity, lock=lock,
        )
        self.goal = False

    def window(self) -> int:
        """Blocks in flight now: ``execution.max_in_flight`` if given; else at most a quarter
        of the points the learners know, between one block per worker and the window above.

        Early in a run the points chosen without their results are otherwise a large share
        of all points: on the MixD crossover line (blocks of 10, 2 workers) 40 points in
        flight from the start left a line error of 2e-2 at 100 and 150 points, 20 in flight
        3e-3 and 6e-4 (bench/adaptive_crossover.py)."""
        return max(self.window_min, min(self.window_max, self.n_told // (4 * self.ra.block_points)))


    def describe(self) -> str:
        ra = self.ra
        return (f"adaptive store {self.store}, spec {ra.spec_hash}, kernel {ra.kernel.name} "
                f"v{ra.kernel.version}, {ra.capacity} points in {ra.n_blocks} blocks of {ra.block_points} "
                f"({self.report.blocks_already_done} already done, {self.n_stored} points told to the learners)")

    def submit(self, count: int) -> list[int]:
        """Submit up to ``count`` blocks: first those an earlier run claimed and never
        finished, with their recorded points; then new ones, asking the learners once for
        all of them (a loss pass costs about the same for one block or several)."""
        if count <= 0 or self.goal_reached():
            return []
        ids = []
        while len(ids) < count and self.reclaim:
            block_id, points = self.reclaim.popleft()
            ids.append(self._submit_points(block_id, self._pending_from(points), points))
        count = min(count - len(ids), len(self.free))
        if count <= 0:
            return ids
        B = self.ra.block_points
        asked = self.learners.ask(count * B)
        for k in range(count):
            block_id = self.free.popleft()
            block = asked[k * B:(k + 1) * B]
            points = self._points_of(block)
            write_claim(self.store, block_id, points)  # before submission: the slot's points are now fixed
            ids.append(self._submit_points(block_id, block, points))
        return ids

    def refill(self) -> None:
        # Refilled in batches of half the window: one ask for several blocks halves the
        # client's loss passes, and the other half keeps every worker busy meanwhile.
        self.max_in_flight = self.window()
        room = self.max_in_flight - len(self.pending)
        if room >= max(1, self.max_in_flight // 2) or not self.pending:
            self.submit(room)

    def _points_of(self, asked: list[tuple[int, Any]]) -> dict[str, list[float]]:
        """The parameters of learner-space points, by name (learner-grid axes first)."""
        ra = self.ra
        params = np.array([self.learners.to_parameters(x) for _, x in asked]).reshape(len(asked), -1)
        points: dict[str, list[float]] = {}
        shape = tuple(len(v) for v in self.grid_values)
        where = np.unravel_index([i for i, _ in asked], shape) if shape else ()
        for k, axis in enumerate(ra.grid_axes):
            points[axis.name] = np.asarray(self.grid_values[k])[where[k]].astype(float).tolist()
        for k, name in enumerate(ra.sampled):
            points[name] = params[:, k].tolist()
        return points

    def _pending_from(self, points: dict[str, list[float]]) -> list[tuple[int, Any]]:
        """A claimed block's points in learner space, marked pending in their learners."""
        ra = self.ra
        n = len(points[ra.sampled[0]])
        grid_names = [a.name for a in ra.grid_axes]
        which = self._learner_index(np.stack([np.asarray(points[g]) for g in grid_names], axis=1)
                                    if grid_names else np.zeros((n, 0)))
        sampled = np.stack([np.asarray(points[name], dtype=float) for name in ra.sampled], axis=1)
        asked = [(int(which[i]), self.learners.to_learner(sampled[i])) for i in range(n)]
        for learner, x in asked:
            self.learners.tell_pending(learner, x)
        return asked

    def _submit_points(self, block_id: int, asked: list[tuple[int, Any]], points: dict[str, list[float]]) -> int:
        ra = self.ra
        ledger.append_run_log(self.store, self.run_id, [block_id])  # before submission, as for grids
        future = self.client.submit(
            compute_points_block, str(self.store), block_id, ra.spec_hash, self.run_id, points, self.durable,
            key=f"pairsweep_points-{self.run_id}-{block_id}", retries=1, pure=False,
        )
        # A block whose task fails keeps its points pending in the learners (never asked
        # again) and its claim: the next run resubmits it with the same points.
        self.asked[block_id] = asked
        self.track(future, block_id)
        return block_id

    def absorb(self, block_id: int, summary: dict[str, Any]) -> dict[str, Any]:
        """Tell the learners a finished block's values."""
        asked = self.asked.pop(block_id)
        self.done[block_id] = True
        self.n_told += len(asked)
        values = self._driving(np.asarray(summary.pop("values")))
        status = summary.pop("status")
        for (learner, x), value, st in zip(asked, values, status, strict=True):
            self.learners.tell(learner, x, float(value), st == Status.OK)
        return summary

    def finish(self, *, interrupted: bool) -> int | None:
        # Learner code here must never hide why the run ended, nor keep the run from being
        # recorded: a failing loss pass only leaves the goal unmet and the loss unrecorded.
        try:
            if self.ended_normally:
                self.goal = self.goal_reached()
                if self.goal:
                    # the budget's remaining blocks are not needed: count them as done for `complete`
                    self.report.blocks_already_done = self.ra.n_blocks - self.report.blocks_computed
            self.run_info.update(loss=_finite(self.learners.loss()))
        except Exception:  # noqa: BLE001 - see above
            pass
        return super().finish(interrupted=interrupted)

    def closing_note(self) -> str:
        return f"\n  loss goal {self.ra.loss_goal:g} reached" if self.goal else ""


def _finite(x: float) -> float | None:
    return x if np.isfinite(x) else None  # JSON attributes hold no infinity


def _prepare_locked(sweep: AdaptiveSweep) -> ResolvedAdaptive:
    ra, exists = check_adaptive_store(sweep)  # again under the lock: another run may have created it
    if not exists:
        ra.store.parent.mkdir(parents=True, exist_ok=True)
        _create(ra)
    return ra


def prepare_adaptive_store(sweep: AdaptiveSweep) -> ResolvedAdaptive:
    """Validate ``sweep`` and create its store, or check an existing one matches it (the
    adaptive :func:`pairsweep.sweeps.engine.prepare_store`); holds the lock meanwhile."""
    ra, _ = check_adaptive_store(sweep)
    with _lock(ra.store, "prepare"):
        return _prepare_locked(sweep)


def run_adaptive(sweep: AdaptiveSweep, *, client: Client | None = None, progress: bool | str = True,
                 durable: bool = True, verbosity: int = 0) -> SweepReport:
    """Run (or resume) an adaptive sweep; the counterpart of
    :func:`pairsweep.sweeps.engine.run_sweep`, which dispatches here for an
    :class:`AdaptiveSweep`. ``report.complete`` is true when the budget is spent or the
    loss goal reached."""
    ra, _ = check_adaptive_store(sweep)
    try:
        validate_cluster(sweep.cluster.kind, sweep.cluster.options)
    except ClusterError as exc:
        raise SpecError(str(exc)) from None
    lock = _lock(ra.store)
    try:
        ra = _prepare_locked(sweep)
        done = ledger.done_blocks(ra.store, ra.n_blocks)
        stored = None
        if client is None and not done.all() and ra.loss_goal is not None and done.any():
            stored = StoredLearners(ra)  # handed to the runner: the store is read once
        if client is None and (done.all() or (stored is not None and stored.goal_reached())):
            # nothing left to do: no cluster is started (on SLURM/PBS that would queue jobs)
            return SweepReport(store=ra.store.resolve(), spec_hash=ra.spec_hash, n_points=ra.capacity,
                               n_blocks=ra.n_blocks, blocks_already_done=ra.n_blocks)
        if client is None:
            with connect(sweep.cluster.kind, sweep.cluster.options) as new_client:
                return AdaptiveRunner(ra, new_client, progress=progress, durable=durable,
                                      verbosity=verbosity, lock=lock, stored=stored).run()
        return AdaptiveRunner(ra, client, progress=progress, durable=durable, verbosity=verbosity,
                              lock=lock).run()
    finally:
        lock.release()
