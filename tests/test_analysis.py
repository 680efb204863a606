"""maximum() and level_line() against functions whose answer is known, sampled on grids, and
on a real store (lazy, as open_result returns it)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from pairsweep.sweeps import Sweep, open_result, run_sweep
from pairsweep.sweeps.analysis import level_line, maximum
from pairsweep.sweeps.spec import SpecError


def _dataset(f, x, y, status=None) -> xr.Dataset:
    gx, gy = np.meshgrid(x, y, indexing="ij")
    values = f(gx, gy)
    status = np.zeros(values.shape, np.uint8) if status is None else status(gx, gy).astype(np.uint8)
    return xr.Dataset({"v": (("x", "y"), values), "status": (("x", "y"), status)}, coords={"x": x, "y": y})


def test_maximum_of_a_tilted_paraboloid_is_exact_between_grid_points():
    x0, y0 = 0.3712, -0.2139
    ds = _dataset(lambda x, y: 3 - (x - x0) ** 2 - 2 * (y - y0) ** 2 + 0.5 * (x - x0) * (y - y0),
                  np.linspace(-1, 1, 21), np.linspace(-1, 1, 21))
    m = maximum(ds, "v")
    assert m.refined and m.on_edge == ()
    assert m.coords["x"] == pytest.approx(x0, abs=1e-10) and m.coords["y"] == pytest.approx(y0, abs=1e-10)
    assert m.value == pytest.approx(3.0, abs=1e-12)
    assert m.grid_coords == {"x": pytest.approx(0.4), "y": pytest.approx(-0.2)}


def test_maximum_of_a_gaussian_on_a_log_axis_is_found_far_below_the_grid_spacing():
    lx0, y0 = np.log(10**-2.95), 1.234  # halfway between grid values
    x = np.geomspace(1e-4, 1e-1, 31)  # ln-step 0.23
    y = np.linspace(0.0, 3.0, 16)  # step 0.2
    ds = _dataset(lambda x, y: np.exp(-((np.log(x) - lx0) ** 2) / (2 * 0.8**2) - (y - y0) ** 2 / (2 * 0.5**2)), x, y)
    m = maximum(ds, "v", dims=["x", "y"])
    assert m.refined
    assert abs(np.log(m.coords["x"]) - lx0) < 0.01  # ~1/20 of a grid step
    assert abs(m.coords["y"] - y0) < 0.01
    assert 1 - m.value < 3e-3 and 1 - m.value < (1 - m.grid_value) / 4
    assert abs(np.log(m.grid_coords["x"]) - lx0) > 0.1  # the grid alone is half a step off


def test_failed_and_unconverged_points_are_never_the_maximum():
    x = y = np.linspace(-1, 1, 21)
    spike = lambda x, y: np.where(np.isclose(x, 0.5) & np.isclose(y, 0.5), 1e9, 1 - x**2 - y**2)
    bad = lambda x, y: np.where(np.isclose(x, 0.5) & np.isclose(y, 0.5), 2, np.where(np.isclose(x, 0.1) & np.isclose(y, 0.0), 1, 0))
    m = maximum(_dataset(spike, x, y, bad), "v")
    assert m.value == pytest.approx(1.0, abs=1e-12) and m.coords["x"] == pytest.approx(0.0, abs=1e-10)
    assert m.refined  # one neighbour missing still leaves enough ok points for the fit


def test_maximum_on_the_grid_edge_is_not_extrapolated():
    x = np.linspace(0, 1, 11)
    m = maximum(_dataset(lambda x, y: x - (y - 0.33) ** 2, x, np.linspace(0, 1, 11)), "v")
    assert m.on_edge == ("x",) and m.coords["x"] == 1.0 and m.coords["y"] == pytest.approx(0.33, abs=1e-10)


def test_level_line_of_a_paraboloid_is_the_circle_and_skips_failed_cells():
    x = y = np.linspace(-2, 2, 41)
    line = level_line(_dataset(lambda x, y: x**2 + y**2, x, y), "v", 1.0)
    r = np.hypot(line["x"], line["y"])
    assert len(line) > 40 and np.allclose(r, 1.0, atol=0.01)  # secant error of a 0.1 grid
    line = level_line(_dataset(lambda x, y: x**2 + y**2, x, y, lambda x, y: np.where(x > 0.5, 2, 0)), "v", 1.0)
    assert line["x"].max() <= 0.5 + 1e-12 and np.allclose(np.hypot(line["x"], line["y"]), 1.0, atol=0.01)


def test_level_crossings_in_one_dimension_and_on_a_log_axis():
    x = np.geomspace(1e-3, 1e2, 51)
    ds = xr.Dataset({"v": ("x", np.log10(x) - 0.4321), "status": ("x", np.zeros(51, np.uint8))}, coords={"x": x})
    crossing = level_line(ds, "v", 0.0)
    # log10(x) is linear in ln x: interpolation on the log axis is exact
    assert len(crossing) == 1 and crossing["x"][0] == pytest.approx(10**0.4321, rel=1e-10)


def test_bad_requests_name_the_field():
    ds = _dataset(lambda x, y: x + y, np.linspace(0, 1, 3), np.linspace(0, 1, 3))
    with pytest.raises(SpecError, match="dims: z not dimensions of v"):
        maximum(ds, "v", dims=["z"])
    with pytest.raises(SpecError, match="dims: v also varies along y"):
        maximum(ds, "v", dims=["x"])
    with pytest.raises(SpecError, match="variable: 'w' is not in the dataset"):
        level_line(ds, "w", 0.0)


def test_on_a_real_lazy_store(tmp_path, client):
    # f = sin(x) exp(-y²): maximum 1 at (π/2, 0); the grid misses it by 0.07 in x
    path = tmp_path / "s.zarr"
    run_sweep(Sweep(kernel="engine_kernels:SMOOTH", store=path,
                    axes={"x": np.linspace(0.5, 2.6, 8).tolist(), "y": np.linspace(-1, 1, 9).tolist()}),
              client=client, progress=False)
    ds = open_result(path)
    assert ds.f.chunks is not None  # lazy
    m = maximum(ds, "f")
    assert m.refined and abs(m.coords["x"] - np.pi / 2) < 0.01 and abs(m.coords["y"]) < 1e-9
    assert m.value == pytest.approx(1.0, abs=2e-3)
    line = level_line(ds, "f", 0.5)
    exact = np.sin(line["x"]) * np.exp(-line["y"] ** 2)
    assert len(line) > 10 and np.allclose(exact, 0.5, atol=0.03)


def _samples(x, y, v, status=None, learner_axes=None, extra=None):
    """An adaptive result as open_result gives it: samples along `point`, spec in attrs."""
    spec = {"adaptive": {"bounds": {"x": [0.0, 1.0], "y": [0.0, 1.0]}, "log": [], "learner_axes": learner_axes or {}}}
    status = np.zeros(len(v), np.uint8) if status is None else status
    coords = {"x": ("point", x), "y": ("point", y), "point": np.arange(len(v)), **(extra or {})}
    return xr.Dataset({"v": ("point", v), "status": ("point", status)}, coords=coords, attrs={"pairsweep": {"spec": spec}})


def test_maximum_of_scattered_samples_is_exact_for_a_paraboloid_and_careful_elsewhere():
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 1, 200), rng.uniform(0, 1, 200)

    def bowl(x, y):
        return 2.0 - (x - 0.43) ** 2 - 3 * (y - 0.61) ** 2 + 0.5 * (x - 0.43) * (y - 0.61)

    m = maximum(_samples(x, y, bowl(x, y)), "v")
    assert m.refined and m.coords == pytest.approx({"x": 0.43, "y": 0.61}, abs=1e-9) and m.value == pytest.approx(2.0)
    # a failed sample is never the maximum, even with the largest value
    v = bowl(x, y)
    v[0], status = 99.0, np.zeros(200, np.uint8)
    status[0] = 2
    assert maximum(_samples(x, y, v, status), "v").value == pytest.approx(2.0)
    # the top beyond the bounds: the best sample, unrefined, never an extrapolation
    tilted = 1.0 - (x - 1.2) ** 2 - (y - 0.5) ** 2
    m = maximum(_samples(x, y, tilted), "v")
    assert not m.refined and "outside" in m.note and m.value == tilted.max()
    # every neighbour on the best sample: no fit, no division by zero
    m = maximum(_samples(np.full(12, 0.5), np.full(12, 0.5), np.ones(12)), "v")
    assert not m.refined and "sit on it" in m.note


def test_maximum_of_scattered_samples_needs_one_learner_and_leaves_grids_with_a_point_axis_alone():
    x = np.tile(np.linspace(0.1, 0.9, 8), 2)
    y = np.repeat([0.2, 0.4], 8)
    v = -((x - 0.5) ** 2)
    doping = np.repeat([0.1, 0.2], 8)
    ds = _samples(x, y, v, learner_axes={"doping": [0.1, 0.2]}, extra={"doping": ("point", doping)})
    with pytest.raises(SpecError, match="doping: this result has one learner per doping value"):
        maximum(ds, "v")
    # a learner axis with one value, in a store with slots never written (NaN coordinates)
    one = _samples(x, y, v, learner_axes={"doping": [0.1]},
                   extra={"doping": ("point", np.where(np.arange(16) < 12, 0.1, np.nan))})
    assert maximum(one, "v").grid_value == v.max()  # not refused
    # a grid whose axis happens to be called "point" is a grid
    grid = xr.Dataset({"v": ("point", [0.0, 1.0, 0.0]), "status": ("point", np.zeros(3, np.uint8))},
                      coords={"point": [0.0, 1.0, 2.0]})
    assert maximum(grid, "v").coords == {"point": 1.0}
