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

import asyncio
import json
import os
import shutil
import time
import uuid
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.codecs import ZstdCodec
from zarr.core.sync import sync as zarr_sync

from .checksum import file_digest

__all__ = [
    "MANIFEST",
    "PRISTINE_DIR",
    "STATE_DIR",
    "Variable",
    "create_store",
    "discard_half_created",
    "missing_arrays",
    "metadata_files",
    "open_arrays",
    "read_root_attrs",
    "chunk_key",
    "sync_block",
    "update_root_attrs",
    "write_block",
]

#: Directory inside a store holding pairsweep's own state (ledger, run logs). zarr and
#: xarray ignore it: it holds no ``zarr.json``.
STATE_DIR = "_pairsweep"
#: Checksums of the files written at creation (metadata, coordinates); see :mod:`.verify`.
MANIFEST = f"{STATE_DIR}/manifest.json"
#: Copies of those files as created, from which damaged metadata is repaired.
PRISTINE_DIR = f"{STATE_DIR}/pristine"

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
    """Create a new store, atomically. Refuses to touch an existing path.

    ``coords`` maps each dimension to its values and attributes.

    The store is built in a sibling temporary directory (``.<name>.creating-…``), fsync'd,
    and renamed into place: a SIGKILL at any instant leaves either no store or a complete
    one, never a root group without its arrays. Call it holding the store's lock
    (:mod:`.lock`): leftovers of creations killed earlier are then known to be dead and are
    removed (they hold metadata only; nothing is computed before the rename).

    Besides the Zarr layout the store gets ``_pairsweep/manifest.json`` (size and checksum of
    every metadata and coordinate file) and ``_pairsweep/pristine/`` (a copy of those files
    as created), from which :mod:`.verify` detects and repairs damaged metadata.
    """
    path = Path(path).absolute()
    if path.exists():
        raise FileExistsError(f"store: {path} already exists")
    for pattern in (f".{path.name}.creating-*", f".{path.name}.half-created-*"):
        for leftover in path.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)
    tmp = path.parent / f".{path.name}.creating-{uuid.uuid4().hex[:12]}"
    try:
        _build(tmp, coords=coords, variables=variables, attrs=attrs)
        _write_manifest(tmp)
        _fsync_tree(tmp)
        _creation_pause()
        os.rename(tmp, path)  # fails if the path appeared meanwhile (ENOTEMPTY/EEXIST)
        _fsync_dir(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def missing_arrays(path: str | Path, names: Sequence[str]) -> list[str]:
    """Which of the arrays ``names`` have no ``zarr.json`` in the store."""
    return [name for name in names if not (Path(path) / name / "zarr.json").is_file()]


def discard_half_created(path: str | Path) -> bool:
    """Remove a store that an older pairsweep left half created (root group written, arrays
    not) when it holds nothing but metadata and run logs; False (and nothing touched) if it
    holds anything else. Renamed aside first, so a kill leaves either the old directory or
    none at the path; the aside copy is removed here or by the next :func:`create_store`."""
    path = Path(path).absolute()
    for item in path.rglob("*"):
        rel = item.relative_to(path).parts
        if item.is_dir() or item.name == "zarr.json" or rel[:2] == (STATE_DIR, "runs"):
            continue
        return False
    aside = path.parent / f".{path.name}.half-created-{uuid.uuid4().hex[:12]}"
    os.rename(path, aside)
    shutil.rmtree(aside, ignore_errors=True)
    return True


def _creation_pause() -> None:
    # Tests only: widen the window between building and publishing a store so a kill test
    # can aim at it. Unset in normal use.
    delay = os.environ.get("PAIRSWEEP_TEST_CREATION_DELAY")
    if delay:
        time.sleep(float(delay))


def _build(
    path: Path,
    *,
    coords: Mapping[str, tuple[np.ndarray, Mapping[str, Any]]],
    variables: Sequence[Variable],
    attrs: Mapping[str, Any],
) -> None:
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
    os.makedirs(path / STATE_DIR, exist_ok=True)
    _quiet_consolidate(path)


def metadata_files(path: str | Path) -> list[str]:
    """Relative paths of the files a new store holds: zarr.json files and coordinate chunks."""
    path = Path(path)
    return sorted(
        p.relative_to(path).as_posix()
        for p in path.rglob("*")
        if p.is_file() and p.relative_to(path).parts[0] != STATE_DIR
    )


def _write_manifest(path: Path) -> None:
    files = {}
    for rel in metadata_files(path):
        files[rel] = file_digest(path / rel)
        copy = path / PRISTINE_DIR / rel
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path / rel, copy)
    (path / MANIFEST).write_text(json.dumps({"format": 1, "files": files}, indent=1))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


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
    """Write one block: exactly one whole chunk of every variable in ``data``.

    The chunks are written concurrently, in one pass through zarr's event loop: one
    ``arr[region] = values`` per variable costs ~1 ms of round trip each, ~23 ms for the
    23 variables of a ``mixd_bilayer`` block against ~12 ms together; a 100-point block's
    writes and ledger entry took 39 ms before, 25 ms after, of ~0.45 s of kernel time
    (bench/adaptive_throughput.py). Their order does not matter: a block counts only once
    its ledger entry is written, after :func:`sync_block`. Every write has settled when
    this returns or raises (the first failure is raised after the others end), so no write
    of a failed attempt is still landing while the task is retried.
    """
    async def write_all() -> list[Any]:
        return await asyncio.gather(*(
            # zarr.Array is a synchronous wrapper of this AsyncArray
            arrays[name]._async_array.setitem(slices + (slice(None),) * (arrays[name].ndim - len(slices)), values)
            for name, values in data.items()
        ), return_exceptions=True)

    failures = [r for r in zarr_sync(write_all()) if isinstance(r, BaseException)]
    if failures:
        raise failures[0]


def chunk_key(arr: zarr.Array, block_index: tuple[int, ...]) -> str:
    """Path, relative to the store, of the chunk of ``arr`` that block ``block_index`` writes."""
    coords = block_index + (0,) * (arr.ndim - len(block_index))
    return f"{arr.path}/{arr.metadata.encode_chunk_key(coords)}"


def sync_block(
    path: str | Path, arrays: Mapping[str, zarr.Array], block_index: tuple[int, ...], *, fsync: bool = True
) -> dict[str, list[Any]]:
    """Read back (and, with ``fsync``, fsync) the chunk files of one block; return
    ``{variable: [chunk key, size, blake2b]}`` for its ledger entry (see :mod:`.checksum`).

    fsync before the ledger entry means a node crash cannot leave an entry pointing at data
    still in the page cache. A chunk equal to the fill value is never written (zarr's
    ``write_empty_chunks=False``): its size and checksum are None.
    """
    keys = {name: chunk_key(arr, block_index) for name, arr in arrays.items()}
    # one file per variable, each read back and fsync'd: side by side in threads (fsync and
    # hashing release the GIL), 10 -> 4.4 ms for a 100-point mixd_bilayer block here, more
    # on a parallel file system where an fsync is a round trip to the servers. Every file
    # has settled before this returns or raises, as for write_block.
    futures = [_sync_pool().submit(file_digest, Path(path) / key, fsync=fsync) for key in keys.values()]
    wait(futures)
    return {name: [key, *(future.result() or [None, None])]
            for (name, key), future in zip(keys.items(), futures, strict=True)}


@lru_cache(maxsize=1)
def _sync_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="pairsweep-fsync")


# a forked child inherits the pool but not its threads: it must start its own
os.register_at_fork(after_in_child=_sync_pool.cache_clear)
