"""python-adaptive learners for an adaptive sweep, and the three losses a spec can name.

pairsweep writes no triangulation or loss machinery of its own: a sweep's sampled
parameters go to ``adaptive.Learner1D`` (one parameter), ``Learner2D`` (two) or
``LearnerND`` (more), one learner per point of the learner grid, all under one
``BalancingLearner``. What is pairsweep's is the choice of loss through the loss hooks
those learners expose:

* ``curvature``: adaptive's own shape-resolving losses (1-D ``curvature_loss_function``,
  2-D ``default_loss``, N-D ``curvature_loss_function``).
* ``level``: the learner is told ``output - level``; an interval/triangle/simplex whose
  values change sign is refined by its size, any other at :data:`EXPLORATION` of that
  (plus, in 1-D, of adaptive's default loss), so the level line is followed closely and
  the rest is still covered coarsely (a line cannot hide in a large cell for long). In 2-D a
  chosen triangle whose box edge the level crosses gets its point on that edge, at the
  secant root (:class:`_LevelLearner2D`): the line's ends are located as its course is.
* ``maximum``: a triangle/interval/simplex's size weighted by ``exp(-(top - its max)/(w·range))``
  with ``w`` = :data:`MAXIMUM_WIDTH`, plus :data:`EXPLORATION` of its size: points gather
  where the output is within a few per cent of its current maximum. Besides, up to one
  point in :data:`PEAK_SHARE` goes to the peak that a quadratic through the best sample
  puts between the samples (:func:`~.peak.fit_peak`, the locator of
  :func:`~.analysis.maximum`), when it is new.

Sampled parameters listed in ``log`` are learnt in log10 space.

Points that are not ok (failed, not converged, or a NaN value) do not poison a learner:
each is told the value of the **nearest ok point of the same learner** (in the learner's
unit-scaled coordinates) as soon as one exists. It therefore never adds a feature (no jump,
no fake level crossing, no fake maximum), the learner never asks for it again, and its
region is not chased: in 1-D and 2-D every interval or triangle touching a non-ok point
keeps only :data:`EXPLORATION` of its loss, so the failing region and its edge are still
refined, at a fraction of the rate (N-D learners get the stand-in value only). Until a
learner has an ok point, its non-ok points stay pending. Its stored status and
NaN outputs are untouched: only the learner sees the stand-in value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import adaptive
import numpy as np
from adaptive.learner import learner1D, learner2D, learnerND

from .peak import fit_peak

__all__ = ["EXPLORATION", "MAXIMUM_WIDTH", "LearnerSet"]

#: Share of a cell's size kept as loss where the loss has no interest in it.
EXPLORATION = 0.15
#: Width of the band below the maximum that the ``maximum`` loss refines, in units of the
#: output's current range.
MAXIMUM_WIDTH = 0.05
#: The ``maximum`` loss gives at most one of this many of a learner's points to its fitted peak.
PEAK_SHARE = 4
#: A fitted peak is sampled only this far (times the fit's radius) from every known point.
PEAK_NEW = 0.1


def _never(x: Any) -> float:  # learners want a function; pairsweep evaluates blocks itself
    raise RuntimeError("pairsweep evaluates points through its blocks, not through the learner")


# ---- 1-D losses (Learner1D.loss_per_interval: scaled xs and ys of one interval) ----------

@learner1D.uses_nth_neighbors(0)
def _level_loss_1d(xs: Sequence[float], ys: Sequence[float]) -> float:
    dx = xs[1] - xs[0]
    if ys[0] * ys[1] <= 0:
        return dx
    return EXPLORATION * learner1D.default_loss(xs, ys)


def _maximum_loss_1d(state: dict[str, Any]):
    @learner1D.uses_nth_neighbors(0)
    def loss(xs: Sequence[float], ys: Sequence[float]) -> float:
        dx = xs[1] - xs[0]
        learner = state["learner"]
        scale = learner._scale[1] or 1.0  # Learner1D scales values by their range (private)
        top = state["top"] / scale
        weight = math.exp(-max(top - max(ys), 0.0) / MAXIMUM_WIDTH) if math.isfinite(top) else 1.0
        return dx * (weight + EXPLORATION * 0.1)
    return loss


# ---- 2-D losses (Learner2D.loss_per_triangle: an interpolator over the unit square) ------

def _vertex_values(ip) -> np.ndarray:
    return np.asarray(ip.values)[ip.tri.simplices][..., 0]


def _level_loss_2d(ip) -> np.ndarray:
    v = _vertex_values(ip)
    size = np.sqrt(learner2D.areas(ip))
    crossing = (v.min(axis=1) <= 0) & (v.max(axis=1) >= 0)
    return np.where(crossing, size, EXPLORATION * size)


def _maximum_loss_2d(ip) -> np.ndarray:
    v = _vertex_values(ip)
    values = np.asarray(ip.values)[:, 0]
    span = float(np.ptp(values)) or 1.0
    weight = np.exp(-(values.max() - v.max(axis=1)) / (MAXIMUM_WIDTH * span))
    return np.sqrt(learner2D.areas(ip)) * (weight + 0.1 * EXPLORATION)


# ---- N-D losses (LearnerND.loss_per_simplex) ---------------------------------------------

def _size_nd(simplex: np.ndarray) -> float:
    simplex = np.asarray(simplex, dtype=float)
    d = simplex.shape[1]
    volume = abs(np.linalg.det(simplex[1:] - simplex[0])) / math.factorial(d)
    return volume ** (1.0 / d)


def _level_loss_nd(simplex, values, value_scale) -> float:
    v = np.asarray(values, dtype=float).ravel()
    size = _size_nd(simplex)
    return size if v.min() <= 0 <= v.max() else EXPLORATION * size


def _maximum_loss_nd(state: dict[str, Any]):
    def loss(simplex, values, value_scale) -> float:
        # LearnerND hands over values times value_scale (1 / the output's range)
        v = np.asarray(values, dtype=float).ravel()
        top = state["top"] * value_scale
        weight = math.exp(-max(top - float(v.max()), 0.0) / MAXIMUM_WIDTH) if math.isfinite(top) else 1.0
        return _size_nd(simplex) * (weight + 0.1 * EXPLORATION)
    return loss


def _discount_failed_1d(inner, failed: set):
    n = getattr(inner, "nth_neighbors", 0)

    @learner1D.uses_nth_neighbors(n)
    def loss(xs, ys) -> float:
        base = inner(xs, ys)
        return EXPLORATION * base if (xs[n] in failed or xs[n + 1] in failed) else base
    return loss


def _discount_failed_2d(inner, failed: set):
    def loss(ip) -> np.ndarray:
        losses = inner(ip)
        if failed:
            flags = np.fromiter((tuple(p) in failed for p in ip.tri.points), dtype=bool, count=len(ip.tri.points))
            losses = np.where(flags[ip.tri.simplices].any(axis=1), EXPLORATION * losses, losses)
        return losses
    return loss


def _linear_in_triangle(corners: np.ndarray, values: np.ndarray, point: np.ndarray) -> np.ndarray:
    """The linear interpolant of ``values`` at the three ``corners`` (3, 2), at ``point``."""
    (ax, ay), (bx, by) = corners[1] - corners[0], corners[2] - corners[0]
    px, py = point - corners[0]
    det = ax * by - ay * bx
    if abs(det) <= 1e-300:  # a flat triangle (not seen in practice): no plane through it
        return values.mean(axis=0)
    u, v = (px * by - py * bx) / det, (ax * py - ay * px) / det
    return values[0] + u * (values[1] - values[0]) + v * (values[2] - values[0])


class _Learner2D(adaptive.Learner2D):
    """Learner2D that keeps, for each point it chooses, the value its triangle interpolates
    there, and uses it while the point is pending.

    adaptive's Learner2D interpolates every pending point anew on each ask, through a
    ``LinearNDInterpolator`` of the data. A point it chose at the midpoint of a long edge
    lies on an edge of that triangulation, where scipy's simplex search can fall back to a
    scan of every triangle. Asked as the engine asks (blocks of 100, up to 8 in flight),
    10^4 points cost adaptive's Learner2D 8.5-110 s of CPU in its asks (two runs), almost all
    of it there, and this one 1.7-1.9 s (``bench/adaptive_learner_cpu.py``): enough to make the
    client, not the workers, the bottleneck of a large sweep. The value kept is the same
    linear interpolation, over the triangulation of the moment the point was chosen.
    Pending points it did not choose (a claimed block's points on resume) are interpolated
    as adaptive does.

    ``_fill_stack`` is Learner2D's own (adaptive 1.5), with the choice of point in
    :meth:`_choose` and the value kept.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._guess: dict[tuple[float, float], np.ndarray] = {}

    def guess(self, point: tuple[float, float], value: float) -> None:
        """The value to assume at ``point`` while it is pending."""
        self._guess[tuple(point)] = np.full(self.vdim, value, dtype=float)

    def tell(self, point: tuple[float, float], value: Any) -> None:
        super().tell(point, value)
        self._guess.pop(tuple(point), None)

    def ask_fresh(self, n: int) -> list[tuple[float, float]]:
        """``n`` points from one loss pass over the present data, marked pending.

        Learner2D keeps the points a pass chose beyond those asked for and hands them out
        first next time, with the losses (and here the kept values) of then; for whole
        blocks a fresh pass is due anyway. The box's corners (loss inf) stay first."""
        self._stack = type(self._stack)((p, v) for p, v in self._stack.items() if v == np.inf)
        self._guess = {p: v for p, v in self._guess.items() if p in self.pending_points}
        self.stack_size = n
        return self.ask(n)[0]

    def _choose(self, ip: Any, simplex: np.ndarray) -> np.ndarray:
        return learner2D.choose_point_in_triangle(ip.tri.points[simplex], max_badness=5)

    def _data_interp(self) -> tuple[Any, np.ndarray]:
        if not self.pending_points:
            return super()._data_interp()
        points = list(self.pending_points)
        values = np.zeros((len(points), self.vdim))
        missing = []
        for i, p in enumerate(points):
            kept = self._guess.get(p)
            if kept is None:
                missing.append(i)
            else:
                values[i] = kept
        if missing and self.bounds_are_done:
            ip = self.interpolator(scaled=True)
            values[missing] = np.asarray(ip(self._scale([points[i] for i in missing]))).reshape(len(missing), -1)
        return points, values

    def _fill_stack(self, stack_till: int = 1) -> tuple[list[tuple[float, float]], list[float]]:
        if len(self.data) + len(self.pending_points) < self.ndim + 1:
            raise ValueError("too few points...")
        ip = self._interpolator_combined()
        losses = self.loss_per_triangle(ip)
        all_values = np.asarray(ip.values).reshape(len(ip.tri.points), -1)
        points_new, losses_new = [], []
        for _ in range(len(losses)):
            jsimplex = int(np.argmax(losses))
            simplex = ip.tri.simplices[jsimplex]
            chosen = self._choose(ip, simplex)
            point_new = tuple(self._unscale(chosen))
            # clipped into the box, and a point on (or an ulp off) an edge put exactly on it
            point_new = tuple(
                lo if c - lo <= self.EDGE_TOLERANCE * (hi - lo) else hi if hi - c <= self.EDGE_TOLERANCE * (hi - lo) else c
                for c, (lo, hi) in zip(point_new, self.bounds, strict=True)
            )
            if self.bounds_are_done:
                # before the corners' results the triangulation's values are Learner2D's zeros:
                # such a point is interpolated from the data once they are known, as adaptive does
                self._guess[point_new] = _linear_in_triangle(ip.tri.points[simplex], all_values[simplex], chosen)
            points_new.append(point_new)
            losses_new.append(losses[jsimplex])
            self._stack[point_new] = losses[jsimplex]
            if len(self._stack) >= stack_till:
                break
            losses[jsimplex] = -np.inf
        return points_new, losses_new

    #: How far inside the scaled box [-0.5, 0.5]^2 a point still lies on its edge: Learner2D's
    #: unscaling leaves points meant for an edge an ulp inside it for many bounds.
    EDGE_TOLERANCE = 1e-12


class _LevelLearner2D(_Learner2D):
    """Learner2D for the ``level`` loss: a chosen triangle with a box edge across which the
    value changes sign gets its new point on that edge, at the secant root (kept within
    the edge's middle 80 %), instead of adaptive's centroid or longest-edge midpoint.

    Where the level line meets the box, only points on the box's edge locate its end:
    Learner2D puts a point on an edge only when it splits a long one, so the line's ends
    were its worst part (bench/adaptive_crossover.py: at t_par = 0.05).
    """

    def _on_box_edge(self, pa: np.ndarray, pb: np.ndarray) -> bool:
        edge = 0.5 - self.EDGE_TOLERANCE
        return any(abs(pa[k]) >= edge and abs(pb[k]) >= edge and np.sign(pa[k]) == np.sign(pb[k]) for k in (0, 1))

    def _choose(self, ip: Any, simplex: np.ndarray) -> np.ndarray:
        triangle = ip.tri.points[simplex]
        values = np.asarray(ip.values)[simplex][:, 0]
        for a, b in ((0, 1), (1, 2), (2, 0)):
            pa, pb = triangle[a], triangle[b]
            on_box_edge = self._on_box_edge(pa, pb)
            if on_box_edge and values[a] * values[b] < 0:
                w = float(np.clip(values[a] / (values[a] - values[b]), 0.1, 0.9))
                return pa + w * (pb - pa)
        return super()._choose(ip, simplex)


def _make_learner(n_dim: int, bounds: list[tuple[float, float]], loss: str) -> tuple[Any, dict[str, Any]]:
    # "failed": the learner's own scaled coordinates of its non-ok points; cells touching
    # one keep only the exploration share of their loss (1-D and 2-D)
    state: dict[str, Any] = {"top": -math.inf, "failed": set()}
    if n_dim == 1:
        chosen = {"curvature": learner1D.curvature_loss_function(), "level": _level_loss_1d,
                  "maximum": None}[loss]
        if loss == "maximum":
            chosen = _maximum_loss_1d(state)
        learner = adaptive.Learner1D(_never, bounds=bounds[0],
                                     loss_per_interval=_discount_failed_1d(chosen, state["failed"]))
    elif n_dim == 2:
        chosen = {"curvature": learner2D.default_loss, "level": _level_loss_2d, "maximum": _maximum_loss_2d}[loss]
        kind = _LevelLearner2D if loss == "level" else _Learner2D
        learner = kind(_never, bounds=bounds, loss_per_triangle=_discount_failed_2d(chosen, state["failed"]))
    else:
        chosen = {"curvature": learnerND.curvature_loss_function(), "level": _level_loss_nd,
                  "maximum": _maximum_loss_nd(state)}[loss]
        learner = adaptive.LearnerND(_never, bounds=bounds, loss_per_simplex=chosen)
    state["learner"] = learner
    return learner, state


class LearnerSet:
    """One learner per learner-grid point under a ``BalancingLearner``, in learner space
    (log10 for log parameters), with the stand-in rule for points that are not ok.

    ``bounds`` are the sampled parameters' ``(low, high)`` in parameter units; ``log`` flags
    which are learnt in log10 space; ``level`` is subtracted from every value told.
    """

    def __init__(self, n_learners: int, bounds: Sequence[tuple[float, float]], log: Sequence[bool],
                 loss: str, level: float | None = None):
        self.n_dim = len(bounds)
        self.log = np.asarray(log, dtype=bool)
        lo = np.array([b[0] for b in bounds], dtype=float)
        hi = np.array([b[1] for b in bounds], dtype=float)
        self.lo = np.where(self.log, np.log10(np.where(self.log, lo, 1.0)), lo)
        self.hi = np.where(self.log, np.log10(np.where(self.log, hi, 1.0)), hi)
        # the bounds in parameter units, given back exactly at the box's faces: 10**log10(hi)
        # can miss hi by an ulp, and a rebuilt learner would then ask the corner again
        self.param_lo, self.param_hi = lo, hi
        self.level = level or 0.0
        self._maximum_nd = loss == "maximum" and len(bounds) >= 3
        # the maximum loss also samples the peak that a quadratic fit puts between the samples
        self._sample_peak = loss == "maximum"
        self._asked = [0] * n_learners
        self._peaks = [0] * n_learners
        # LearnerND triangulates in the coordinates it is given: a box that is 10^5 times
        # thinner along one parameter breaks its Delaunay checks, so it learns the unit cube
        self.unit_cube = self.n_dim >= 3
        box = ([(0.0, 1.0)] * self.n_dim if self.unit_cube
               else list(zip(self.lo.tolist(), self.hi.tolist(), strict=True)))
        made = [_make_learner(self.n_dim, box, loss) for _ in range(n_learners)]
        self.learners = [m[0] for m in made]
        self._states = [m[1] for m in made]
        self.balancer = adaptive.BalancingLearner(self.learners)
        # per learner: unit-scaled coordinates and values of ok points, and non-ok points
        # still waiting for an ok neighbour
        self._ok_x: list[list[np.ndarray]] = [[] for _ in range(n_learners)]
        self._ok_y: list[list[float]] = [[] for _ in range(n_learners)]
        self._waiting: list[list[Any]] = [[] for _ in range(n_learners)]
        self.n_told = 0

    # learner space <-> parameters
    def to_parameters(self, x: Any) -> np.ndarray:
        u = np.atleast_1d(np.asarray(x, dtype=float))
        if self.unit_cube:
            at_lo, at_hi = u == 0.0, u == 1.0
            u = self.lo + u * (self.hi - self.lo)
        else:
            at_lo, at_hi = u == self.lo, u == self.hi
        params = np.where(self.log, 10.0 ** u, u)
        return np.where(at_lo, self.param_lo, np.where(at_hi, self.param_hi, params))

    def to_learner(self, params: np.ndarray) -> Any:
        params = np.asarray(params, dtype=float)
        u = np.where(self.log, np.log10(np.where(self.log, params, 1.0)), params)
        # a face of the box maps to the learner's bound exactly (see to_parameters)
        u = np.where(params == self.param_lo, self.lo, np.where(params == self.param_hi, self.hi, u))
        u = np.clip(u, self.lo, self.hi)  # 10**log10(x) round trips can leave the box by an ulp
        if self.unit_cube:
            u = (u - self.lo) / (self.hi - self.lo)
        return float(u[0]) if self.n_dim == 1 else tuple(float(c) for c in u)

    def _unit(self, x: Any) -> np.ndarray:
        u = np.atleast_1d(np.asarray(x, dtype=float))
        return u if self.unit_cube else (u - self.lo) / (self.hi - self.lo)

    def ask(self, n: int) -> list[tuple[int, Any]]:
        """``n`` new points as ``(learner index, point in learner space)``, marked pending.

        With the ``maximum`` loss, a learner whose samples have a fitted peak
        (:func:`~.peak.fit_peak`, as :func:`~.analysis.maximum` locates it) away from every
        point it knows gets that peak as one of its points, at most one in
        :data:`PEAK_SHARE` of them, before the learner chooses the rest: the triangles
        around a sharp maximum refine only as fast as their size shrinks, while the fitted
        peak can lie much closer to the true one."""
        asked = self._peak_points(n) if self._sample_peak else []
        rest = n - len(asked)
        if rest > 0:
            if len(self.learners) == 1:
                # BalancingLearner asks its learners one point at a time (a loss pass each
                # time the learner's stack runs dry); one learner asked for n at once costs
                # one pass
                if self.n_dim == 2:
                    points = self.learners[0].ask_fresh(rest)
                else:
                    points, _ = self.learners[0].ask(rest)
                asked += [(0, p) for p in points]
            else:
                points, _ = self.balancer.ask(rest)
                asked += list(points)
        for learner, _ in asked:
            self._asked[learner] += 1
        return asked

    def _peak_points(self, n: int) -> list[tuple[int, Any]]:
        found = []
        for learner in range(len(self.learners)):
            # with this peak, at most one in PEAK_SHARE of the learner's points so far
            if len(found) >= n or (self._peaks[learner] + 1) * PEAK_SHARE > self._asked[learner] + 1:
                continue
            peak = fit_peak(np.asarray(self._ok_x[learner]), np.asarray(self._ok_y[learner])) \
                if self._ok_y[learner] else "no ok point"
            if isinstance(peak, str):
                continue
            # a peak less than a tenth of the fit's radius from a point the learner knows (told,
            # failed or pending) adds nothing: the learner's own choice does more
            if np.min(np.linalg.norm(self._known_unit(learner) - peak.x, axis=1)) < PEAK_NEW * peak.radius:
                continue
            x = self._from_unit(peak.x)
            if isinstance(self.learners[learner], _Learner2D):
                self.learners[learner].guess(x, peak.value)
            self.tell_pending(learner, x)
            self._peaks[learner] += 1
            found.append((learner, x))
        return found

    def _known_unit(self, learner: int) -> np.ndarray:
        """Every point the learner was told or holds pending, in unit coordinates (n, d)."""
        lrn = self.learners[learner]
        known = np.asarray([*lrn.pending_points, *lrn.data], dtype=float).reshape(-1, self.n_dim)
        return known if self.unit_cube else (known - self.lo) / (self.hi - self.lo)

    def _from_unit(self, u: np.ndarray) -> Any:
        """Unit coordinates to learner space (the inverse of :meth:`_unit`)."""
        x = u if self.unit_cube else self.lo + u * (self.hi - self.lo)
        x = np.clip(x, 0.0 if self.unit_cube else self.lo, 1.0 if self.unit_cube else self.hi)
        return float(x[0]) if self.n_dim == 1 else tuple(float(c) for c in x)

    def tell_pending(self, learner: int, x: Any) -> None:
        """Mark ``x`` as being computed (chosen by an earlier run): never asked again."""
        if len(self.learners) == 1:
            self.learners[0].tell_pending(x)
        else:
            self.balancer.tell_pending((learner, x))

    def tell(self, learner: int, x: Any, value: float, ok: bool) -> None:
        """Tell one result; ``ok`` false (or a non-finite value) applies the stand-in rule."""
        if ok and math.isfinite(value):
            y = float(value) - self.level
            state = self._states[learner]
            rose = y - state.get("top_scored", -math.inf)
            state["top"] = max(state["top"], y)  # before the tell: its new cells are scored against it
            state["low"] = min(state.get("low", math.inf), y)
            self._tell(learner, x, y)
            self._ok_x[learner].append(self._unit(x))
            self._ok_y[learner].append(y)
            if self._maximum_nd and rose > MAXIMUM_WIDTH * (state["top"] - state["low"]):
                # LearnerND keeps each simplex's loss until the output's range grows by 10 %:
                # cells scored against a lower top would keep too high a weight
                self.learners[learner]._recompute_all_losses()
                state["top_scored"] = state["top"]
            waiting, self._waiting[learner] = self._waiting[learner], []
            for w in waiting:
                self._tell_stand_in(learner, w)
        elif self._mark_failed(learner, x) and self._ok_y[learner]:
            self._tell_stand_in(learner, x)
        else:
            self._waiting[learner].append(x)  # stays pending in the learner meanwhile
            if len(self.learners) == 1:
                self.learners[0].tell_pending(x)
            else:
                self.balancer.tell_pending((learner, x))
        self.n_told += 1

    def _mark_failed(self, learner: int, x: Any) -> bool:
        """Record a non-ok point in the learner's scaled coordinates (before it is told, so
        the losses of its cells are computed with it marked)."""
        lrn = self.learners[learner]
        if self.n_dim == 1:
            self._states[learner]["failed"].add(x / lrn._scale[0])  # Learner1D's own scaling
        elif self.n_dim == 2:
            self._states[learner]["failed"].add(tuple(lrn._scale(np.array([x], dtype=float))[0]))
        return True

    def _tell_stand_in(self, learner: int, x: Any) -> None:
        xs = np.asarray(self._ok_x[learner])
        nearest = int(np.argmin(((xs - self._unit(x)) ** 2).sum(axis=1)))
        self._tell(learner, x, self._ok_y[learner][nearest])

    def _tell(self, learner: int, x: Any, y: float) -> None:
        # through the BalancingLearner when there is one: it caches each learner's loss and
        # forgets it only on its own tell
        if len(self.learners) == 1:
            self.learners[0].tell(x, y)
        else:
            self.balancer.tell((learner, x), y)

    def loss(self) -> float:
        return float(max(learner.loss() for learner in self.learners))
