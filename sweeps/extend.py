"""Extending a grid store: which points a superset spec adds, cut into rectangular pieces.

A store's grid is the Cartesian product ``U_0 × … × U_{D-1}`` of its axes. A spec whose
axes are supersets ``B_j ⊇ U_j`` (new values anywhere: interleaved, below, above; every
other field equal) adds the points of ``B \\ U``, which split into at most ``D`` disjoint
rectangles (the *pieces*)::

    piece_i = U_0 × … × U_{i-1} × (B_i \\ U_i) × B_{i+1} × … × B_{D-1}

(empty when axis ``i`` gains nothing). Each piece becomes a new part of the store
(:mod:`pairsweep.storage.parts`); the stored points are never rewritten or recomputed.
A spec that lacks a stored value is refused: dropping points would hide computed results.

**Which values are the same point.** Integer and categorical values match exactly. Two
floats ``a`` (stored) and ``b`` (spec) are the same point when
``|a - b| <= 1e-12 * max(|a|, |b|)``: each pair on its own scale, so a ``logspace`` down to
10⁻¹⁵ keeps its small values apart and adding a large value to an axis changes no other
value's match. This absorbs the last-bit differences of a ``linspace`` or ``logspace``
recomputed with another ``num``. One more case: on an axis whose values cross zero (both
signs, or an exact 0), a linear grid's zero can come out as ``±1e-17``; there two values
both within ``4 eps S_j`` of zero (``S_j`` the axis's largest magnitude in store and spec,
``eps`` the float64 machine epsilon) are the same point. A spec that
matches takes the *stored* value, so the coordinates of one point are bit-identical in
every part and the union grid is formed by exact equality.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import SpecError

__all__ = ["REL_TOL", "AxisMatch", "Extension", "describe_dropped", "match_axes"]

#: Two float values closer than this times the larger of their magnitudes are one point.
REL_TOL = 1e-12
#: On an axis crossing zero, values within this many machine epsilons of the axis's scale
#: are a linear grid's zero.
_ZERO_EPS = 4.0


@dataclass(frozen=True, slots=True)
class AxisMatch:
    """One axis of a spec compared with the store's (union) axis of the same name.

    ``values`` are the spec's values in the spec's order, matched ones replaced by the
    stored value; ``added`` the values the store lacks (spec order); ``dropped`` the stored
    values the spec lacks.
    """

    name: str
    stored: tuple[Any, ...]
    values: tuple[Any, ...]
    added: tuple[Any, ...]
    dropped: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Extension:
    """The new points of a superset spec, as disjoint rectangular pieces (axis -> values)."""

    axes: tuple[AxisMatch, ...]

    @property
    def adds_points(self) -> bool:
        return any(a.added for a in self.axes)

    @property
    def pieces(self) -> list[dict[str, tuple[Any, ...]]]:
        """``piece_i = U_0 × … × U_{i-1} × (B_i \\ U_i) × B_{i+1} × …``; empty ones left out."""
        out = []
        for i, axis in enumerate(self.axes):
            if not axis.added:
                continue
            piece = {}
            for j, other in enumerate(self.axes):
                if j < i:
                    # the stored values in the spec's order (all of them are in it: no drops)
                    known = set(other.stored)
                    piece[other.name] = tuple(v for v in other.values if v in known)
                elif j == i:
                    piece[other.name] = other.added
                else:
                    piece[other.name] = other.values
            out.append(piece)
        return out

    @property
    def n_new_points(self) -> int:
        return sum(math.prod(len(v) for v in piece.values()) for piece in self.pieces)


def _is_float_axis(values: Sequence[Any]) -> bool:
    return any(isinstance(v, float) for v in values) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )


def _match_one(name: str, stored: Sequence[Any], spec: Sequence[Any]) -> AxisMatch:
    stored_t = tuple(stored)
    if _is_float_axis(stored_t) and _is_float_axis(spec):
        old = np.asarray(stored_t, dtype=float)
        new = np.asarray(spec, dtype=float)
        scale = float(max(np.abs(old).max(initial=0.0), np.abs(new).max(initial=0.0)))
        both = np.concatenate([old, new])
        crosses_zero = bool((both <= 0).any() and (both >= 0).any())
        zero_band = _ZERO_EPS * np.finfo(float).eps * scale if crosses_zero else -1.0
        order = np.argsort(old, kind="stable")
        sorted_old = old[order]
        # the nearest stored value of every spec value
        if len(old) == 1:
            nearest = np.zeros(len(new), dtype=np.int64)
        else:
            pos = np.clip(np.searchsorted(sorted_old, new), 1, len(old) - 1)
            nearest = np.where(np.abs(new - sorted_old[pos - 1]) <= np.abs(new - sorted_old[pos]), pos - 1, pos)
        near = sorted_old[nearest]
        matched = (np.abs(new - near) <= REL_TOL * np.maximum(np.abs(new), np.abs(near))) | (
            (np.abs(new) <= zero_band) & (np.abs(near) <= zero_band)
        )
        index = order[nearest]
        values = tuple(stored_t[int(k)] if m else float(v) for v, k, m in zip(new, index, matched, strict=True))
        used = set(index[matched].tolist())
        if len(used) != int(matched.sum()):
            raise SpecError(
                f"axes.{name}: two spec values match the same stored value (within a relative {REL_TOL:g}); "
                "values must be distinct points"
            )
        added = tuple(float(v) for v, m in zip(new, matched, strict=True) if not m)
        dropped = tuple(stored_t[k] for k in range(len(stored_t)) if k not in used)
        return AxisMatch(name, stored_t, values, added, dropped)
    known = set(stored_t)
    wanted = set(spec)
    return AxisMatch(
        name,
        stored_t,
        tuple(spec),
        tuple(v for v in spec if v not in known),
        tuple(v for v in stored_t if v not in wanted),
    )


def match_axes(stored: Mapping[str, Sequence[Any]], spec: Mapping[str, Sequence[Any]]) -> Extension:
    """Compare a spec's axes with the store's (same names, same order: checked by the caller).

    ``stored`` holds the union values of each axis over every part of the store.
    Raises :class:`SpecError` (message naming ``axes.NAME``) if two spec values are one point.
    """
    return Extension(tuple(_match_one(name, stored[name], spec[name]) for name in stored))


def describe_dropped(match: AxisMatch, limit: int = 3) -> str:
    """Why a spec that lacks stored values is refused (appended to the ``axes.NAME`` line)."""
    shown = ", ".join(repr(v) for v in match.dropped[:limit])
    more = f" and {len(match.dropped) - limit} more" if len(match.dropped) > limit else ""
    return (f" (the spec lacks {len(match.dropped)} stored value(s): {shown}{more}; a spec may add values to an "
            "axis, which extends the store, but never drop any)")
