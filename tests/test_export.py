"""`pairsweep export`: netCDF with the provenance readable back, long-format CSV for any number
of axes, written from real stores."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import xarray as xr

from pairsweep.sweeps import Sweep, open_result, run_sweep
from pairsweep.sweeps.cli import main
from pairsweep.sweeps.export import export_csv

X = [-6.0, 0.0, 1.0, 6.0]  # FLAKY: x < -5 raises (failed, with a message), x > 5 gives NaN (failed)
Y = [0.0, 0.5, 6.0]  # y > 5: not converged, "iteration cap"


@pytest.fixture(scope="module")
def store(tmp_path_factory, client):
    path = tmp_path_factory.mktemp("export") / "r.zarr"
    run_sweep(Sweep(kernel="engine_kernels:FLAKY", store=path, axes={"x": X, "y": Y}, chunks={"x": 2, "y": 3}),
              client=client, progress=False)
    return path


def test_netcdf_holds_every_value_and_the_provenance_as_json(store, tmp_path):
    out = tmp_path / "r.nc"
    assert main(["export", str(store), "-o", str(out)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["r.nc"]  # no temporary file left
    src = open_result(store).load()
    with xr.open_dataset(out, engine="scipy") as nc:
        nc = nc.load()
    np.testing.assert_array_equal(nc.f.values, src.f.values)  # NaNs in the same places
    np.testing.assert_array_equal(nc.moments.values, src.moments.values)
    np.testing.assert_array_equal(nc.status.values, src.status.values.astype(int))
    assert sorted(np.unique(nc.status.values)) == [0, 1, 2]
    meta = json.loads(nc.attrs["pairsweep"])
    assert meta == src.attrs["pairsweep"] and nc.attrs["pairsweep_json_attrs"] == "pairsweep"
    assert nc.status.attrs["flag_meanings"].split()[:3] == ["ok", "not_converged", "failed"]


def test_csv_is_one_row_per_point_with_status_and_messages(store, tmp_path):
    out = tmp_path / "r.csv"
    assert main(["export", str(store), "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == len(X) * len(Y)
    assert list(rows[0]) == ["x", "y", "status", "f", "moments[k=0]", "moments[k=1]", "moments[k=2]", "n_calls", "message"]
    by_point = {(float(r["x"]), float(r["y"])): r for r in rows}
    assert by_point[(1.0, 0.5)]["status"] == "ok" and float(by_point[(1.0, 0.5)]["f"]) == pytest.approx(np.sin(1) * np.exp(-0.25))
    assert float(by_point[(1.0, 0.5)]["moments[k=2]"]) == 1.0
    assert by_point[(-6.0, 0.0)]["status"] == "failed" and "cannot solve at x=-6.0" in by_point[(-6.0, 0.0)]["message"]
    assert by_point[(0.0, 6.0)]["status"] == "not_converged" and by_point[(0.0, 6.0)]["message"] == "iteration cap"
    assert by_point[(6.0, 0.0)]["status"] == "failed"


def test_csv_of_a_three_axis_store_in_one_row_slabs_matches_the_function(tmp_path, client):
    path = tmp_path / "s.zarr"
    axes = {"x": [0.1, 0.2, 0.3], "y": [-1.0, 1.0], "delay": [0.0, 1e-6]}
    run_sweep(Sweep(kernel="engine_kernels:SMOOTH", store=path, axes=axes), client=client, progress=False)
    out = tmp_path / "s.csv"
    export_csv(open_result(path), out, rows_per_slab=1)  # one x value per slab: 3 slabs
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 12 and rows[0].keys() >= {"x", "y", "delay", "f"}
    assert len({(r["x"], r["y"], r["delay"]) for r in rows}) == 12
    for r in rows:
        assert float(r["f"]) == pytest.approx(np.sin(float(r["x"])) * np.exp(-float(r["y"]) ** 2), rel=1e-12)


def test_existing_files_and_unknown_formats_are_refused(store, tmp_path, capsys):
    out = tmp_path / "r.csv"
    out.write_text("mine\n")
    assert main(["export", str(store), "-o", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err and out.read_text() == "mine\n"
    assert main(["export", str(store), "-o", str(out), "--force"]) == 0 and out.read_text() != "mine\n"
    assert main(["export", str(store), "-o", str(tmp_path / "r.xlsx")]) == 2
    assert "allowed: .nc, .csv" in capsys.readouterr().err
