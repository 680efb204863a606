"""A ``bipolaron_qmc`` sweep killed with SIGKILL and resumed equals the kernel called directly.

The engine's kill-and-resume guarantee holds for any deterministic kernel; what this adds is
that the Monte Carlo kernel is one in the engine's worker processes too: its random stream
(numba's, per thread) is seeded inside each point, so no state of the killed workers leaks
into the resumed run.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from kill_helpers import kill_after_blocks
from pairsweep.kernels.bipolaron.qmc import solve_point
from pairsweep.storage import open_result
from pairsweep.sweeps import load_spec, run_sweep

CHAINS = 6
POINT = dict(model="bond_peierls", lam=0.4, t_over_omega=0.5, U_over_t=8.0, d=1, beta=4.0,
             max_sweeps=4000, seed=5)


def spec_text(store: Path) -> str:
    fixed = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in POINT.items())
    return textwrap.dedent(f"""
        kernel = "bipolaron_qmc"
        store = "{store}"
        [axes]
        chain = {{ values = {list(range(CHAINS))} }}
        [fixed]
        """) + fixed + textwrap.dedent("""
        [execution]
        max_in_flight = 2
        [cluster]
        kind = "local"
        n_workers = 2
        dashboard_address = ":0"
        """)


@pytest.mark.slow
def test_killed_qmc_sweep_resumes_to_the_direct_results(tmp_path, subprocess_env, client):
    store = tmp_path / "qmc.zarr"
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(spec_text(store))
    done_at_kill = int(kill_after_blocks(spec_path, store, CHAINS, 2, subprocess_env, 300).sum())
    assert 2 <= done_at_kill < CHAINS, "the kill must land mid-sweep"

    report = run_sweep(load_spec(spec_path), client=client, progress=False)
    assert report.complete and report.blocks_already_done == done_at_kill

    ds = open_result(store)
    for chain in range(CHAINS):
        direct = solve_point(**POINT, chain=chain)
        stored = ds.sel(chain=chain)
        assert int(stored.status) == int(direct["status"])
        for name in ("e_bp", "e_bp_err", "e_p", "mass_bp_bridge", "r2_bp_half_beta", "sweeps"):
            # bit for bit: NaN where the direct call gives NaN, the same float elsewhere
            np.testing.assert_array_equal(stored[name].values, np.asarray(direct[name]),
                                          err_msg=f"chain {chain}: {name}")
