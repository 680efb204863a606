"""The kernel interface: what a physics model declares so the engine can sweep it.

A kernel is data plus one or two pure functions. It knows nothing about Dask, Zarr, blocks
or files; the engine knows nothing about physics. Everything the engine needs (parameter
names, units, ranges, output shapes) is read from the declaration below.

Contract of the solve functions
-------------------------------
``solve_block(params) -> dict``
    ``params`` maps every parameter name to a 1-D numpy array of length ``n`` (the points
    of one block, already broadcast; fixed parameters are repeated). The function returns a
    mapping with one array per declared output, shaped ``(n, *extra_dim_sizes)``, and a
    ``"status"`` array of :class:`Status` codes, shape ``(n,)``. It may add
    ``"messages"``: a mapping ``point index -> str`` explaining non-ok points.
``solve_point(**scalars) -> dict``
    One point, parameters as Python/numpy scalars. Returns one value per declared output
    (a scalar, or a 1-D array for outputs with an extra dimension), ``"status"`` and
    optionally ``"message"``. The engine loops over points for kernels that only have this.

A kernel never raises for a physics failure it can detect; it reports ``Status.FAILED`` or
``Status.NOT_CONVERGED``. Exceptions are caught by the engine and recorded per point.

Units
-----
``Parameter.unit`` and ``Output.unit`` say what one unit of the stored number is: the
quantity is the value times the unit. One convention for every kernel:

* A physical unit (``"meV"``, ``"K"``, ``"nm"``, ``"s"``, ``"GiB"``) or a model's own scale
  (``"t"``, ``"Ω"``, ``"V"``, ``"ε_F"``, ``"T_F"``, ``"k_F"``, ``"a"``, ``"m_e"``,
  ``"2 m_e"``): ``energy_tol = 1e-6`` with unit ``"t"`` means 10⁻⁶ t.
* ``"1"`` for a pure number: a dimensionless coupling or ratio, a count, a flag, and a
  categorical parameter's choice. Never ``""``.
* A name that already divides by a scale, ``X_over_Y``, holds the ratio X/Y: unit ``"1"``,
  not ``"Y"`` (``U_over_t = 8`` is U = 8 t; ``tc_over_omega`` is T_c/Ω).

Units are descriptive: they are written into a new store's ``units`` attributes and shown by
``pairsweep kernels``, but are not part of a spec's hash, so a store made before a unit
string changed still resumes (tests/test_kernel_conventions.py).

Versions
--------
``Kernel.version`` is compared on resume: a store made by another version is refused, so it
changes exactly when the numbers a kernel returns may change. Existing kernels keep the
strings their stores were made with (``"1"``, ``"2"``, ``"0.2.0"``); from now on a version
is a plain integer string, ``"1"`` for a new kernel, and a change to the numbers makes it
the next integer (``"0.2.0"`` becomes ``"1"`` at its next change, not ``"0.2.1"``).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Kernel",
    "KernelInputError",
    "Output",
    "Parameter",
    "Status",
]


class Status(enum.IntEnum):
    """Per-point outcome, stored as uint8 in the ``status`` variable of a result."""

    OK = 0
    NOT_CONVERGED = 1
    FAILED = 2
    #: Fill value of the stored ``status`` array: the point's block was never written.
    NOT_COMPUTED = 255


class KernelInputError(ValueError):
    """A parameter value or combination a kernel cannot accept. Names the field."""


@dataclass(frozen=True, slots=True)
class Parameter:
    """One input of a kernel.

    Parameters
    ----------
    name
        Python identifier used in specs and as the Zarr dimension name when swept.
    unit
        What one unit of the value is ("meV", "ε_F", "t"; "1" for a pure number or a
        choice); see Units in the module docstring.
    description
        One line of physics meaning, with the seed's symbol.
    default
        Value used when a spec neither sweeps nor fixes it. ``None`` means required.
    bounds
        Inclusive allowed range ``(low, high)``; either end may be ``math.inf``/``-math.inf``.
    choices
        Allowed values for a categorical parameter (strings or integers).
    integer
        Values must be integral (e.g. a lattice size).
    """

    name: str
    unit: str
    description: str
    default: float | int | str | bool | None = None
    bounds: tuple[float, float] | None = None
    choices: tuple[Any, ...] | None = None
    integer: bool = False

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"parameter name {self.name!r} is not a Python identifier")
        if self.bounds is not None and self.choices is not None:
            raise ValueError(f"parameter {self.name!r}: give bounds or choices, not both")

    def distinct(self, params: Mapping[str, Any]) -> list[Any]:
        """The distinct values this parameter takes in ``params`` (as a ``check_inputs``
        receives them: an axis's values or a fixed value), in order of first appearance;
        ``[default]`` when ``params`` does not name it."""
        values = np.asarray(params.get(self.name, self.default)).ravel().tolist()
        return list(dict.fromkeys(values))

    def allowed(self) -> str:
        """Human-readable allowed range, used in every validation message."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        kind = "integer" if self.integer else "number"
        if self.bounds is None:
            return f"any {kind}"
        low, high = self.bounds
        if math.isinf(low) and math.isinf(high):
            return f"any finite {kind}"
        if math.isinf(high):
            return f"{kind} >= {low:g}"
        if math.isinf(low):
            return f"{kind} <= {high:g}"
        return f"{kind} in [{low:g}, {high:g}]"

    def check(self, values: Any, field_name: str | None = None) -> None:
        """Raise :class:`KernelInputError` naming ``field_name`` if any value is not allowed."""
        where = field_name or self.name
        arr = np.asarray(values)
        if self.choices is not None:
            bad = [v for v in arr.ravel().tolist() if v not in self.choices]
            if bad:
                raise KernelInputError(
                    f"{where}: {bad[0]!r} is not allowed for {self.name} [{self.unit}]; "
                    f"allowed: {self.allowed()}"
                )
            return
        if arr.dtype.kind not in "biuf":
            raise KernelInputError(
                f"{where}: {self.name} [{self.unit}] must be numeric, got {arr.ravel()[:1].tolist()}; "
                f"allowed: {self.allowed()}"
            )
        flat = arr.astype(float).ravel()
        if not np.all(np.isfinite(flat)):
            raise KernelInputError(f"{where}: {self.name} must be finite; allowed: {self.allowed()}")
        if self.integer and np.any(flat != np.round(flat)):
            bad = flat[flat != np.round(flat)][0]
            raise KernelInputError(
                f"{where}: {self.name} = {bad:g} is not an integer; allowed: {self.allowed()}"
            )
        if self.bounds is not None:
            low, high = self.bounds
            outside = (flat < low) | (flat > high)
            if np.any(outside):
                raise KernelInputError(
                    f"{where}: {self.name} = {flat[outside][0]:g} [{self.unit}] is out of range; "
                    f"allowed: {self.allowed()}"
                )


@dataclass(frozen=True, slots=True)
class Output:
    """One per-point result of a kernel.

    ``dims`` names extra per-point dimensions (e.g. ``("ell",)`` for the angular-momentum
    channel); their coordinates come from the kernel's ``extra_coords`` field, read through
    :meth:`Kernel.coords_for`. ``unit`` follows Units in the module docstring. ``allow_nan`` says a
    NaN is a legitimate value (e.g. a quantity undefined in one phase) rather than a failure.
    """

    name: str
    unit: str
    description: str
    dtype: str = "float64"
    dims: tuple[str, ...] = ()
    allow_nan: bool = False

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"output name {self.name!r} is not a Python identifier")
        np.dtype(self.dtype)  # fail at declaration time, not mid-sweep

    @property
    def fill_value(self) -> Any:
        """Value of a never-computed or failed point in storage."""
        kind = np.dtype(self.dtype).kind
        if kind == "f" or kind == "c":
            return np.nan
        if kind == "b":
            return False
        if kind == "u":
            return np.iinfo(self.dtype).max
        if kind == "i":
            return np.iinfo(self.dtype).min
        raise ValueError(f"output {self.name!r}: unsupported dtype {self.dtype!r}")


