"""spinor_bec: a point's status comes from an outcome flag set where the solve ends.

FAILED means no answer exists where the solver looks (T_c above the search range);
NOT_CONVERGED means an answer missed its tolerance. Messages are for people only.
"""

from __future__ import annotations

import math

import numpy as np

from pairsweep.kernels import Status
from pairsweep.kernels.spinor_bec import gap as gapmod
from pairsweep.kernels.spinor_bec import solve_gap_point
from pairsweep.kernels.spinor_bec.gap import GridSolution, Outcome, _channel_from_grids
from pairsweep.kernels.spinor_bec.physics import Model

# α = g̃_F²/(2π²) ≈ 3.2 with the static interaction: T_c lies above the 4 T_F search range
# (the kernel's own check_inputs refuses α > 1; a direct call reaches the solver)
TOO_STRONG = dict(delta_g=1e-3, g_F=8.0, T=0.0, g_F_plus=0.0, g=0.1, density_ratio=1.0,
                  mass_ratio=1.0, interaction="static")


def test_tc_above_the_search_range_fails_the_point() -> None:
    out = solve_gap_point(**TOO_STRONG)
    assert out["status"] == Status.FAILED
    assert out["message"].count("T_c above the search range 4 T_F") == 3  # ℓ = 0, 1, 2
    assert np.all(np.isnan(out["Tc"])) and np.all(np.isnan(out["gap"]))


def test_the_scout_tc_search_flags_the_failure_itself() -> None:
    model = Model(delta_g=1e-3, g_F=8.0, g_F_plus=0.0, g=0.1, density_ratio=1.0, mass_ratio=1.0)
    scout = gapmod.build(model, gapmod._SPEC_SCOUT, static=True)
    r = gapmod.solve_tc(scout, 0, gapmod.TC_FLOOR)
    assert r.outcome is Outcome.FAILED and not r.ok and math.isnan(r.Tc)


def test_newton_out_of_iterations_is_not_converged() -> None:
    model = Model(delta_g=1e-2, g_F=1.0, g_F_plus=0.0, g=0.1, density_ratio=1.0, mass_ratio=1.0)
    scout = gapmod.build(model, gapmod._SPEC_SCOUT)
    tc = gapmod.solve_tc(scout, 0, gapmod.TC_FLOOR)
    assert tc.outcome is Outcome.OK and tc.Tc > 1e-3
    guess = gapmod._bcs_guess(tc.vector, scout.k, tc.Tc, 0.0)
    one_step = gapmod.solve_gap(scout, 0, 0.0, guess, max_iter=1)
    assert one_step.outcome is Outcome.NOT_CONVERGED and "Newton stopped" in one_step.message
    assert gapmod.solve_gap(scout, 0, 0.0, guess).outcome is Outcome.OK


def _grid(gap: float = 0.1, tc: float = 0.05, outcome: Outcome = Outcome.OK, message: str = "") -> GridSolution:
    return GridSolution(gap=gap, tc=tc, iterations=5, residual=1e-13, outcome=outcome, message=message, mu=1.0)


def test_a_channel_reports_the_check_grids_outcome_first_then_the_main_grids_then_refinement() -> None:
    agree = _channel_from_grids(_grid(), _grid(gap=0.1 * (1 + 1e-9)), number=False)
    assert agree.outcome is Outcome.OK and agree.message == "" and agree.refine_diff_gap < 1e-8
    drift = _channel_from_grids(_grid(), _grid(gap=0.1 * (1 + 1e-4)), number=False)
    assert drift.outcome is Outcome.NOT_CONVERGED and drift.message.startswith("grid refinement changes Δ by 1.0e-04")
    failed_main = _channel_from_grids(_grid(outcome=Outcome.FAILED, message="main"), _grid(), number=False)
    assert (failed_main.outcome, failed_main.message) == (Outcome.FAILED, "main")
    both = _channel_from_grids(_grid(outcome=Outcome.FAILED, message="main"),
                               _grid(outcome=Outcome.NOT_CONVERGED, message="check"), number=False)
    assert (both.outcome, both.message) == (Outcome.NOT_CONVERGED, "check")
