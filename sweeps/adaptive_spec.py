"""The ``[adaptive]`` table of a spec: which parameters a learner samples, what drives it,
and when it stops. Validated, like every other section, before anything is submitted.

```toml
kernel = "multigap_lifshitz"
store = "results/dome_adaptive.zarr"

[adaptive]
output = "Tc_K"                       # the output that drives the sampling
index = { band = 0 }                  # needed when the output has extra dimensions
loss = "maximum"                      # curvature | level | maximum
bounds = { eta = [-0.5, 2.0], g = [0.2, 0.49] }   # sampled parameters (1-D, 2-D or N-D)
log = []                              # sampled in log10 space (positive bounds only)
npoints = 300                         # point budget (rounded up to whole blocks)
loss_goal = 0.01                      # optional: stop earlier when the loss is this small
block_points = 8                      # points per block (one Dask task)

[axes]                                # optional: a grid of independent learners
doping = { values = [0.2, 0.3] }
```

A sampled parameter is neither an axis nor fixed; every other kernel parameter takes
``[fixed]`` or its default, as for grid sweeps. Errors name the field
(``adaptive.bounds.eta: ...``) and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from pairsweep.kernels import Kernel

from .errors import SpecError
from .spec import Axis, ResolvedSweep, Sweep, resolve
from .values import axis_entry, describe_type

__all__ = [
    "LOSSES",
    "Adaptive",
    "AdaptiveSweep",
    "ResolvedAdaptive",
    "adaptive_from_dict",
    "resolve_adaptive",
]

#: The losses a spec may name: resolve the function's shape everywhere, concentrate on the
#: level set ``output = level``, or concentrate near the output's maximum.
LOSSES = ("curvature", "level", "maximum")
_KEYS = {"output", "index", "loss", "level", "bounds", "log", "npoints", "loss_goal", "block_points"}
#: Automatic blocks aim at this much kernel time: long enough that the ~20 ms a block costs
#: (writes, fsyncs, ledger) is small, short enough that the learner gets results back often.
TARGET_BLOCK_SECONDS = 1.0
MAX_BLOCK_POINTS = 1024
#: Budget ceiling: points are preallocated along ``point`` (see :mod:`pairsweep.storage.points`).
MAX_POINTS = 10**7


@dataclass(frozen=True)
class Adaptive:
    """The ``[adaptive]`` table (see the module docstring); built from TOML or by hand."""

    output: str
    bounds: Mapping[str, Sequence[float]]
    npoints: int
    loss: str = "curvature"
    level: float | None = None
    index: Mapping[str, Any] = field(default_factory=dict)
    log: Sequence[str] = ()
    loss_goal: float | None = None
    block_points: int | None = None


@dataclass(frozen=True)
class AdaptiveSweep(Sweep):
    """A sweep whose sampled parameters are chosen by python-adaptive learners.

    ``axes`` (may be empty) form a grid of independent learners; ``adaptive`` is an
    :class:`Adaptive` or the ``[adaptive]`` table as a mapping.
    """

    axes: Sequence[Axis] | Mapping[str, Sequence[Any]] = field(default_factory=dict)
    adaptive: Adaptive | Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ResolvedAdaptive:
    """A validated adaptive sweep. ``shape``/``chunks`` describe the ``point`` dimension
    (capacity and block size), so status, verify and dry runs read it like a grid."""

    sweep: AdaptiveSweep
    kernel: Kernel
    grid: ResolvedSweep  # the learner-grid axes and fixed values, resolved as a grid sweep
    output: str
    index: dict[str, int]  # extra dimension -> position
    index_values: dict[str, Any]
    loss: str
    level: float | None
    bounds: dict[str, tuple[float, float]]
    log: tuple[str, ...]
    npoints: int
    loss_goal: float | None
    block_points: int
    stored_hash: str | None = None

    @property
    def store(self) -> Path:
        return Path(self.sweep.store)

    @property
    def sampled(self) -> tuple[str, ...]:
        return tuple(self.bounds)

    @property
    def grid_axes(self) -> tuple[Axis, ...]:
        return self.grid.axes[: len(self.grid.axes) - len(self.bounds)]

    @property
    def n_learners(self) -> int:
        return math.prod(len(a) for a in self.grid_axes)

    @property
    def n_blocks(self) -> int:
        return math.ceil(self.npoints / self.block_points)

    @property
    def capacity(self) -> int:
        """Points preallocated: the budget rounded up to whole blocks."""
        return self.n_blocks * self.block_points

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.capacity,)

    @property
    def chunks(self) -> tuple[int, ...]:
        return (self.block_points,)

    @property
    def n_points(self) -> int:
        return self.capacity

    @property
    def fixed(self) -> dict[str, Any]:
        return {k: v for k, v in self.grid.fixed.items()}

    @property
    def extra_coords(self) -> dict[str, np.ndarray]:
        return self.grid.extra_coords

    def canonical(self) -> dict[str, Any]:
        """What determines the stored numbers. ``axes``/``chunks`` describe ``point`` so that
        tools written for grids (status, verify, failures) read an adaptive store too."""
        return {
            "kernel": self.kernel.name,
            "kernel_version": self.kernel.version,
            "axes": {"point": axis_entry(tuple(range(self.capacity)))},
            "fixed": dict(sorted(self.grid.fixed.items())),
            "chunks": {"point": self.block_points},
            "adaptive": {
                "output": self.output,
                "index": dict(self.index_values),
                "loss": self.loss,
                "level": self.level,
                "bounds": {k: list(v) for k, v in self.bounds.items()},
                "log": list(self.log),
                "npoints": self.npoints,
                "loss_goal": self.loss_goal,
                "block_points": self.block_points,
                "learner_axes": {a.name: list(a.values) for a in self.grid_axes},
            },
        }

    @property
    def spec_hash(self) -> str:
        if self.stored_hash is not None:
            return self.stored_hash
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def adaptive_from_dict(doc: Mapping[str, Any]) -> AdaptiveSweep:
    """An :class:`AdaptiveSweep` from a parsed TOML document holding ``[adaptive]``."""
    from .spec import spec_from_dict

    table = doc["adaptive"]
    if not isinstance(table, Mapping):
        raise SpecError(f"adaptive: expected a table such as [adaptive] output = \"Tc\", got {describe_type(table)}")
    rest = {k: v for k, v in doc.items() if k != "adaptive"}
    axes = rest.get("axes", {})
    if not isinstance(axes, Mapping):
        raise SpecError("axes: expected a table of learner-grid axes (or none)")
    # The grid parser wants at least one axis; parse a placeholder when there are none.
    placeholder = not axes
    if placeholder:
        rest["axes"] = {"_": {"values": [0.0]}}
    sweep = spec_from_dict(rest)
    return AdaptiveSweep(
        kernel=sweep.kernel, store=sweep.store, axes=[] if placeholder else sweep.axes, fixed=sweep.fixed,
        chunks=sweep.chunks, cluster=sweep.cluster, max_in_flight=sweep.max_in_flight, adaptive=dict(table),
    )


def _table(sweep: AdaptiveSweep) -> Adaptive:
    a = sweep.adaptive
    if isinstance(a, Adaptive):
        return a
    if not isinstance(a, Mapping):
        raise SpecError(f"adaptive: expected an Adaptive or a table, got {describe_type(a)}")
    unknown = set(a) - _KEYS
    if unknown:
        raise SpecError(f"adaptive.{sorted(unknown)[0]}: unknown key; allowed: {', '.join(sorted(_KEYS))}")
    for key in ("output", "bounds", "npoints"):
        if key not in a:
            raise SpecError(f"adaptive.{key}: missing (required)")
    return Adaptive(**{k: v for k, v in a.items()})


def _number(value: Any, where: str) -> float:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"{where}: expected a finite number, got {describe_type(value)}")
    return float(value)


def _count(value: Any, where: str, upper: int) -> int:
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper:
        raise SpecError(f"{where}: expected an integer in [1, {upper}], got {describe_type(value)}")
    return value


def resolve_adaptive(sweep: AdaptiveSweep) -> ResolvedAdaptive:
    """Validate ``sweep``; raises :class:`SpecError` naming the field on any problem."""
    a = _table(sweep)
    if sweep.chunks:
        raise SpecError("execution.chunks: not used by adaptive sweeps; set adaptive.block_points")
    if not isinstance(a.bounds, Mapping) or not a.bounds:
        raise SpecError("adaptive.bounds: expected a table parameter = [low, high] with at least one parameter")
    bounds: dict[str, tuple[float, float]] = {}
    for name, pair in a.bounds.items():
        where = f"adaptive.bounds.{name}"
        if isinstance(pair, np.ndarray):
            pair = pair.tolist()
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise SpecError(f"{where}: expected [low, high], got {describe_type(pair)}")
        lo, hi = _number(pair[0], where), _number(pair[1], where)
        if not lo < hi:
            raise SpecError(f"{where}: low must be below high, got [{lo:g}, {hi:g}]")
        bounds[str(name)] = (lo, hi)
    # Resolve as a grid sweep whose last axes are the sampled bounds: every check a grid spec
    # gets (parameter names, ranges at both ends, types, fixed values, cross-parameter checks
    # at the corners) applies, and its messages are renamed to the adaptive fields.
    grid_axes = sweep.axis_list()
    for ax in grid_axes:
        if ax.name in bounds:
            raise SpecError(f"adaptive.bounds.{ax.name}: {ax.name!r} is also a learner-grid axis; "
                            "a parameter is sampled, gridded or fixed")
    for name in bounds:
        if name in sweep.fixed:
            raise SpecError(f"adaptive.bounds.{name}: {name!r} is also fixed; a parameter is sampled or fixed")
    probe = Sweep(kernel=sweep.kernel, store=sweep.store,
                  axes=[*grid_axes, *(Axis(n, b) for n, b in bounds.items())],
                  fixed=sweep.fixed, cluster=sweep.cluster, max_in_flight=sweep.max_in_flight)
    try:
        grid = resolve(probe)
    except SpecError as exc:
        text = str(exc)
        for name in bounds:
            text = text.replace(f"axes.{name}", f"adaptive.bounds.{name}")
        raise SpecError(text) from None
    kernel = grid.kernel
    params = kernel.parameter_map
    for ax in grid.axes[: len(grid.axes) - len(bounds)]:
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in ax.values):
            raise SpecError(f"axes.{ax.name}: learner-grid axes of an adaptive sweep must be numeric "
                            "(they are stored as float64 coordinates along point)")
    for name in bounds:
        if params[name].choices is not None or params[name].integer:
            raise SpecError(f"adaptive.bounds.{name}: only real-valued parameters can be sampled "
                            f"({name} is {params[name].allowed()})")

    outputs = {o.name: o for o in kernel.outputs}
    if not isinstance(a.output, str) or a.output not in outputs:
        raise SpecError(f"adaptive.output: kernel {kernel.name!r} has no output {a.output!r}; "
                        f"outputs: {', '.join(outputs)}")
    out = outputs[a.output]
    if np.dtype(out.dtype).kind not in "fiu":
        raise SpecError(f"adaptive.output: {a.output} is {out.dtype}; a learner needs a numeric output")
    if not isinstance(a.index, Mapping):
        raise SpecError(f"adaptive.index: expected a table dimension = value, got {describe_type(a.index)}")
    index: dict[str, int] = {}
    index_values: dict[str, Any] = {}
    for dim in a.index:
        if dim not in out.dims:
            raise SpecError(f"adaptive.index.{dim}: {a.output} has no dimension {dim!r}; "
                            f"its dimensions: {', '.join(out.dims) or 'none'}")
    for dim in out.dims:
        values = list(np.asarray(grid.extra_coords[dim]).tolist())
        if dim not in a.index:
            raise SpecError(f"adaptive.index.{dim}: {a.output} has the extra dimension {dim!r}; "
                            f"choose one of {values[:8]}")
        want = a.index[dim]
        if isinstance(want, np.generic):
            want = want.item()
        matches = [i for i, v in enumerate(values) if v == want and type(want) is not bool]
        if not matches:
            raise SpecError(f"adaptive.index.{dim}: {want!r} is not a value of {dim}; allowed: {values[:8]}")
        index[dim], index_values[dim] = matches[0], values[matches[0]]

    if a.loss not in LOSSES:
        raise SpecError(f"adaptive.loss: {a.loss!r} is not a loss; allowed: {', '.join(LOSSES)}")
    level = None
    if a.loss == "level":
        if a.level is None:
            raise SpecError("adaptive.level: required with loss = \"level\" (the value whose level set is refined)")
        level = _number(a.level, "adaptive.level")
    elif a.level is not None:
        raise SpecError(f"adaptive.level: only used with loss = \"level\", not {a.loss!r}")

    log = a.log
    if isinstance(log, str) or not isinstance(log, Sequence):
        raise SpecError(f"adaptive.log: expected a list of sampled parameters, got {describe_type(log)}")
    for name in log:
        if name not in bounds:
            raise SpecError(f"adaptive.log: {name!r} is not in adaptive.bounds; sampled: {', '.join(bounds)}")
        if bounds[name][0] <= 0:
            raise SpecError(f"adaptive.log: {name} is sampled in log space and needs positive bounds, "
                            f"got [{bounds[name][0]:g}, {bounds[name][1]:g}]")

    npoints = _count(a.npoints, "adaptive.npoints", MAX_POINTS)
    n_learners = math.prod(len(ax) for ax in grid.axes[: len(grid.axes) - len(bounds)])
    minimum = n_learners * (2 if len(bounds) == 1 else 2 ** len(bounds) + 1)
    if npoints < minimum:
        raise SpecError(f"adaptive.npoints: {npoints} points cannot start {n_learners} learner(s) over "
                        f"{len(bounds)} parameter(s); allowed: at least {minimum}")
    loss_goal = None if a.loss_goal is None else _number(a.loss_goal, "adaptive.loss_goal")
    if loss_goal is not None and loss_goal <= 0:
        raise SpecError(f"adaptive.loss_goal: expected a number > 0, got {loss_goal:g}")
    if a.block_points is None:
        # ~1 s of kernel time, and at most 1/32 of the budget: every worker holds at least one
        # block of points chosen without their results, and on a small budget of an expensive
        # kernel those cost the learner most (the multigap dome's maximum, located within
        # 0.5 K from every budget on: a median of 48 points in blocks of 2, 56 in blocks of
        # 4, 72 in blocks of 8, 3 runs each: bench/adaptive_dome.py)
        block = max(1, min(MAX_BLOCK_POINTS, math.ceil(TARGET_BLOCK_SECONDS / max(kernel.seconds_per_point, 1e-6)),
                           npoints // 32))
    else:
        block = _count(a.block_points, "adaptive.block_points", MAX_BLOCK_POINTS)
        if block > npoints:
            raise SpecError(f"adaptive.block_points: {block} points per block is more than the whole budget "
                            f"(npoints = {npoints}); allowed: 1 to {npoints}")
    return ResolvedAdaptive(
        sweep=sweep, kernel=kernel, grid=grid, output=a.output, index=index, index_values=index_values,
        loss=a.loss, level=level, bounds=bounds, log=tuple(log), npoints=npoints, loss_goal=loss_goal,
        block_points=block,
    )


def with_stored_hash(ra: ResolvedAdaptive, spec_hash: str) -> ResolvedAdaptive:
    return replace(ra, stored_hash=spec_hash)
