import numpy as np
import pytest

from pairsweep.sweeps.grid import BlockGrid, block_parameters


def test_blocks_tile_the_grid_exactly_once():
    grid = BlockGrid(shape=(7, 5, 3), chunks=(3, 2, 3))
    assert grid.blocks_per_axis == (3, 3, 1)
    hits = np.zeros(grid.shape, dtype=int)
    for b in grid.iter_blocks():
        hits[grid.block_slices(b)] += 1
        assert grid.block_size(b) == np.prod(grid.block_shape(b))
    assert np.all(hits == 1)
    assert sum(grid.block_size(b) for b in grid.iter_blocks()) == grid.n_points == 105


def test_iter_blocks_skips_done_ones_lazily():
    grid = BlockGrid(shape=(10,), chunks=(3,))
    done = np.array([True, False, True, False])
    assert list(grid.iter_blocks(skip=done)) == [1, 3]


def test_block_index_is_c_order_and_bounds_checked():
    grid = BlockGrid(shape=(4, 4), chunks=(2, 2))
    assert [grid.block_index(b) for b in range(4)] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    with pytest.raises(IndexError):
        grid.block_index(4)


def test_block_parameters_reshape_into_the_block():
    x, y = np.array([0.0, 1.0, 2.0]), np.array([10.0, 20.0])
    params = block_parameters(["x", "y"], [x, y], (slice(1, 3), slice(0, 2)))
    assert params["x"].reshape(2, 2).tolist() == [[1.0, 1.0], [2.0, 2.0]]
    assert params["y"].reshape(2, 2).tolist() == [[10.0, 20.0], [10.0, 20.0]]


def test_huge_grid_costs_no_per_point_memory():
    grid = BlockGrid(shape=(10_000, 10_000), chunks=(100, 1000))  # 1e8 points
    assert grid.n_blocks == 1000
    blocks = grid.iter_blocks()
    assert next(blocks) == 0 and grid.block_slices(999) == (slice(9900, 10000), slice(9000, 10000))