ExtraCoords = Callable[[Mapping[str, Any]], Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class Kernel:
    """Declaration of a solve-one-point physics model.

    Parameters
    ----------
    name
        Registry name, used as ``kernel = "..."`` in a sweep spec.
    version
        Bumped whenever the numbers a kernel returns may change; stored with every result
        and compared on resume (see Versions in the module docstring).
    summary
        One line for ``pairsweep kernels``.
    reference
        The seed paper and equations implemented.
    parameters, outputs
        Declarations, in display order.
    solve_block, solve_point
        At least one. ``solve_block`` is preferred by the engine when present.
    extra_coords
        Coordinates of extra output dimensions. Either a fixed mapping ``dim -> values`` or a
        function of the *fixed* (non-swept) parameters returning one, for dimensions whose
        size depends on a parameter (e.g. the k grid of a lattice of size L).
    seconds_per_point
        Rough kernel time per point on one core. The engine sizes automatic blocks from it
        (a few seconds of work per block); it never affects results.
    check_inputs
        Optional cross-parameter validation, called by the engine before any task. Each swept
        parameter arrives as the 1-D array of its axis values (never broadcast over the grid:
        that would be per-point work for a 10⁸-point sweep), each fixed one as a 0-d array;
        a check of combinations must form them itself. Raises :class:`KernelInputError`
        naming the field.
    """

    name: str
    version: str
    summary: str
    reference: str
    parameters: tuple[Parameter, ...]
    outputs: tuple[Output, ...]
    solve_block: Callable[[Mapping[str, np.ndarray]], Mapping[str, Any]] | None = None
    solve_point: Callable[..., Mapping[str, Any]] | None = None
    extra_coords: Mapping[str, Sequence[Any]] | ExtraCoords = field(default_factory=dict)
    check_inputs: Callable[[Mapping[str, np.ndarray]], None] | None = None
    seconds_per_point: float = 1e-3
    doc: str = ""

    def __post_init__(self) -> None:
        if self.solve_block is None and self.solve_point is None:
            raise ValueError(f"kernel {self.name!r} needs solve_block or solve_point")
        names = [p.name for p in self.parameters] + [o.name for o in self.outputs]
        duplicated = {n for n in names if names.count(n) > 1}
        if duplicated:
            raise ValueError(f"kernel {self.name!r}: duplicated names {sorted(duplicated)}")
        reserved = {"status"} & set(names)
        if reserved:
            raise ValueError(f"kernel {self.name!r}: 'status' is reserved for the engine")

    @property
    def parameter_map(self) -> dict[str, Parameter]:
        return {p.name: p for p in self.parameters}

    @property
    def output_map(self) -> dict[str, Output]:
        return {o.name: o for o in self.outputs}

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters if p.default is not None}

    def coords_for(self, fixed: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Coordinates of the extra output dimensions for the given fixed parameters."""
        raw = self.extra_coords(fixed) if callable(self.extra_coords) else self.extra_coords
        coords = {dim: np.asarray(values) for dim, values in raw.items()}
        needed = {d for o in self.outputs for d in o.dims}
        missing = needed - set(coords)
        if missing:
            raise ValueError(f"kernel {self.name!r}: no coordinates for dimensions {sorted(missing)}")
        return coords
