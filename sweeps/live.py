"""A slice of a store that follows a running sweep, reading only blocks it has not seen.

:class:`LiveSlice` holds one 1-D or 2-D slice of one variable (and the status codes and
failure messages of its points) in memory. :meth:`LiveSlice.refresh` scans the ledger (one
directory listing), and for each block that is new since the last call reads that block's
part of the slice, nothing else, and that block's ledger entry for its messages. A block is
shown only once its ledger entry exists, which the worker writes after the block's chunks:
a half-written block is never read (see :mod:`pairsweep.storage.ledger`).

The client-side cost per refresh is one directory scan plus the new blocks, so a page that
watches a 10⁶-point store stays light. Changing the slice (variable, axes, fixed values)
re-reads the slice once from the blocks already done.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from pairsweep.storage import ledger
from pairsweep.storage.axes import axis_size
from pairsweep.storage.layout import STATE_DIR, read_root_attrs

from .grid import BlockGrid
from .spec import SpecError

__all__ = ["LiveSlice", "SliceChoice", "StoreInfo"]

_NOT_COMPUTED = 255


@dataclass(frozen=True)
class StoreInfo:
    """What the view needs to know about a store: its axes, variables and their dimensions."""

    path: Path
    kernel: str
    axes: tuple[str, ...]
    coords: dict[str, np.ndarray]
    grid: BlockGrid
    variables: dict[str, tuple[str, ...]]
    attrs: dict[str, dict[str, Any]]

    @classmethod
    def open(cls, path: str | Path) -> StoreInfo:
        path = Path(path)
        if not (path / "zarr.json").is_file():
            raise SpecError(f"store: {path} is not a pairsweep store (no zarr.json)")
        try:
            meta = read_root_attrs(path)["pairsweep"]
        except KeyError:
            raise SpecError(f"store: {path} is a zarr group but not a pairsweep store") from None
        spec = meta["spec"]
        axes = tuple(spec["axes"])
        root = zarr.open_group(str(path), mode="r")
        coords = {name: np.asarray(arr[...]) for name, arr in root.arrays() if arr.ndim == 1 and
                  (arr.metadata.dimension_names or (None,))[0] == name}
        variables, attrs = {}, {}
        for name, arr in root.arrays():
            if name in coords:
                continue
            variables[name] = tuple(arr.metadata.dimension_names)
            attrs[name] = dict(arr.attrs)
        for name in coords:
            attrs[name] = dict(root[name].attrs)
        # a long axis is only summarised in the spec ({size, first, last, sha256})
        shape = tuple(axis_size(spec["axes"][a]) for a in axes)
        chunks = tuple(spec["chunks"][a] for a in axes)
        return cls(path, spec["kernel"], axes, coords, BlockGrid(shape, chunks), variables, attrs)


@dataclass(frozen=True)
class SliceChoice:
    """Which slice to show: ``var`` along ``x`` (and ``y`` for a map), every other dimension of
    ``var`` fixed at an index in ``fixed``."""

    var: str
    x: str
    y: str | None
    fixed: Mapping[str, int] = field(default_factory=dict)

    def check(self, info: StoreInfo) -> None:
        dims = info.variables.get(self.var)
        if dims is None:
            raise SpecError(f"variable: {self.var!r} not in store; variables: {', '.join(info.variables)}")
        shown = [self.x] + ([self.y] if self.y else [])
        if len(set(shown)) != len(shown) or any(d not in dims for d in shown):
            raise SpecError(f"x/y: need distinct dimensions of {self.var} ({', '.join(dims)}), got {', '.join(shown)}")
        missing = [d for d in dims if d not in shown and d not in self.fixed]
        if missing:
            raise SpecError(f"fixed: give an index for {', '.join(missing)}")


class LiveSlice:
    """One slice of a store, kept up to date block by block.

    Attributes
    ----------
    values, status
        Arrays shaped (nx, ny) (ny = 1 for a line): the variable and the status codes (255
        where the block is not done yet).
    messages
        Failure message by the point's flat index in the grid (all blocks seen so far).
    blocks_read
        Blocks whose data this object has read: the test that refreshes stay incremental.
    """

    def __init__(self, info: StoreInfo, choice: SliceChoice) -> None:
        choice.check(info)
        self.info, self.choice = info, choice
        root = zarr.open_group(str(info.path), mode="r")
        self._var = root[choice.var]
        self._status = root["status"]
        self.seen = np.zeros(info.grid.n_blocks, dtype=bool)
        self.messages: dict[int, str] = {}
        self.blocks_read = 0
        self._totals = {"ok": 0, "not_converged": 0, "failed": 0}
        self.regions: list[tuple[slice, slice]] = []
        nx = info.coords[choice.x].size
        ny = info.coords[choice.y].size if choice.y else 1
        self.values = np.full((nx, ny), np.nan)
        self.status = np.full((nx, ny), _NOT_COMPUTED, dtype=np.uint8)

    def counts(self) -> dict[str, int]:
        """Blocks done and per-status point counts over the whole store (from the ledger entries read)."""
        return {"blocks_done": int(self.seen.sum()), "n_blocks": self.info.grid.n_blocks, **self._totals}

    def refresh(self) -> list[int]:
        """Read the blocks that became done since the last call; return their ids.
        ``regions`` then lists the (x, y) index ranges of the slice those blocks changed."""
        done = ledger.done_blocks(self.info.path, self.info.grid.n_blocks)
        new = np.flatnonzero(done & ~self.seen)
        self.regions = []
        for block_id in new.tolist():
            self._read_entry(block_id)
            if self._block_in_slice(block_id):
                self._read_block(block_id)
            self.seen[block_id] = True
        return new.tolist()

    def _read_entry(self, block_id: int) -> None:
        path = self.info.path / STATE_DIR / "blocks" / f"{block_id}.json"
        with open(path) as f:
            entry = json.load(f)
        for key in self._totals:
            self._totals[key] += int(entry.get(key, 0))
        for flat, message in entry.get("messages", {}).items():
            self.messages[int(flat)] = message

    def _block_in_slice(self, block_id: int) -> bool:
        slices = self.info.grid.block_slices(block_id)
        for axis, s in zip(self.info.axes, slices, strict=True):
            if axis in self.choice.fixed and not s.start <= self.choice.fixed[axis] < s.stop:
                return False
        return True

    def _index(self, dims: tuple[str, ...], slices: Mapping[str, slice]) -> tuple[tuple[Any, ...], list[str]]:
        """Index into an array with ``dims`` and the dims (x, y order) the result keeps."""
        index, kept = [], []
        for d in dims:
            if d in (self.choice.x, self.choice.y):
                index.append(slices.get(d, slice(None)))
                kept.append(d)
            else:
                index.append(self.choice.fixed[d])
        return tuple(index), kept

    def _place(self, target: np.ndarray, data: np.ndarray, kept: list[str], slices: Mapping[str, slice]) -> None:
        order = [d for d in (self.choice.x, self.choice.y) if d is not None]
        present = [d for d in order if d in kept]
        data = np.transpose(data, [kept.index(d) for d in present])
        if self.choice.y is None:
            data = data.reshape(-1, 1) if data.ndim else data.reshape(1, 1)
            sx = slices.get(self.choice.x, slice(None))
            target[sx, 0] = data[:, 0] if self.choice.x in kept else data[0, 0]
            return
        sx = slices.get(self.choice.x, slice(None))
        sy = slices.get(self.choice.y, slice(None))
        if self.choice.x not in kept:
            data = data[None, ...]
        if self.choice.y not in kept:
            data = data[..., None]
        target[sx, sy] = data

    def _read_block(self, block_id: int) -> None:
        slices = dict(zip(self.info.axes, self.info.grid.block_slices(block_id), strict=True))
        var_dims = self.info.variables[self.choice.var]
        index, kept = self._index(var_dims, slices)
        self._place(self.values, np.asarray(self._var[index], dtype=float), kept, slices)
        index, kept = self._index(self.info.axes, slices)
        self._place(self.status, np.asarray(self._status[index]), kept, slices)
        self.blocks_read += 1
        ny = self.values.shape[1]
        self.regions.append((slices.get(self.choice.x, slice(0, self.values.shape[0])),
                             slices.get(self.choice.y, slice(0, ny)) if self.choice.y else slice(0, 1)))

    def flat_index(self, i: int, j: int) -> int:
        """Grid flat index (the ledger's message key) of slice cell (i, j)."""
        at = []
        for axis in self.info.axes:
            if axis == self.choice.x:
                at.append(i)
            elif axis == self.choice.y:
                at.append(j)
            else:
                at.append(self.choice.fixed[axis])
        return int(np.ravel_multi_index(tuple(at), self.info.grid.shape))
