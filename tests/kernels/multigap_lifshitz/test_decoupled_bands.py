"""g_inter = 0 (inside the declared range) decouples the subbands: each gap is then its own
single-band BCS value. It used to fail with LinAlgError (a band without a gap made
1/(2E) = 1/(2|ξ|) infinite at its Fermi node)."""

from __future__ import annotations

import dataclasses

import numpy as np

from pairsweep.kernels import Status
from pairsweep.kernels.multigap_lifshitz import gap as lg
from pairsweep.kernels.multigap_lifshitz.kernel import point_model, solve_point


def test_decoupled_bands_have_their_single_band_gaps():
    coupled_to_nothing = solve_point(g_inter=0.0)
    assert coupled_to_nothing["status"] == Status.OK, coupled_to_nothing.get("message")

    # Band 3 alone (bands 1 and 2 without any coupling): the same T_c and the same gap.
    band3_alone = solve_point(g_inter=0.0, g_low=0.0)
    assert band3_alone["status"] == Status.OK
    assert coupled_to_nothing["Tc_K"] == band3_alone["Tc_K"]
    np.testing.assert_allclose(coupled_to_nothing["gap_meV"][2], band3_alone["gap_meV"][2], rtol=1e-12)
    assert coupled_to_nothing["gap_meV"][2] > 10.0  # a real gap, tens of meV

    # Bands 1 and 2 alone (g_low = 0.1, nothing else): their BCS instability does not exist
    # above the resolved pairing scale (largest eigenvalue < 1 at the T floor), so their
    # single-band BCS gap, and the one of the decoupled problem, is zero.
    model, mu0 = point_model(g_inter=0.0)
    low_only = dataclasses.replace(model, g=np.diag([0.1, 0.1, 0.0]))
    mesh = lg.build_mesh(low_only, mu0)
    assert lg.lambda_max(low_only, mesh, 2.0 * model.s_min) < 1.0
    assert lg.critical_temperature(low_only, mesh, 2.0 * model.s_min).Tc == 0.0
    np.testing.assert_array_equal(coupled_to_nothing["gap_meV"][:2], [0.0, 0.0])

    # and g_inter -> 0 approaches it continuously
    weak = solve_point(g_inter=1e-6)
    assert weak["status"] == Status.OK
    np.testing.assert_allclose(weak["gap_meV"][2], coupled_to_nothing["gap_meV"][2], rtol=1e-8)
    assert np.all(np.abs(weak["gap_meV"][:2]) < 1e-3)
