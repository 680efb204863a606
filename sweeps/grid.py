"""The grid of a sweep cut into blocks, by index arithmetic alone.

A block is one chunk of every stored variable: block ``b`` covers the hyper-rectangle
``block_slices(b)`` of the grid. Nothing per point or per block is materialised here; the
engine's one boolean per block (its done-mask) is all the client keeps, so client memory
grows with the number of blocks, at a byte each, never with the number of points.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["BlockGrid", "block_parameters"]

#: Blocks of the done-mask scanned at a time by :meth:`BlockGrid.iter_blocks`.
_SCAN = 65536


@dataclass(frozen=True, slots=True)
class BlockGrid:
    """A grid of ``shape`` points cut into blocks of (at most) ``chunks`` points per axis."""

    shape: tuple[int, ...]
    chunks: tuple[int, ...]

    @property
    def blocks_per_axis(self) -> tuple[int, ...]:
        return tuple(math.ceil(n / c) for n, c in zip(self.shape, self.chunks, strict=True))

    @property
    def n_blocks(self) -> int:
        return math.prod(self.blocks_per_axis)

    @property
    def n_points(self) -> int:
        return math.prod(self.shape)

    def block_index(self, block_id: int) -> tuple[int, ...]:
        """Chunk coordinates of block ``block_id`` (C order, the last axis fastest)."""
        if not 0 <= block_id < self.n_blocks:
            raise IndexError(f"block {block_id} outside 0..{self.n_blocks - 1}")
        return tuple(int(i) for i in np.unravel_index(block_id, self.blocks_per_axis))

    def block_slices(self, block_id: int) -> tuple[slice, ...]:
        return tuple(
            slice(i * c, min((i + 1) * c, n))
            for i, c, n in zip(self.block_index(block_id), self.chunks, self.shape, strict=True)
        )

    def block_shape(self, block_id: int) -> tuple[int, ...]:
        return tuple(s.stop - s.start for s in self.block_slices(block_id))

    def block_size(self, block_id: int) -> int:
        return math.prod(self.block_shape(block_id))

    def iter_blocks(self, skip: np.ndarray | None = None) -> Iterator[int]:
        """Block ids in order, lazily, leaving out those where ``skip[block_id]`` is true.

        The mask is scanned a slice at a time: listing every pending id at once would cost
        the client 8 bytes per block (120 MB for a 10**12-point grid).
        """
        if skip is None:
            yield from range(self.n_blocks)
            return
        for start in range(0, len(skip), _SCAN):
            for offset in np.flatnonzero(~skip[start : start + _SCAN]):
                yield start + int(offset)


def block_parameters(
    names: Sequence[str], coords: Sequence[np.ndarray], slices: tuple[slice, ...]
) -> dict[str, np.ndarray]:
    """Every swept parameter at every point of one block, as flat arrays in C order.

    Point ``j`` of the flat arrays is element ``np.unravel_index(j, block_shape)`` of the
    block, so kernel results reshape straight into the block's chunk.
    """
    pieces = [np.asarray(c)[s] for c, s in zip(coords, slices, strict=True)]
    mesh = np.meshgrid(*pieces, indexing="ij")
    return {name: m.ravel() for name, m in zip(names, mesh, strict=True)}
