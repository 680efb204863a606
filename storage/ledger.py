"""The completion ledger: which blocks of a store are done, decided from evidence that
cannot lie after a crash.

A block is done when, and only when, its ledger entry ``_pairsweep/blocks/<id>.json``
exists. The worker writes the entry after every chunk of the block is written (and, by
default, fsync'd), through a temporary file and an atomic ``os.replace``: a killed process
leaves either no entry or a complete one, never a torn one. Chunk files are never taken as
evidence: zarr skips chunks equal to the fill value, and a kill between two variables leaves
a half-written block whose chunks all decode.

The entry also carries the block's status counts and the messages of its failed points, so
``pairsweep status`` and the failures table never need to read the data.

Run logs (``_pairsweep/runs/<run id>.log``) record, from the client, each block submitted
by that run: the audit trail that shows what a resume recomputed.

Each entry also records, per variable, the chunk key, size and blake2b of the chunk file
the block wrote (``None`` where zarr wrote no file: a fill-value chunk), and a checksum of
the entry itself; ``pairsweep verify`` checks both (:mod:`.checksum`, :mod:`.verify`).

One client per store: the engine holds the store's lock (:mod:`.lock`) for the whole run.
Requires a POSIX filesystem path (local disk or a shared HPC filesystem).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import StoreError
from .layout import STATE_DIR

__all__ = [
    "append_run_log",
    "done_blocks",
    "iter_entries",
    "read_entry",
    "read_run_log",
    "write_entry",
]

_BLOCKS = "blocks"
_RUNS = "runs"


def _blocks_dir(store: str | Path) -> Path:
    return Path(store) / STATE_DIR / _BLOCKS


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        # The rename itself lives in the directory: sync it so the entry survives a crash
        # of the node, not only of the process.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        # A temporary file left by a crash is harmless (not a .json entry), but clean up
        # when we can.
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_entry(store: str | Path, block_id: int, entry: Mapping[str, Any]) -> None:
    """Mark ``block_id`` done. Call only after all of its chunks are written."""
    _atomic_write_text(_blocks_dir(store) / f"{block_id}.json", json.dumps(dict(entry)))


def _entry_ids(store: str | Path) -> Iterator[int]:
    try:
        with os.scandir(_blocks_dir(store)) as it:
            for item in it:
                stem, dot, ext = item.name.partition(".")
                if ext == "json" and stem.isdigit():
                    yield int(stem)
    except FileNotFoundError:
        return


def done_blocks(store: str | Path, n_blocks: int) -> np.ndarray:
    """Boolean mask over block ids: true where the ledger has an entry. One directory scan."""
    done = np.zeros(n_blocks, dtype=bool)
    ids = np.fromiter(_entry_ids(store), dtype=np.int64)
    ids = ids[ids < n_blocks]
    done[ids] = True
    return done


def read_entry(store: str | Path, block_id: int) -> dict[str, Any]:
    """The ledger entry of ``block_id`` (which must be done)."""
    path = _blocks_dir(store) / f"{block_id}.json"
    try:
        with open(path) as f:
            return json.load(f)
    except ValueError:
        raise StoreError(
            f"store: ledger entry {path} is damaged; run `pairsweep verify {store}` "
            "to mark its block not done"
        ) from None


def iter_entries(store: str | Path) -> Iterator[dict[str, Any]]:
    """Every ledger entry, in block order."""
    for block_id in sorted(_entry_ids(store)):
        yield read_entry(store, block_id)


def append_run_log(store: str | Path, run_id: str, block_ids: list[int]) -> None:
    """Client-side: record that this run submitted ``block_ids``."""
    path = Path(store) / STATE_DIR / _RUNS / f"{run_id}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write("".join(f"{b}\n" for b in block_ids))
        f.flush()


def read_run_log(store: str | Path) -> dict[str, list[int]]:
    """Blocks submitted by each run, by run id (run ids sort by start time)."""
    runs: dict[str, list[int]] = {}
    directory = Path(store) / STATE_DIR / _RUNS
    if not directory.exists():
        return runs
    for log in sorted(directory.glob("*.log")):
        runs[log.stem] = [int(line) for line in log.read_text().split()]
    return runs
