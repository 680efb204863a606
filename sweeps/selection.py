"""Picking a slice of a result by coordinate value, and facts about its axes.

Shared by ``pairsweep plot``, ``slice``, ``export`` and :mod:`pairsweep.sweeps.analysis`.
A value typed by a user (``--sel g=7``) must name a grid value exactly: snapping silently to
the nearest one (``g = 0.49``) shows a different physics point than the one asked for. The
nearest value is taken only when asked (``nearest=True``), and the caller is told what was
picked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import numpy as np

from .spec import SpecError

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["axis_label", "is_log_spaced", "parse_selections", "select"]

#: Relative tolerance for "exactly this value": a value typed as 1e-3 must match the stored
#: 0.0010000000000000002 of a logspace, but never a neighbouring grid value.
_RTOL = 1e-9
#: A value typed with at least this many significant digits also matches the one grid value
#: that rounds to it (users copy values from printed tables).
_MIN_DIGITS = 4


def parse_selections(items: Iterable[str] | None, field: str = "--sel") -> dict[str, str]:
    """``["g=7", "ell=0"]`` -> ``{"g": "7", "ell": "0"}``; malformed items are rejected."""
    out: dict[str, str] = {}
    for item in items or []:
        dim, eq, raw = item.partition("=")
        dim, raw = dim.strip(), raw.strip()
        if not eq or not dim or not raw:
            raise SpecError(f"{field} {item}: expected DIM=VALUE, e.g. {field} g_F=1.0")
        if dim in out:
            raise SpecError(f"{field} {dim}: given twice ({out[dim]} and {raw})")
        out[dim] = raw
    return out


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float | np.floating) else str(value)


def _pick(coord: np.ndarray, raw: Any, dim: str, nearest: bool) -> tuple[int, str | None]:
    """Index of ``raw`` in ``coord``; a note when the nearest value was taken instead."""
    if coord.dtype.kind in "fiu":
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise SpecError(f"--sel {dim}: {raw!r} is not a number; allowed: {_describe(coord)}") from None
        distance = np.abs(coord.astype(float) - value)
        best = int(np.argmin(distance))
        scale = max(abs(value), float(np.abs(coord).max()), 1e-300)
        if distance[best] <= _RTOL * scale:
            return best, None
        rounded = _rounded_match(coord, str(raw))
        if rounded is not None:
            return rounded, None
        if nearest:
            return best, f"--sel {dim}={raw}: took the nearest value {dim} = {_fmt(coord[best].item())}"
        order = np.argsort(distance, kind="stable")[:2]
        near = ", ".join(_fmt(coord[i].item()) for i in sorted(order))
        raise SpecError(
            f"--sel {dim}: {raw} is not a grid value of {dim}; nearest: {near} "
            f"(grid: {_describe(coord)}); pass --nearest to take the nearest"
        )
    matches = np.flatnonzero(coord.astype(str) == str(raw))
    if matches.size:
        return int(matches[0]), None
    raise SpecError(f"--sel {dim}: {raw!r} is not a value of {dim}; allowed: {_describe(coord)}")


def _rounded_match(coord: np.ndarray, raw: str) -> int | None:
    """The one grid value that ``raw`` spells to its own precision (``0.430887`` for
    0.43088693800637673, as ``status`` and error messages print it). Only for ≥ 4 significant
    digits: ``0.5`` must not match 0.46."""
    try:
        digits = Decimal(raw.strip()).normalize().as_tuple().digits
    except InvalidOperation:
        return None
    if len(digits) < _MIN_DIGITS:
        return None
    value = float(raw)
    hits = [i for i, c in enumerate(coord.astype(float).tolist()) if float(f"{c:.{len(digits)}g}") == value]
    return hits[0] if len(hits) == 1 else None


def _describe(coord: np.ndarray) -> str:
    if coord.dtype.kind in "fiu":
        return f"{coord.size} values in [{_fmt(coord.min().item())}, {_fmt(coord.max().item())}]"
    values = [str(v) for v in coord.tolist()]
    return "one of " + ", ".join(values[:10]) + (" ..." if len(values) > 10 else "")


def select(
    obj: xr.Dataset | xr.DataArray, selections: Mapping[str, Any], *, nearest: bool = False
) -> tuple[Any, list[str]]:
    """Fix each dimension in ``selections`` to one grid value.

    Values may be numbers or the strings a user typed. Returns the selected object and one
    note per value that was snapped to the nearest grid value (only with ``nearest=True``;
    without it an off-grid value raises :class:`SpecError` naming the field and the nearest
    grid values).
    """
    dims = set(obj.dims)
    index: dict[str, int] = {}
    notes: list[str] = []
    for dim, raw in selections.items():
        if dim not in dims:
            raise SpecError(f"--sel {dim}: not a dimension; dimensions: {', '.join(map(str, obj.dims))}")
        i, note = _pick(np.asarray(obj[dim].values), raw, dim, nearest)
        index[dim] = i
        if note:
            notes.append(note)
    return obj.isel(index), notes


def is_log_spaced(values: np.ndarray) -> bool:
    """True for ≥ 3 positive values with a constant ratio that are not also evenly spaced
    (a logspace axis, plotted on a log scale)."""
    v = np.asarray(values)
    if v.dtype.kind not in "fiu" or v.size < 3 or np.any(v <= 0):
        return False
    v = v.astype(float)
    log_steps = np.diff(np.log(v))
    steps = np.diff(v)
    geometric = np.allclose(log_steps, log_steps[0], rtol=1e-6, atol=0) and log_steps[0] != 0
    linear = np.allclose(steps, steps[0], rtol=1e-6, atol=0)
    return bool(geometric and not linear)


def axis_label(name: str, attrs: Mapping[str, Any]) -> str:
    """``"T_c [T_F]"``: the name and its unit; dimensionless units ("1", "") are left out.
    (A variable's ``long_name`` is a sentence: too long for an axis.)"""
    unit = str(attrs.get("units", "") or "")
    return f"{name} [{unit}]" if unit and unit != "1" else name
