"""End-to-end engine tests on a real LocalCluster with real Zarr stores on disk."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from engine_kernels import surface
from pairsweep.kernels import Status
from pairsweep.storage import failures, ledger, store_status
from pairsweep.sweeps import SpecError, SpecMismatchError, Sweep, open_result, run_sweep

X = np.linspace(-8.0, 8.0, 17)
Y = np.linspace(-7.0, 7.0, 15)


def make(tmp_path, kernel="engine_kernels:SMOOTH", **kw):
    base = dict(kernel=kernel, store=tmp_path / "r.zarr", axes={"x": X, "y": Y}, chunks={"x": 4, "y": 5})
    return Sweep(**{**base, **kw})


def test_stored_values_equal_direct_kernel_calls(tmp_path, client):
    report = run_sweep(make(tmp_path), client=client, progress=False)
    assert report.complete and report.blocks_computed == 15 and report.ok == X.size * Y.size

    ds = xr.open_zarr(tmp_path / "r.zarr")  # the plain xarray path users take
    assert ds["f"].dims == ("x", "y") and ds["moments"].dims == ("x", "y", "k")
    xx, yy = np.meshgrid(X, Y, indexing="ij")
    np.testing.assert_array_equal(ds["f"].values, surface(xx, yy))
    np.testing.assert_array_equal(ds["moments"].sel(k=2).values, xx**2)
    assert ds["n_calls"].dtype == np.int32 and int(ds["n_calls"].sum()) == X.size * Y.size
    assert np.all(ds["status"].values == Status.OK)
    assert ds["x"].attrs["units"] == "1" and "sin(x)" in ds["f"].attrs["long_name"]
    assert ds["status"].attrs["flag_meanings"].split()[0] == "ok"
    assert ds["f"].encoding["chunks"] == (4, 5)

    meta = ds.attrs["pairsweep"]
    assert meta["spec"]["kernel"] == "engine_kernels:SMOOTH"
    assert meta["spec"]["axes"]["x"] == X.tolist()
    assert {"zarr", "dask", "numpy", "python"} <= set(meta["versions"])
    assert meta["runs"][-1]["complete"] is True and meta["runs"][-1]["finished"] >= meta["runs"][-1]["started"]
    assert meta["host"] and meta["created"]


def test_point_failures_are_recorded_and_other_points_intact(tmp_path, client):
    report = run_sweep(make(tmp_path, kernel="engine_kernels:FLAKY"), client=client, progress=False)
    assert report.complete
    ds = open_result(tmp_path / "r.zarr")
    status = ds["status"].values
    raised = X < -5
    returned_nan = X > 5
    unconverged = Y > 5
    assert np.all(status[raised, :] == Status.FAILED)
    # NaN is a failure only at a point the kernel called ok; unconverged ones keep status 1
    assert np.all(status[np.ix_(returned_nan, ~unconverged)] == Status.FAILED)
    assert np.all(status[np.ix_(returned_nan, unconverged)] == Status.NOT_CONVERGED)
    middle = ~raised & ~returned_nan
    assert np.all(status[np.ix_(middle, unconverged)] == Status.NOT_CONVERGED)
    assert np.all(status[np.ix_(middle, ~unconverged)] == Status.OK)
    # points that raised hold the fill value; the others hold their real values
    assert np.all(np.isnan(ds["f"].values[raised, :]))
    xx, yy = np.meshgrid(X[middle], Y, indexing="ij")
    np.testing.assert_array_equal(ds["f"].values[middle, :], surface(xx, yy))

    rows = list(failures(tmp_path / "r.zarr"))
    by_point = {(r["x"], r["y"]): r["message"] for r in rows}
    assert by_point[(-8.0, -7.0)].startswith("ValueError: cannot solve at x=-8.0")
    assert "NaN for 'f'" in by_point[(6.0, 0.0)]
    assert by_point[(0.0, 6.0)] == "iteration cap"
    assert len(rows) == int((status != Status.OK).sum())

    summary = store_status(tmp_path / "r.zarr")
    assert (summary.ok, summary.not_converged, summary.failed) == (
        int((status == 0).sum()), int((status == 1).sum()), int((status == 2).sum()))


def test_a_raising_vectorized_block_is_retried_point_by_point(tmp_path, client):
    run_sweep(make(tmp_path, kernel="engine_kernels:FLAKY_BLOCK"), client=client, progress=False)
    ds = open_result(tmp_path / "r.zarr")
    bad = X < -5
    assert np.all(ds["status"].values[bad, :] == Status.FAILED)
    assert np.all(ds["status"].values[~bad, :] == Status.OK)
    xx, yy = np.meshgrid(X[~bad], Y, indexing="ij")
    np.testing.assert_array_equal(ds["f"].values[~bad, :], surface(xx, yy))


def test_resume_recomputes_only_blocks_missing_from_the_ledger(tmp_path, client):
    sweep = make(tmp_path)
    run_sweep(sweep, client=client, progress=False)
    store = tmp_path / "r.zarr"
    reference = open_result(store).load()
    # A torn block: its chunks are garbage and its ledger entry is gone.
    for block in (3, 7):
        (store / "_pairsweep" / "blocks" / f"{block}.json").unlink()
    chunk = store / "f" / "c" / "0" / "3"
    chunk.write_bytes(b"\x00garbage")

    report = run_sweep(sweep, client=client, progress=False)
    assert (report.blocks_already_done, report.blocks_computed) == (13, 2)
    last_run = sorted(ledger.read_run_log(store).items())[-1][1]
    assert sorted(last_run) == [3, 7]
    xr.testing.assert_identical(open_result(store).load(), reference.assign_attrs(open_result(store).attrs))


def test_finished_store_is_not_recomputed(tmp_path, client):
    sweep = make(tmp_path)
    run_sweep(sweep, client=client, progress=False)
    report = run_sweep(sweep, client=client, progress=False)
    assert report.blocks_computed == 0 and report.complete


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (dict(axes={"x": X[:-1], "y": Y}), "axes.x: store has 17 values in [-8, 8], spec has 16 values"),
        (dict(fixed={"delay": 0.01}), "fixed.delay: store has 0.0, spec has 0.01"),
        (dict(axes={"y": Y, "x": X}), "axes: store has ['x', 'y'], spec has ['y', 'x']"),
        (dict(kernel="engine_kernels:FLAKY"), "kernel: store has 'engine_kernels:SMOOTH'"),
        (dict(chunks={"x": 2, "y": 5}), "execution.chunks: store has"),
    ],
)
def test_resume_with_a_different_spec_is_refused(tmp_path, client, change, named):
    store = tmp_path / "r.zarr"
    run_sweep(make(tmp_path), client=client, progress=False)
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    with pytest.raises(SpecMismatchError) as info:
        run_sweep(make(tmp_path, **change), client=client, progress=False)
    assert named in str(info.value)
    assert str(info.value).startswith("store:")
    after = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    assert after == before  # nothing touched


def test_an_existing_foreign_directory_is_never_overwritten(tmp_path, client):
    store = tmp_path / "r.zarr"
    store.mkdir()
    (store / "precious.txt").write_text("user data")
    with pytest.raises(SpecMismatchError, match="not a pairsweep store"):
        run_sweep(make(tmp_path), client=client, progress=False)
    assert (store / "precious.txt").read_text() == "user data"


def test_bad_cluster_options_fail_before_anything_is_created(tmp_path):
    from pairsweep.sweeps import ClusterSpec

    with pytest.raises(SpecError, match=r"^cluster\.n_wrokers: not an option of a local cluster"):
        run_sweep(make(tmp_path, cluster=ClusterSpec("local", {"n_wrokers": 2})))
    assert not (tmp_path / "r.zarr").exists()


def test_ledger_entries_are_complete_json(tmp_path, client):
    run_sweep(make(tmp_path, kernel="engine_kernels:FLAKY"), client=client, progress=False)
    entries = sorted((tmp_path / "r.zarr" / "_pairsweep" / "blocks").iterdir())
    assert len(entries) == 15
    for path in entries:
        entry = json.loads(path.read_text())
        assert entry["ok"] + entry["not_converged"] + entry["failed"] == entry["points"]
    assert not list((tmp_path / "r.zarr" / "_pairsweep" / "blocks").glob(".tmp-*"))


def test_runs_on_an_existing_scheduler_address(tmp_path, client):
    from pairsweep.sweeps import ClusterSpec

    address = client.scheduler.address
    report = run_sweep(make(tmp_path, cluster=ClusterSpec("address", {"address": address})), progress=False)
    assert report.complete and report.ok == X.size * Y.size


@pytest.mark.slow
def test_a_block_that_kills_its_worker_is_reported_and_the_rest_completes(tmp_path):
    from distributed import Client, LocalCluster

    sweep = make(tmp_path, kernel="engine_kernels:CRASHING", axes={"x": [1.0, 2.0, 3.0, 4.0], "y": Y},
                 chunks={"x": 1, "y": 15})
    # Its own cluster: this test kills workers, which must not disturb the shared one.
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, Client(cluster) as own:
        first = run_sweep(sweep, client=own, progress=False)
        assert 2 in first.block_errors and "KilledWorker" in first.block_errors[2]
        assert not first.complete
        # A healthy block queued on a dying worker can be lost with it; it is reported too,
        # and the next run computes it. Only the block that kills workers stays undone.
        second = run_sweep(sweep, client=own, progress=False)
    assert list(second.block_errors) == [2]
    status = open_result(tmp_path / "r.zarr")["status"].values
    assert np.all(status[[0, 1, 3]] == Status.OK) and np.all(status[2] == Status.NOT_COMPUTED)
    assert store_status(tmp_path / "r.zarr").blocks_done == 3


def test_a_hundred_million_point_grid_is_prepared_without_per_point_work(tmp_path):
    import math

    from pairsweep.sweeps import prepare_store
    from pairsweep.sweeps.grid import BlockGrid
    from pairsweep.sweeps.spec import MAX_AUTO_BLOCK_POINTS

    axes = {"x": np.linspace(-1, 1, 10_000), "y": np.linspace(-1, 1, 10_000)}
    rs = prepare_store(make(tmp_path, axes=axes, chunks=None))
    grid = BlockGrid(rs.shape, rs.chunks)
    assert grid.n_points == 10**8
    assert math.prod(rs.chunks) <= MAX_AUTO_BLOCK_POINTS
    assert grid.n_blocks == math.ceil(10_000 / rs.chunks[0]) * math.ceil(10_000 / rs.chunks[1])
    assert not ledger.done_blocks(rs.store, grid.n_blocks).any()
    # creating the store is metadata only: no chunk exists before a task runs
    assert not (rs.store / "f" / "c").exists()


def test_dashboard_serves_the_block_tasks_progress(tmp_path, client):
    """Block tasks carry a 'pairsweep_block' key prefix, which is what the dashboard's
    progress panel groups them by; the dashboard itself (bokeh) must be up."""
    import urllib.request

    from distributed.utils import key_split

    report = run_sweep(make(tmp_path), client=client, progress=False)
    assert report.dashboard == client.dashboard_link
    with urllib.request.urlopen(client.dashboard_link, timeout=30) as response:
        assert response.status == 200
    assert key_split(f"pairsweep_block-20260101T000000.000000-abcdef-{3}") == "pairsweep_block"


def test_open_result_only_ok_masks_every_non_ok_point(tmp_path, client):
    run_sweep(make(tmp_path, kernel="engine_kernels:FLAKY"), client=client, progress=False)
    raw = open_result(tmp_path / "r.zarr").load()
    masked = open_result(tmp_path / "r.zarr", only_ok=True).load()
    ok = raw["status"].values == Status.OK
    assert 0 < ok.sum() < ok.size
    for name in ("f", "n_calls"):  # a float and an integer output
        assert np.all(np.isnan(masked[name].values[~ok]))
        np.testing.assert_array_equal(masked[name].values[ok], raw[name].values[ok])
    assert np.all(np.isnan(masked["moments"].values[~ok, :]))
