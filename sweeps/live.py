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

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from pairsweep.storage import ledger
from pairsweep.storage.axes import axis_size
from pairsweep.storage.axes import axis_values
from pairsweep.storage.errors import StoreError
from pairsweep.storage.layout import read_root_attrs
from pairsweep.storage.parts import _union_index, part_stores

from .grid import BlockGrid
from .spec import SpecError

__all__ = ["EntryTally", "LiveSlice", "Piece", "SliceChoice", "StoreInfo"]

_NOT_COMPUTED = 255


class EntryTally:
    """Per-status point counts over the ledger entries read so far."""

    def __init__(self) -> None:
        self.totals = {"ok": 0, "not_converged": 0, "failed": 0}

    def read(self, store: str | Path, block_id: int) -> dict[int, str]:
        """Count done block ``block_id`` of ``store``; its failure messages by the point's
        flat index in that store."""
        entry = ledger.read_entry(store, block_id)
        for key in self.totals:
            self.totals[key] += int(entry.get(key, 0))
        return {int(flat): message for flat, message in entry.get("messages", {}).items()}


@dataclass(frozen=True)
class Piece:
    """One part of a store (:mod:`pairsweep.storage.parts`; a store never extended is one
    piece): its directory, its block grid, and for each axis the union-grid index of each
    of its values."""

    path: Path
    grid: BlockGrid
    index: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class StoreInfo:
    """What the view needs to know about a store: its axes (over the union of its parts),
    variables and their dimensions, and its pieces."""

    path: Path
    kernel: str
    axes: tuple[str, ...]
    coords: dict[str, np.ndarray]
    variables: dict[str, tuple[str, ...]]
    attrs: dict[str, dict[str, Any]]
    pieces: tuple[Piece, ...]
    shape: tuple[int, ...]  # the union grid's

    @property
    def n_blocks(self) -> int:
        return sum(p.grid.n_blocks for p in self.pieces)

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
        try:
            stores = part_stores(path)
        except StoreError as exc:
            raise SpecError(str(exc)) from None
        if len(stores) == 1:
            grid = _grid(spec, axes)
            pieces = (Piece(path, grid, tuple(np.arange(n) for n in grid.shape)),)
            return cls(path, spec["kernel"], axes, coords, variables, attrs, pieces, grid.shape)
        # an extended store: the union grid, numeric axes sorted, as open_result gives it
        specs = [read_root_attrs(p)["pairsweep"]["spec"] for p in stores]
        values = [{a: np.asarray(axis_values(p, sp, a)) for a in axes} for p, sp in zip(stores, specs, strict=True)]
        for a in axes:
            coords[a] = _union_index([v[a] for v in values])
        position = {a: {x: i for i, x in enumerate(coords[a].tolist())} for a in axes}
        pieces = []
        for p, sp, v in zip(stores, specs, values, strict=True):
            index = tuple(np.array([position[a][x] for x in v[a].tolist()], dtype=np.int64) for a in axes)
            pieces.append(Piece(p, _grid(sp, axes), index))
        shape = tuple(coords[a].size for a in axes)
        return cls(path, spec["kernel"], axes, coords, variables, attrs, tuple(pieces), shape)


