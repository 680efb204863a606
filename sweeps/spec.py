"""Sweep specifications: what to compute, validated before anything runs.

A :class:`Sweep` names a kernel, a store, the swept axes, the fixed parameters, the block
(chunk) shape and the cluster. It is built from Python or from a TOML file
(:func:`load_spec`) and validated against the kernel's declaration by :func:`resolve`, which
returns a :class:`ResolvedSweep`: every parameter filled, the chunk shape decided, and a
canonical description whose hash identifies the results. Every error names the offending
field (``axes.delta_g``, ``execution.chunks.g_F``, ...) and says what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from pairsweep.kernels import Kernel, KernelInputError, get_kernel

from .cluster_fields import KIND, check_cluster
from .errors import SpecError
from .fields import Field, Instance, Integer, PathText, Section, Table, Text
from .values import MAX_AXIS_VALUES, axis_entry, canonical_axis, canonical_scalar, describe_type

__all__ = [
    "Axis",
    "ClusterSpec",
    "ResolvedSweep",
    "SpecError",
    "Sweep",
    "load_spec",
    "resolve",
]

#: Upper bound on points in one block chosen automatically: 512 KiB per float64 output
#: chunk. Each block pays a fixed ~10-30 ms (chunk writes, four fsyncs, the ledger entry), so
#: microsecond kernels need blocks this large for that cost to stay small.
MAX_AUTO_BLOCK_POINTS = 65536
#: Automatic blocks aim at this many seconds of kernel time: long enough that the
#: scheduler's ~ms per-task overhead is noise, short enough that a kill loses little work.
TARGET_BLOCK_SECONDS = 5.0


#: Most blocks one sweep may have: each done block is one ledger file in one directory, and
#: the client holds one boolean per block (10**9 blocks: a 1 GB mask, a billion files).
MAX_BLOCKS = 10**9


@dataclass(frozen=True, slots=True)
class Axis:
    """One swept parameter: its name and its coordinate values, in order."""

    name: str
    values: tuple[Any, ...]

    @classmethod
    def linspace(cls, name: str, start: float, stop: float, num: int) -> Axis:
        _check_num(name, "linspace", num)
        return cls(name, tuple(np.linspace(start, stop, int(num)).tolist()))

    @classmethod
    def logspace(cls, name: str, start: float, stop: float, num: int) -> Axis:
        """``num`` values from ``start`` to ``stop`` (the values, not their exponents)."""
        _check_num(name, "logspace", num)
        if start <= 0 or stop <= 0:
            raise SpecError(f"axes.{name}: logspace needs positive start and stop, got {start}, {stop}")
        return cls(name, tuple(np.geomspace(start, stop, int(num)).tolist()))

    def __len__(self) -> int:
        return len(self.values)


def _check_num(name: str, form: str, num: Any) -> None:
    # Checked before numpy allocates: a typo'd num of 1e11 would ask for 745 GiB.
    if isinstance(num, np.integer):
        num = int(num)
    if not isinstance(num, int) or isinstance(num, bool) or num < 1:
        raise SpecError(f"axes.{name}.{form}: num must be an integer >= 1, got {num!r}")
    if num > MAX_AXIS_VALUES:
        raise SpecError(
            f"axes.{name}.{form}: num = {num} values; at most {MAX_AXIS_VALUES} per axis (the coordinate "
            "values are held in memory and written as one array); split the sweep into several stores"
        )


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    """Where the sweep runs. ``kind`` is ``local``, ``address``, ``slurm`` or ``pbs``.

    ``options`` are passed to the cluster factory (e.g. ``n_workers`` for a local cluster,
    ``address`` for an existing scheduler, ``queue``/``walltime``/``cores``/``memory`` for
    dask-jobqueue). They never affect results, so they are not part of the spec hash.
    """

    kind: str = "local"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sweep:
    """A parameter sweep, as a user writes it.

    Parameters
    ----------
    kernel
        Registered kernel name (``pairsweep kernels`` lists them).
    store
        Path of the Zarr store the results go to.
    axes
        Swept parameters in dimension order: a sequence of :class:`Axis`, or a mapping
        ``name -> values`` (any 1-D sequence or array).
    fixed
        Parameters held fixed; kernel defaults fill the rest.
    chunks
        Points per block along each axis (``None`` or missing axes: chosen automatically).
    cluster
        Where to run; a local cluster sized to the machine by default.
    max_in_flight
        Blocks submitted to the scheduler at once (``None``: four per worker thread).

    Examples
    --------
    >>> import numpy as np
    >>> from pairsweep.sweeps import Sweep
    >>> sweep = Sweep(
    ...     kernel="spinor_bec_couplings",
    ...     store="couplings.zarr",
    ...     axes={"delta_g": np.geomspace(1e-4, 1e-1, 31), "g_F": [0.5, 1.0, 2.0]},
    ...     fixed={"mass_ratio": 1.0},
    ... )
    """

    kernel: str
    store: str | Path
    axes: Sequence[Axis] | Mapping[str, Sequence[Any]]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    chunks: Mapping[str, int] | None = None
    cluster: ClusterSpec = field(default_factory=ClusterSpec)
    max_in_flight: int | None = None

    def axis_list(self) -> list[Axis]:
        """The axes as given (values not yet checked: :func:`resolve` does that)."""
        if isinstance(self.axes, Mapping):
            return [Axis(name, vals) for name, vals in self.axes.items()]
        if isinstance(self.axes, str | bytes) or not isinstance(self.axes, Sequence):
            raise SpecError(f"axes: expected a mapping name -> values or a list of Axis, got {describe_type(self.axes)}")
        for item in self.axes:
            if not isinstance(item, Axis):
                raise SpecError(f"axes: expected a list of Axis, got an item {item!r}")
        return list(self.axes)


@dataclass(frozen=True)
class ResolvedSweep:
    """A validated sweep: every parameter known, block shape decided, hash computed."""

    sweep: Sweep
    kernel: Kernel
    axes: tuple[Axis, ...]
    fixed: dict[str, Any]
    chunks: tuple[int, ...]
    extra_coords: dict[str, np.ndarray]
    #: When resuming: the hash the store was created with. The store's identity; its tasks
    #: are checked against it (a store written before canonical forms keeps its hash).
    stored_hash: str | None = None

    @property
    def store(self) -> Path:
        return Path(self.sweep.store)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a) for a in self.axes)

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)

    @property
    def n_points(self) -> int:
        return math.prod(self.shape)

    def canonical(self) -> dict[str, Any]:
        """Everything that determines the stored numbers, as plain JSON-able data."""
        return {
            "kernel": self.kernel.name,
            "kernel_version": self.kernel.version,
            # Long axes by size, ends and digest: their values are in the coordinate arrays.
            "axes": {a.name: axis_entry(a.values) for a in self.axes},
            "fixed": dict(sorted(self.fixed.items())),
            "chunks": dict(zip(self.dims, self.chunks, strict=True)),
        }

    @property
    def spec_hash(self) -> str:
        if self.stored_hash is not None:
            return self.stored_hash
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------
# TOML
# ---------------------------------------------------------------------------------------

# Every key a spec takes, with its type (see .fields): a key not declared here is an error.
KERNEL = Field("kernel", Text("a kernel name (a string; `pairsweep kernels` lists them)"), required=True)
STORE = Field("store", PathText(), required=True, doc="the Zarr store, relative to the current directory")
FIXED = Field("fixed", Table(what="a table of parameter = value"), doc="parameters held fixed")
#: The top level of a TOML spec.
SPEC = Section("", [
    KERNEL,
    STORE,
    Field("axes", Table(nonempty=True, what="a table with at least one axis",
                        example="[axes] x = { linspace = [0.0, 1.0, 5] }"), required=True),
    FIXED,
    Field("execution", Table(example="[execution] max_in_flight = 8")),
    Field("cluster", Table(example='[cluster] kind = "local"')),
    # checked in full by sweeps/adaptive_spec.py, which spec_from_dict hands the spec to
    Field("adaptive", Table(example='[adaptive] output = "Tc"')),
])
#: ``[execution]``; from Python, the Sweep's ``chunks`` and ``max_in_flight``.
EXECUTION = Section("execution", [
    Field("chunks", Table(values=Integer(min=1), what="a table of points per block along each axis "
                          "(integers >= 1)", example="chunks = { x = 8 }"), doc="points per block per axis"),
    Field("max_in_flight", Integer(min=1), doc="blocks submitted at once"),
])
#: What a Python caller gives that TOML cannot hold: a ClusterSpec.
_SWEEP = Section("", [
    KERNEL, STORE,
    # a Sweep's defaults are {} and a local ClusterSpec, so None is a caller's mistake here
    # (in TOML an absent table is simply absent)
    Field("fixed", FIXED.type, required=True, doc=FIXED.doc),
    Field("cluster", Instance(ClusterSpec, "ClusterSpec('local', {'n_workers': 2})"), required=True),
])
_AXIS_FORMS = ("values", "linspace", "logspace")


def _axis_from_toml(name: str, entry: Any) -> Axis:
    where = f"axes.{name}"
    if not isinstance(entry, Mapping):
        raise SpecError(f"{where}: expected a table with one of {', '.join(_AXIS_FORMS)}, got {entry!r}")
    unknown = set(entry) - set(_AXIS_FORMS)
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {', '.join(_AXIS_FORMS)}")
    forms = [f for f in _AXIS_FORMS if f in entry]
    if len(forms) != 1:
        raise SpecError(f"{where}: give exactly one of {', '.join(_AXIS_FORMS)}")
    form = forms[0]
    raw = entry[form]
    if form == "values":
        if not isinstance(raw, list):
            raise SpecError(f"{where}.values: expected a list, got {raw!r}")
        return Axis(name, tuple(raw))
    if not (isinstance(raw, list) and len(raw) == 3):
        raise SpecError(f"{where}.{form}: expected [start, stop, num], got {raw!r}")
    start, stop, num = raw
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (start, stop)):
        raise SpecError(f"{where}.{form}: start and stop must be numbers, got {start!r}, {stop!r}")
    _check_num(name, form, num)
    if form == "linspace":
        return Axis.linspace(name, start, stop, num)
    return Axis.logspace(name, start, stop, num)


def spec_from_dict(doc: Mapping[str, Any]) -> Sweep:
    """Build a :class:`Sweep` from a parsed TOML document; every key is checked by its
    declared type (:data:`SPEC`, :data:`EXECUTION`, :mod:`.cluster_fields`), unknown keys
    are errors. A spec with an ``[adaptive]`` table becomes an
    :class:`~.adaptive_spec.AdaptiveSweep` (learners choose the points)."""
    if "adaptive" in doc:
        from .adaptive_spec import adaptive_from_dict

        return adaptive_from_dict(doc)
    top = SPEC.check(doc)
    axes = [_axis_from_toml(name, entry) for name, entry in top["axes"].items()]
    execution = EXECUTION.check(top.get("execution", {}))
    cluster_doc = dict(top.get("cluster", {}))
    kind = KIND.type.check(cluster_doc.pop("kind", "local"), "cluster.kind")
    return Sweep(
        kernel=top["kernel"],
        store=Path(top["store"]),
        axes=axes,
        fixed=top.get("fixed", {}),
        chunks=execution.get("chunks"),
        cluster=ClusterSpec(kind=kind, options=check_cluster(kind, cluster_doc)),
        max_in_flight=execution.get("max_in_flight"),
    )


def load_spec(path: str | Path) -> Sweep:
    """Read a sweep spec from a TOML file. A relative ``store`` is taken from the current
    directory, like any path given on a command line."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    return spec_from_dict(doc)


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------


