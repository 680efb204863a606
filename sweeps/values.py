"""One canonical form for every parameter value a spec holds.

Specs arrive from TOML (``1`` and ``1.0`` are different types), from Python (numpy scalars,
arrays of any dtype) and from stores written by earlier versions. Two specs that compute
the same numbers must compare equal *and* hash equal, so every value is brought to one
form before it is compared, hashed or stored:

* a numeric parameter's value is a Python ``float``; an ``integer`` parameter's is an
  ``int`` (an integral float such as ``3.0`` becomes ``3``);
* a categorical parameter's value is the declared choice itself (``2.0`` for a choice ``2``
  becomes ``2``);
* a boolean is a value only where the parameter's choices are booleans: ``true`` where a
  number is expected is an error, never ``1``;
* numpy scalars become the Python scalar of the same value.

Axes longer than :data:`AXIS_INLINE_LIMIT` are described in the canonical spec by their
size, end points and a digest of their values instead of the values themselves: the values
live in the store's coordinate array, and the root ``zarr.json`` stays small for any grid.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pairsweep.kernels import Parameter

from .errors import SpecError

__all__ = [
    "AXIS_INLINE_LIMIT",
    "MAX_AXIS_VALUES",
    "axis_entry",
    "canonical_axis",
    "canonical_scalar",
    "canonical_stored_spec",
    "describe_type",
]

#: Axes with at most this many values are listed in the canonical spec (and so in the
#: store's root attributes); longer ones are summarised by a digest.
AXIS_INLINE_LIMIT = 1024
#: Most values one axis may have. The client holds an axis's coordinate values in memory
#: and writes them as one array: 2**27 float64 values are 1 GiB.
MAX_AXIS_VALUES = 2**27


def describe_type(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return f"{value!r} (a boolean)"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} values"
    if isinstance(value, Mapping):
        return "a table"
    return repr(value)


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def canonical_scalar(param: Parameter, value: Any, where: str) -> Any:
    """``value`` of ``param`` in canonical form, or :class:`SpecError` naming ``where``.

    Only the type is decided here; ranges are checked by ``param.check``.
    """
    value = _plain(value)
    if isinstance(value, list | tuple | set | Mapping | np.ndarray):
        raise SpecError(
            f"{where}: expected a single value of {param.name} [{param.unit}], got {describe_type(value)}; "
            f"allowed: {param.allowed()} (to sweep {param.name}, make it an axis)"
        )
    if param.choices is not None:
        bool_choices = all(isinstance(c, bool) for c in param.choices)
        for choice in param.choices:
            # `True in (1, 2)` is true in Python; a choice matches only a value of its kind.
            if isinstance(value, bool) != isinstance(choice, bool):
                continue
            if isinstance(value, str) != isinstance(choice, str):
                continue
            if value == choice:
                return choice
        kind = "a boolean (true or false)" if bool_choices else param.allowed()
        raise SpecError(f"{where}: {value!r} is not allowed for {param.name} [{param.unit}]; allowed: {kind}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(
            f"{where}: {param.name} [{param.unit}] must be numeric, got {describe_type(value)}; "
            f"allowed: {param.allowed()}"
        )
    if param.integer:
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        return value  # a non-integral value is reported by param.check with the range
    return float(value)


def canonical_axis(param: Parameter, raw: Any, where: str) -> tuple[Any, ...]:
    """The values of an axis in canonical form (see :func:`canonical_scalar`).

    ``raw`` must be a 1-D sequence or array; a scalar, a string or a 2-D array is an error.
    Numeric axes are converted with numpy (fast for millions of values).
    """
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence | np.ndarray | range):
        raw_plain = _plain(raw)
        raise SpecError(
            f"{where}: expected a 1-D list of values of {param.name}, got {describe_type(raw_plain)}; "
            f"a single value belongs in fixed.{param.name}"
        )
    arr = raw if isinstance(raw, np.ndarray) else None
    if arr is None:
        if any(isinstance(v, bool | np.bool_) for v in raw) and not (
            param.choices is not None and all(isinstance(c, bool) for c in param.choices)
        ):
            bad = next(v for v in raw if isinstance(v, bool | np.bool_))
            raise SpecError(
                f"{where}: {param.name} [{param.unit}] must be numeric, got {describe_type(bool(bad))}; "
                f"allowed: {param.allowed()}"
            )
        if any(isinstance(v, list | tuple | np.ndarray | Mapping) for v in raw):
            raise SpecError(f"{where}: expected a 1-D list of values of {param.name}, got nested lists")
        if param.choices is not None or any(isinstance(v, str) for v in raw):
            return tuple(canonical_scalar(param, v, where) for v in raw)
        try:
            arr = np.asarray(raw)
        except (ValueError, TypeError) as exc:
            raise SpecError(f"{where}: not a 1-D list of values ({exc})") from None
    if arr.ndim != 1:
        raise SpecError(
            f"{where}: expected a 1-D array of values of {param.name}, got an array of shape {arr.shape}"
        )
    if len(arr) > MAX_AXIS_VALUES:
        raise SpecError(
            f"{where}: {len(arr)} values; at most {MAX_AXIS_VALUES} per axis (the coordinate values are held "
            "in memory and written as one array)"
        )
    if param.choices is not None or arr.dtype.kind not in "iuf":
        if arr.dtype.kind == "b" and param.choices is None:
            raise SpecError(
                f"{where}: {param.name} [{param.unit}] must be numeric, got booleans; allowed: {param.allowed()}"
            )
        return tuple(canonical_scalar(param, v, where) for v in arr.tolist())
    if param.integer:
        as_float = arr.astype(float)
        if np.all(np.isfinite(as_float)) and np.all(as_float == np.round(as_float)):
            return tuple(arr.astype(np.int64).tolist())
        return tuple(as_float.tolist())
    return tuple(arr.astype(float).tolist())


def _digest(values: Sequence[Any]) -> str:
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        data = b"f8" + arr.astype("<f8").tobytes()
    elif arr.dtype.kind in "iu":
        data = b"i8" + arr.astype("<i8").tobytes()
    else:
        data = b"json" + json.dumps(list(values)).encode()
    return hashlib.sha256(data).hexdigest()


def axis_entry(values: Sequence[Any]) -> list[Any] | dict[str, Any]:
    """How an axis appears in the canonical spec: its values, or a summary when long."""
    if len(values) <= AXIS_INLINE_LIMIT:
        return list(values)
    return {"size": len(values), "first": values[0], "last": values[-1], "sha256": _digest(values)}


def canonical_stored_spec(stored: Mapping[str, Any], params: Mapping[str, Parameter]) -> dict[str, Any]:
    """A canonical spec read from a store (possibly written before canonical forms existed)
    brought to today's canonical form, for comparison with a new spec.

    Values that no longer pass validation are kept as they are (they then show up as a
    difference); nothing here raises for them.
    """
    def fix(name: str, value: Any) -> Any:
        p = params.get(name)
        if p is None:
            return value
        try:
            return canonical_scalar(p, value, name)
        except SpecError:
            return value

    axes: dict[str, Any] = {}
    for name, entry in stored["axes"].items():
        if isinstance(entry, list):
            p = params.get(name)
            try:
                values = canonical_axis(p, entry, name) if p is not None else tuple(entry)
            except SpecError:
                values = tuple(entry)
            axes[name] = axis_entry(values)
        else:
            axes[name] = dict(entry)
    return {
        **stored,
        "axes": axes,
        "fixed": {k: fix(k, v) for k, v in sorted(stored["fixed"].items())},
    }