def _grid(spec: Mapping[str, Any], axes: tuple[str, ...]) -> BlockGrid:
    # a long axis is only summarised in the spec ({size, first, last, sha256})
    return BlockGrid(tuple(axis_size(spec["axes"][a]) for a in axes), tuple(spec["chunks"][a] for a in axes))


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
    """One slice of a store, kept up to date block by block (of every part of an extended
    store, each placed on the union grid).

    Attributes
    ----------
    values, status
        Arrays shaped (nx, ny) (ny = 1 for a line): the variable and the status codes (255
        where the block is not done yet).
    messages
        Failure message by the point's flat index in the (union) grid (all blocks seen so far).
    blocks_read
        Blocks whose data this object has read: the test that refreshes stay incremental.
    regions
        After :meth:`refresh`: the (x, y) index ranges of the slice that the new blocks
        changed, or None when one of them is not a range (an extension's values interleave
        with the original ones): then the whole slice is to be redrawn.
    """

    def __init__(self, info: StoreInfo, choice: SliceChoice) -> None:
        choice.check(info)
        self.info, self.choice = info, choice
        self._arrays = []
        for piece in info.pieces:
            root = zarr.open_group(str(piece.path), mode="r")
            self._arrays.append((root[choice.var], root["status"]))
        self.seen = [np.zeros(piece.grid.n_blocks, dtype=bool) for piece in info.pieces]
        # block ids as refresh() reports them: part 0's own, then each further part's after
        # those of the parts before it
        self._first_id = np.cumsum([0] + [piece.grid.n_blocks for piece in info.pieces])
        self.messages: dict[int, str] = {}
        self.blocks_read = 0
        self._tally = EntryTally()
        self.regions: list[tuple[slice, slice]] | None = []
        nx = info.coords[choice.x].size
        ny = info.coords[choice.y].size if choice.y else 1
        self.values = np.full((nx, ny), np.nan)
        self.status = np.full((nx, ny), _NOT_COMPUTED, dtype=np.uint8)

    def counts(self) -> dict[str, int]:
        """Blocks done and per-status point counts over the whole store (from the ledger entries read)."""
        return {"blocks_done": int(sum(s.sum() for s in self.seen)), "n_blocks": self.info.n_blocks,
                **self._tally.totals}

    def refresh(self) -> list[int]:
        """Read the blocks that became done since the last call; return their ids.
        ``regions`` then lists the (x, y) index ranges of the slice those blocks changed."""
        self.regions = []
        new_ids = []
        for k, piece in enumerate(self.info.pieces):
            done = ledger.done_blocks(piece.path, piece.grid.n_blocks)
            for block_id in np.flatnonzero(done & ~self.seen[k]).tolist():
                self._read_entry(k, block_id)
                at = self._block_in_slice(k, block_id)
                if at is not None:
                    self._read_block(k, block_id, at)
                self.seen[k][block_id] = True
                new_ids.append(int(self._first_id[k]) + block_id)
        return new_ids

    def _read_entry(self, k: int, block_id: int) -> None:
        piece = self.info.pieces[k]
        for flat, message in self._tally.read(piece.path, block_id).items():
            local = np.unravel_index(flat, piece.grid.shape)
            union = tuple(int(piece.index[a][i]) for a, i in enumerate(local))
            self.messages[int(np.ravel_multi_index(union, self.info.shape))] = message

    def _block_in_slice(self, k: int, block_id: int) -> dict[str, int] | None:
        """The piece-local index of every fixed axis within block ``block_id`` of piece
        ``k``, or None when the block holds none of the slice."""
        piece = self.info.pieces[k]
        at = {}
        for a, (axis, s) in enumerate(zip(self.info.axes, piece.grid.block_slices(block_id), strict=True)):
            if axis in self.choice.fixed:
                hits = np.flatnonzero(piece.index[a][s] == self.choice.fixed[axis])
                if hits.size == 0:
                    return None
                at[axis] = s.start + int(hits[0])
        return at

    def _index(self, dims: tuple[str, ...], local: Mapping[str, slice], at: Mapping[str, int]
               ) -> tuple[tuple[Any, ...], list[str]]:
        """Index into a piece's array with ``dims`` and the dims (x, y order) the result keeps."""
        index, kept = [], []
        for d in dims:
            if d in (self.choice.x, self.choice.y):
                index.append(local.get(d, slice(None)))
                kept.append(d)
            else:
                index.append(at[d] if d in at else self.choice.fixed[d])  # an extra dimension: no parts
        return tuple(index), kept

    def _place(self, target: np.ndarray, data: np.ndarray, kept: list[str], where: Mapping[str, np.ndarray]) -> None:
        """Put ``data`` (dims ``kept``) at the union indices ``where`` of the slice."""
        order = [d for d in (self.choice.x, self.choice.y) if d is not None]
        present = [d for d in order if d in kept]
        data = np.transpose(data, [kept.index(d) for d in present])
        ix = where.get(self.choice.x, np.arange(target.shape[0]))
        if self.choice.y is None:
            data = data.reshape(-1) if data.ndim else data.reshape(1)
            target[ix, 0] = data if self.choice.x in kept else data[0]
            return
        iy = where.get(self.choice.y, np.arange(target.shape[1]))
        if self.choice.x not in kept:
            data = data[None, ...]
        if self.choice.y not in kept:
            data = data[..., None]
        target[np.ix_(ix, iy)] = data

    def _read_block(self, k: int, block_id: int, at: Mapping[str, int]) -> None:
        piece = self.info.pieces[k]
        var, status = self._arrays[k]
        local = dict(zip(self.info.axes, piece.grid.block_slices(block_id), strict=True))
        where = {axis: piece.index[a][local[axis]] for a, axis in enumerate(self.info.axes)}
        index, kept = self._index(self.info.variables[self.choice.var], local, at)
        self._place(self.values, np.asarray(var[index], dtype=float), kept, where)
        index, kept = self._index(self.info.axes, local, at)
        self._place(self.status, np.asarray(status[index]), kept, where)
        self.blocks_read += 1
        if self.regions is not None:
            nx, ny = self.values.shape
            ranges = [_as_range(where.get(self.choice.x, np.arange(nx))),
                      _as_range(where.get(self.choice.y, np.arange(ny))) if self.choice.y else slice(0, 1)]
            self.regions = None if None in ranges else [*self.regions, (ranges[0], ranges[1])]

    def flat_index(self, i: int, j: int) -> int:
        """Grid flat index (the message key) of slice cell (i, j), over the union grid."""
        at = []
        for axis in self.info.axes:
            if axis == self.choice.x:
                at.append(i)
            elif axis == self.choice.y:
                at.append(j)
            else:
                at.append(self.choice.fixed[axis])
        return int(np.ravel_multi_index(tuple(at), self.info.shape))


def _as_range(indices: np.ndarray) -> slice | None:
    """``indices`` as a slice when they are consecutive and increasing, else None."""
    if indices.size and np.array_equal(indices, np.arange(indices[0], indices[0] + indices.size)):
        return slice(int(indices[0]), int(indices[0]) + indices.size)
    return None