def _auto_chunks(shape: tuple[int, ...], seconds_per_point: float) -> tuple[int, ...]:
    """Block shape from the grid alone (so it is the same on every machine and on resume).

    Fill the trailing axes first: points along the last axis are adjacent in memory, and
    a block that spans whole trailing axes keeps the number of chunk files low.
    """
    n_points = math.prod(shape)
    target = int(TARGET_BLOCK_SECONDS / max(seconds_per_point, 1e-9))
    # Keep at least ~16 blocks where the grid allows, so a small sweep still spreads out.
    target = max(1, min(target, MAX_AUTO_BLOCK_POINTS, math.ceil(n_points / 16)))
    chunks = []
    remaining = target
    for size in reversed(shape):
        c = max(1, min(size, remaining))
        chunks.append(c)
        remaining = max(1, remaining // c)
    return tuple(reversed(chunks))


def _check_axis(kernel: Kernel, axis: Axis) -> Axis:
    """``axis`` checked against the kernel, its values in canonical form."""
    if not isinstance(axis.name, str):
        raise SpecError(f"axes: axis names must be strings, got {axis.name!r}")
    where = f"axes.{axis.name}"
    params = kernel.parameter_map
    if axis.name not in params:
        raise SpecError(
            f"{where}: kernel {kernel.name!r} has no parameter {axis.name!r}; "
            f"parameters: {', '.join(params)}"
        )
    values = canonical_axis(params[axis.name], axis.values, where)
    if len(values) == 0:
        raise SpecError(f"{where}: empty axis; give at least one value")
    if len(set(values)) != len(values):
        raise SpecError(f"{where}: values must be distinct (a coordinate cannot repeat)")
    try:
        params[axis.name].check(np.asarray(values), field_name=where)
    except KernelInputError as exc:
        raise SpecError(str(exc)) from None
    return Axis(axis.name, values)


def _check_plain_fields(sweep: Sweep) -> dict[str, Any]:
    """Every field but the axes, by its declared type (the same checks as TOML's); the
    ``[execution]`` values in canonical form."""
    _SWEEP.check({"kernel": sweep.kernel, "store": sweep.store, "fixed": sweep.fixed, "cluster": sweep.cluster})
    check_cluster(sweep.cluster.kind, sweep.cluster.options)
    return EXECUTION.check({"chunks": sweep.chunks, "max_in_flight": sweep.max_in_flight})


def _field_of(message: str, axes: Sequence[str], fixed: Mapping[str, Any]) -> str:
    """A kernel's cross-parameter message starts with a parameter name; name the spec field."""
    name, sep, rest = message.partition(":")
    if sep and name in axes:
        return f"axes.{name}:{rest}"
    if sep and name in fixed:
        return f"fixed.{name}:{rest}"
    return message


def resolve(sweep: Sweep) -> ResolvedSweep:
    """Validate ``sweep`` against its kernel and decide everything left open.

    Raises :class:`SpecError` naming the field on any problem; nothing is submitted before.
    Every value comes out in one canonical form (see :mod:`.values`), so specs that compute
    the same numbers have the same hash.
    """
    execution = _check_plain_fields(sweep)
    try:
        kernel = get_kernel(sweep.kernel)
    except KeyError as exc:
        raise SpecError(exc.args[0]) from None
    params = kernel.parameter_map
    axes = sweep.axis_list()
    if not axes:
        raise SpecError("axes: a sweep needs at least one axis")
    names = [a.name for a in axes]
    if len(set(names)) != len(names):
        raise SpecError(f"axes: duplicated axis names {names}")
    axes = [_check_axis(kernel, axis) for axis in axes]

    fixed: dict[str, Any] = {}
    for name, value in sweep.fixed.items():
        where = f"fixed.{name}"
        if name not in params:
            raise SpecError(f"{where}: kernel {kernel.name!r} has no parameter {name!r}; parameters: {', '.join(params)}")
        if name in names:
            raise SpecError(f"{where}: {name!r} is also an axis; a parameter is either swept or fixed")
        value = canonical_scalar(params[name], value, where)
        try:
            params[name].check(value, field_name=where)
        except KernelInputError as exc:
            raise SpecError(str(exc)) from None
        fixed[name] = value
    for p in kernel.parameters:
        if p.name not in names and p.name not in fixed:
            if p.default is None:
                raise SpecError(f"fixed.{p.name}: required by kernel {kernel.name!r} ({p.allowed()}, {p.unit})")
            fixed[p.name] = canonical_scalar(p, p.default, f"fixed.{p.name}")

    shape = tuple(len(a) for a in axes)
    auto = _auto_chunks(shape, kernel.seconds_per_point)
    requested = execution.get("chunks", {})
    for name in requested:
        if name not in names:
            raise SpecError(f"execution.chunks.{name}: not an axis; axes: {', '.join(map(str, names))}")
    chunks = [min(requested.get(axis.name, default), len(axis)) for axis, default in zip(axes, auto, strict=True)]
    n_blocks = math.prod(math.ceil(n / c) for n, c in zip(shape, chunks, strict=True))
    if n_blocks > MAX_BLOCKS:
        raise SpecError(
            f"execution.chunks: {n_blocks} blocks; at most {MAX_BLOCKS} (each done block is one ledger file, "
            f"and the client keeps one byte per block); give larger chunks"
        )

    try:
        if kernel.check_inputs is not None:
            kernel.check_inputs(
                {**{a.name: np.asarray(a.values) for a in axes}, **{k: np.asarray(v) for k, v in fixed.items()}}
            )
        extra = kernel.coords_for(fixed)
    except KernelInputError as exc:
        raise SpecError(_field_of(str(exc), names, fixed)) from None
    clash = set(extra) & set(names)
    if clash:
        raise SpecError(f"axes: {sorted(clash)} clash with the kernel's output dimensions")
    return ResolvedSweep(
        sweep=sweep,
        kernel=kernel,
        axes=tuple(axes),
        fixed=fixed,
        chunks=tuple(chunks),
        extra_coords=extra,
    )


def with_chunks(sweep: Sweep, chunks: Mapping[str, int]) -> Sweep:
    """``sweep`` with the block shape of an existing store (used when resuming)."""
    return replace(sweep, chunks=dict(chunks))
