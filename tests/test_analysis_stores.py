"""maximum() and level_line() on real stores of the physics kernels, checked against a direct
1-D solve of the same kernel (scipy on ``solve_point``) along one grid line."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar

from pairsweep.kernels.mixd_bilayer.kernel import solve_point as mixd_point
from pairsweep.kernels.multigap_lifshitz.kernel import solve_point as multigap_point
from pairsweep.sweeps import Sweep, open_result, run_sweep
from pairsweep.sweeps.analysis import level_line, maximum


@pytest.mark.slow  # a real sweep and a root find: seconds; tests/test_analysis.py keeps a quick real-store case
def test_mixd_crossover_line_matches_a_root_find_of_the_kernel(tmp_path, client):
    # Seed Fig. 3: sc_cc_balance changes sign at J_perp ~ 1.1 V. A coarse grid, two dopings.
    doping = 8 / 30
    J = np.round(np.linspace(0.9, 1.3, 5), 12)  # step h = 0.1 V
    path = tmp_path / "mixd.zarr"
    run_sweep(Sweep(kernel="mixd_bilayer", store=path, axes={"J_perp": J.tolist(), "doping": [4 / 30, doping]},
                    fixed={"L": 30, "d": 1, "t_par": 0.1}), client=client, progress=False)
    ds = open_result(path)
    line = level_line(ds, "sc_cc_balance", 0.0, dims=["J_perp", "doping"])
    on_row = line[np.isclose(line["doping"], doping)]
    assert len(on_row) == 1  # one crossing of that grid row
    j_line = float(on_row["J_perp"].iloc[0])

    j_root = brentq(lambda j: mixd_point(J_perp=j, doping=doping, L=30, d=1, t_par=0.1)["sc_cc_balance"],
                    1.0, 1.2, xtol=1e-6)
    # Linear interpolation across the cell [J_i, J_i+1] misses a root by at most
    # (h²/8)|f''|/|f'|; f' (the cell's slope) and f'' (the second differences at its two ends)
    # come from the stored row itself, so the tolerance is the grid's, with a factor 2 for
    # these estimates.
    f = ds.sc_cc_balance.sel(doping=doping).values
    h = J[1] - J[0]
    i = int(np.searchsorted(J, j_line)) - 1
    f1 = abs(f[i + 1] - f[i]) / h
    f2 = max(abs(f[i + 1] - 2 * f[i] + f[i - 1]), abs(f[i + 2] - 2 * f[i + 1] + f[i])) / h**2
    tol = 2 * h**2 / 8 * f2 / f1
    assert 1.0 < j_root < 1.2 and tol < 0.05 * h  # a real constraint, far below a grid step
    assert abs(j_line - j_root) < tol, (j_line, j_root, tol)


@pytest.mark.slow
def test_multigap_dome_maximum_matches_a_direct_maximisation_of_the_kernel(tmp_path, client):
    # Seed Fig. 10, case A: the dome top sits near eta ~ 1, g ~ 0.4-0.45.
    eta = np.round(np.linspace(0.6, 1.4, 9), 12)  # step h = 0.1
    g = [0.37, 0.41, 0.45]
    path = tmp_path / "dome.zarr"
    run_sweep(Sweep(kernel="multigap_lifshitz", store=path, axes={"eta": eta.tolist(), "g": g},
                    fixed={"case": "A"}), client=client, progress=False)
    ds = open_result(path)
    m = maximum(ds, "Tc_K", dims=["eta", "g"])
    assert m.refined and m.on_edge == ()
    g0 = m.grid_coords["g"]
    line_max = maximum(ds.sel(g=g0), "Tc_K", dims=["eta"])  # the same fit along the grid line
    assert line_max.refined

    direct = minimize_scalar(lambda e: -multigap_point(eta=e, g=g0, case="A")["Tc_K"],
                             bounds=(m.grid_coords["eta"] - 0.1, m.grid_coords["eta"] + 0.1),
                             method="bounded", options={"xatol": 1e-4})
    eta_direct, tc_direct = float(direct.x), -float(direct.fun)
    # A parabola through samples h apart cannot follow the cubic term f'''x^3/6: that moves its
    # top by ~h^2 |f'''| / (6 |f''|) and its height by ~|f'''| h^3 / 6. f'' and f''' come from
    # finite differences of the stored line around the grid maximum, so the tolerances are the
    # grid's, with a factor 2 for these estimates.
    f = ds.Tc_K.sel(g=g0).values
    h = eta[1] - eta[0]
    i = int(np.argmax(f))
    f2 = abs(f[i + 1] - 2 * f[i] + f[i - 1]) / h**2
    f3 = max(abs(f[j + 2] - 3 * f[j + 1] + 3 * f[j] - f[j - 1]) for j in (i - 1, i)) / h**3
    tol_eta, tol_tc = 2 * h**2 * f3 / (6 * f2), 2 * f3 * h**3 / 6
    assert tol_eta < h / 4 and tol_tc < 0.01 * tc_direct  # real constraints, well inside a step
    assert abs(line_max.coords["eta"] - eta_direct) < tol_eta, (line_max.coords, eta_direct, tol_eta)
    assert abs(line_max.value - tc_direct) < tol_tc, (line_max.value, tc_direct, tol_tc)
    assert abs(line_max.grid_value - tc_direct) > abs(line_max.value - tc_direct)  # the refinement helps
    # The 2-D top can only be higher than the top of one line through it (up to the fit's error).
    assert m.value > tc_direct * (1 - 5e-3)
