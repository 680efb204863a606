"""Axis values of a store, wherever its spec keeps them.

A store's canonical spec lists an axis's values inline when the axis is short, and only
its size, ends and digest when it is long (``{"size": n, "first": .., "last": .., "sha256":
..}``); the values themselves are always in the coordinate array of the same name. Stores
written before the summary form existed list every axis inline.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from .errors import StoreError

__all__ = ["axis_size", "axis_values"]


def axis_size(entry: Any) -> int:
    """Number of values of an axis entry of a canonical spec."""
    return int(entry["size"]) if isinstance(entry, Mapping) else len(entry)


def axis_values(store: str | Path, spec: Mapping[str, Any], name: str) -> np.ndarray:
    """The values of axis ``name``: from the spec when listed there, else from the store's
    coordinate array."""
    entry = spec["axes"][name]
    if not isinstance(entry, Mapping):
        return np.asarray(entry)
    values = zarr.open_group(str(store), mode="r", use_consolidated=False)[name][...]
    if len(values) != int(entry["size"]):
        raise StoreError(f"store: {store}: coordinate {name!r} has {len(values)} values, its spec says {entry['size']}")
    return np.asarray(values)
