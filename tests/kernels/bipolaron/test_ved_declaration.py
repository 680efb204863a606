"""The `bipolaron` VED kernel's declaration: direct calls reject unknown keywords, and its
cost hint gives one-point automatic blocks (points take tens of seconds to minutes)."""

from __future__ import annotations

import numpy as np
import pytest

from pairsweep.kernels import get_kernel
from pairsweep.kernels.bipolaron.ved import solve_point
from pairsweep.sweeps import Sweep, resolve


def test_a_misspelt_keyword_is_rejected_not_ignored():
    # "lamda" would otherwise run the default λ = 0.5 and return a plausible wrong point
    with pytest.raises(TypeError, match="lamda"):
        solve_point(model="bond_peierls", lamda=2.0, d=1)


def test_automatic_blocks_of_the_ved_solver_hold_one_point(tmp_path):
    kernel = get_kernel("bipolaron")
    assert kernel.seconds_per_point >= 10.0
    rs = resolve(Sweep(kernel="bipolaron", store=str(tmp_path / "s.zarr"),
                       axes={"lam": np.linspace(0.2, 1.0, 9), "t_over_omega": [0.25, 0.5]},
                       fixed={"d": 1}))
    assert rs.chunks == (1, 1)
