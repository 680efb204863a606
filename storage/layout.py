"""Zarr layout of a sweep result: one array per output, chunked exactly like the blocks.

Who writes what (the guarantees the engine relies on):

* The client creates every array, coordinate and attribute once, before any task runs, and
  is the only writer of metadata (``zarr.json`` files) afterwards. Concurrent metadata
  writes from workers corrupt stores (google/xarray-beam#85), so workers never touch them.
* A worker writes whole chunks only: block ``b`` is chunk ``b`` of every variable, so no two
  tasks ever write the same chunk and no read-modify-write of a partial chunk happens
  (pydata/xarray#8371). The store is not sharded for the same reason.
* zarr's LocalStore replaces a chunk file atomically, but a block spans many variables: a
  kill between two variables leaves a half-written block whose chunks all decode. Chunk
  files are therefore never read as evidence of completion; see :mod:`.ledger`.

The layout opens with ``xarray.open_zarr(path)``: dimensions named after the axes,
coordinate arrays with ``units`` attributes, one data variable per kernel output, a
``status`` variable with CF ``flag_values``/``flag_meanings``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.codecs import ZstdCodec

__all__ = [
    "STATE_DIR",
    "Variable",
    "create_store",
    "open_arrays",
    "read_root_attrs",
    "sync_block",
    "update_root_attrs",
    "write_block",
]

#: Directory inside a store holding pairsweep's own state (ledger, run logs). zarr and
#: xarray ignore it: it holds no ``zarr.json``.
STATE_DIR = "_pairsweep"

#: zstd level 3: deterministic, fast, and 3-10x on smooth physics outputs.
_COMPRESSORS = (ZstdCodec(level=3),)


@dataclass(frozen=True, slots=True)
class Variable:
    """One stored array: its dimensions, dtype, chunk shape, fill value and attributes."""

    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: str
    fill_value: Any
    attrs: Mapping[str, Any] = field(default_factory=dict)


def _quiet_consolidate(path: str | Path) -> None:
    # zarr warns that consolidated metadata is not yet in the v3 spec; xarray still reads it
    # and it saves one metadata read per variable on every open.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        zarr.consolidate_metadata(str(path))


def create_store(
    path: str | Path,
    *,
    coords: Mapping[str, tuple[np.ndarray, Mapping[str, Any]]],
    variables: Sequence[Variable],
    attrs: Mapping[str, Any],
) -> None:
    """Create a new store. Refuses to touch an existing path (``mode="w-"``).

    ``coords`` maps each dimension to its values and attributes.
    """
    root = zarr.open_group(str(path), mode="w-", zarr_format=3, attributes=dict(attrs))
    for name, (values, cattrs) in coords.items():
        values = np.asarray(values)
        arr = root.create_array(
            name,
            shape=values.shape,
            chunks=values.shape,
            dtype=str if values.dtype.kind in "UO" else values.dtype,
            dimension_names=(name,),
            attributes=dict(cattrs),
            compressors=_COMPRESSORS if values.dtype.kind not in "UO" else "auto",
        )
        arr[...] = values
    for var in variables:
        root.create_array(
            var.name,
            shape=var.shape,
            chunks=var.chunks,
            dtype=var.dtype,
            fill_value=var.fill_value,
            dimension_names=var.dims,
            attributes=dict(var.attrs),
            compressors=_COMPRESSORS,
        )
    os.makedirs(Path(path) / STATE_DIR, exist_ok=True)
    _quiet_consolidate(path)


def read_root_attrs(path: str | Path) -> dict[str, Any]:
    return dict(zarr.open_group(str(path), mode="r").attrs)


def update_root_attrs(path: str | Path, updates: Mapping[str, Any]) -> None:
    """Client-only: merge ``updates`` into the root attributes and re-consolidate."""
    root = zarr.open_group(str(path), mode="r+")
    root.attrs.update(dict(updates))
    _quiet_consolidate(path)


@lru_cache(maxsize=8)
def open_arrays(path: str, names: tuple[str, ...], spec_hash: str) -> dict[str, zarr.Array]:
    """Open the output arrays once per worker process.

    ``spec_hash`` is part of the cache key so that a store re-created under the same path by
    a later sweep is never written through stale handles.
    """
    root = zarr.open_group(path, mode="r+", use_consolidated=False)
    return {name: root[name] for name in names}  # type: ignore[misc]


def write_block(
    arrays: Mapping[str, zarr.Array], slices: tuple[slice, ...], data: Mapping[str, np.ndarray]
) -> None:
    """Write one block: exactly one whole chunk of every variable in ``data``."""
    for name, values in data.items():
        arr = arrays[name]
        region = slices + (slice(None),) * (arr.ndim - len(slices))
        arr[region] = values


def sync_block(path: str | Path, arrays: Mapping[str, zarr.Array], block_index: tuple[int, ...]) -> None:
    """fsync the chunk files of one block, so a node crash cannot leave a ledger entry
    pointing at data still in the page cache. A chunk equal to the fill value is never
    written (zarr's ``write_empty_chunks=False``) and has no file to sync."""
    for arr in arrays.values():
        coords = block_index + (0,) * (arr.ndim - len(block_index))
        key = arr.metadata.encode_chunk_key(coords)
        chunk_file = Path(path) / arr.path / key
        try:
            fd = os.open(chunk_file, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
