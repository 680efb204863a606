"""Extending a grid store: a superset spec computes only the new points, in new parts, and
the store opens as one sorted Dataset over the union grid (real LocalCluster, real stores)."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import xarray as xr

from pairsweep.kernels import Status
from pairsweep.storage import failures, ledger, store_status
from pairsweep.storage.layout import read_root_attrs, update_root_attrs
from pairsweep.storage.parts import PARTS_COPY, PARTS_FILE, list_parts, part_path, part_stores
from pairsweep.storage.verify import verify_store
from pairsweep.sweeps import SpecError, SpecMismatchError, Sweep, open_result, prepare_store, run_sweep
from pairsweep.sweeps.cli import main
from pairsweep.sweeps.extend import match_axes

X0 = np.linspace(-2.0, 2.0, 5)
Y0 = np.array([0.0, 0.5, 1.0])


def smooth(store, x=X0, y=Y0, kernel="engine_kernels:SMOOTH", **kw) -> Sweep:
    return Sweep(kernel=kernel, store=store, axes={"x": x, "y": y}, chunks={"x": 2, "y": 2}, **kw)


def frozen_files(store) -> dict[str, bytes]:
    """Every file of part 0 that holds results or its record of them: the arrays, the
    ledger, the creation record (not the root attributes, which gain run records). These
    must never change when extending."""
    keep = ("_pairsweep/blocks/", "_pairsweep/manifest.json", "_pairsweep/pristine/")
    out = {}
    for path in sorted(store.rglob("*")):
        rel = path.relative_to(store).as_posix()
        if path.is_file() and rel != "zarr.json" and (not rel.startswith("_pairsweep") or rel.startswith(keep)):
            out[rel] = path.read_bytes()
    return out


def assert_same_result(extended, reference) -> None:
    """Values and status equal bit for bit, coordinates equal, through open_result."""
    a, b = open_result(extended).load(), open_result(reference).load()
    for dim in ("x", "y", "k"):
        np.testing.assert_array_equal(a[dim].values, b[dim].values)
    for name in ("f", "moments", "n_calls", "status"):
        assert a[name].dtype == b[name].dtype, name
        assert a[name].dims == b[name].dims
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
        assert a[name].attrs == b[name].attrs


# ---------------------------------------------------------------------------------------
# The grid difference (no store)
# ---------------------------------------------------------------------------------------


def test_pieces_are_disjoint_and_cover_exactly_the_new_points():
    stored = {"a": (1.0, 3.0), "b": (10, 20), "c": ("p",)}
    spec = {"a": (0.0, 1.0, 2.0, 3.0, 4.0), "b": (10, 20, 30), "c": ("q", "p")}
    ext = match_axes(stored, spec)
    points = [p for piece in ext.pieces for p in itertools.product(*piece.values())]
    assert len(points) == len(set(points)) == ext.n_new_points
    old = set(itertools.product(*stored.values()))
    assert set(points) == set(itertools.product(*spec.values())) - old
    assert len(ext.pieces) == 3 and ext.n_new_points == 5 * 3 * 2 - 2 * 2 * 1


def test_recomputed_linspace_values_match_stored_points_within_the_tolerance():
    stored = (0.1, 0.2, 0.1 * 3, 0.4)  # 0.30000000000000004, as arithmetic makes it
    typed = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4)
    m = match_axes({"x": stored}, {"x": typed}).axes[0]
    assert m.dropped == () and m.added == (0.15, 0.25, 0.35)
    assert stored[2] in m.values and 0.3 not in m.values  # the stored value is kept
    # a genuinely different value is not absorbed: 1e-9 away at scale 1 is another point
    m = match_axes({"x": (0.0, 1.0)}, {"x": (0.0, 1.0 + 1e-9)}).axes[0]
    assert m.dropped == (1.0,) and m.added == (1.0 + 1e-9,)
    # zero computed as a tiny number by linspace is the stored zero
    m = match_axes({"x": (-1.0, 0.0, 1.0)}, {"x": (-1.0, -0.5, 1e-17, 0.5, 1.0)}).axes[0]
    assert m.values == (-1.0, -0.5, 0.0, 0.5, 1.0) and m.added == (-0.5, 0.5)
    # each pair on its own scale: a small value is not absorbed by a large one elsewhere
    m = match_axes({"x": (0.0, 3.0)}, {"x": (2e-12, 3.0)}).axes[0]
    assert m.dropped == (0.0,) and m.added == (2e-12,)
    # a logspace down to 1e-15, refined: the old decades match, the new half-decades are added
    old, new = np.logspace(-15, 0, 16), np.logspace(-15, 0, 31)
    m = match_axes({"x": tuple(old)}, {"x": tuple(new)}).axes[0]
    assert m.dropped == () and len(m.added) == 15 and set(m.values) >= set(old.tolist())


def test_two_spec_values_on_one_stored_point_are_refused():
    with pytest.raises(SpecError, match=r"^axes\.x: two spec values"):
        match_axes({"x": (0.0, 1.0)}, {"x": (1.0, 1.0 + 1e-14)})


# ---------------------------------------------------------------------------------------
# Extending a store
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "y"),
    [
        (np.linspace(-2.0, 2.0, 9), Y0),  # interleaved
        # the quick subset keeps the interleaved case
        pytest.param(np.concatenate([[-4.0, -3.0], X0]), Y0, marks=pytest.mark.slow),  # below
        pytest.param(np.concatenate([X0, [2.5, 3.0, 3.5]]), Y0, marks=pytest.mark.slow),  # above
    ],
    ids=["interleaved", "below", "above"],  # two axes at once: the next test
)
def test_superset_spec_computes_only_new_points_and_equals_a_fresh_store(tmp_path, client, x, y):
    store = tmp_path / "s.zarr"
    run_sweep(smooth(store), client=client, progress=False)
    before = frozen_files(store)

    report = run_sweep(smooth(store, x=x, y=y), client=client, progress=False)
    n_new = len(x) * len(y) - X0.size * Y0.size
    assert report.complete and not report.block_errors
    assert report.points_computed == n_new and report.n_points == len(x) * len(y)
    # part 0 untouched: same chunks, same ledger entries, no block of it submitted again
    assert frozen_files(store) == before
    assert len(ledger.read_run_log(store)) == 1
    points_in_parts = sum(e["points"] for p in part_stores(store)[1:] for e in ledger.iter_entries(p))
    assert points_in_parts == n_new
    assert list_parts(store) == ["1"]

    run_sweep(smooth(tmp_path / "fresh.zarr", x=np.sort(x), y=np.sort(y)), client=client, progress=False)
    assert_same_result(store, tmp_path / "fresh.zarr")
    # the same spec again: nothing to do
    again = run_sweep(smooth(store, x=x, y=y), client=client, progress=False)
    assert again.blocks_computed == 0 and again.complete


@pytest.mark.slow
def test_two_axes_at_once_on_an_extended_store_with_a_linspace_superset_in_any_order(tmp_path, client):
    store = tmp_path / "s.zarr"
    run_sweep(smooth(store), client=client, progress=False)
    run_sweep(smooth(store, x=np.linspace(-2.0, 2.0, 9)), client=client, progress=False)
    x2, y2 = np.linspace(-3.0, 3.0, 13)[::-1], np.array([1.0, 0.5, 0.0, -0.5])  # reversed: same points
    report = run_sweep(smooth(store, x=x2, y=y2), client=client, progress=False)
    assert report.points_computed == 13 * 4 - 9 * 3 and list_parts(store) == ["1", "2", "3"]
    run_sweep(smooth(tmp_path / "fresh.zarr", x=np.sort(x2), y=np.sort(y2)), client=client, progress=False)
    assert_same_result(store, tmp_path / "fresh.zarr")


def test_union_is_sorted_with_not_computed_status_where_nothing_ran(tmp_path, client):
    store = tmp_path / "s.zarr"
    run_sweep(smooth(store), client=client, progress=False)
    x = np.concatenate([X0, [-3.0, 0.25]])  # new values given out of order
    prepare_store(smooth(store, x=x))  # extended, nothing computed in the new part yet
    ds = open_result(store)
    assert ds["x"].values.tolist() == sorted(x.tolist())
    assert ds["x"].attrs["units"] == "1" and ds["status"].dtype == np.uint8 and ds["n_calls"].dtype == np.int32
    status = ds["status"].sel(x=[-3.0, 0.25]).values
    assert np.all(status == Status.NOT_COMPUTED)
    assert np.all(ds["status"].sel(x=X0).values == Status.OK)
    assert np.isnan(ds["f"].sel(x=0.25).values).all() and not np.isnan(ds["f"].sel(x=X0).values).any()
    assert ds.attrs["pairsweep_parts"]["parts"] == ["0", "1"]
    only_ok = open_result(store, only_ok=True)
    assert int(only_ok["n_calls"].notnull().sum()) == X0.size * Y0.size
    # xr.open_zarr on the store is part 0 alone; the new part opens on its own
    assert xr.open_zarr(store).sizes["x"] == X0.size
    assert xr.open_zarr(part_path(store, "1"))["x"].values.tolist() == [-3.0, 0.25]
    assert set(xr.open_datatree(store, engine="zarr").children) == set()

    st = store_status(store)
    assert (st.parts, st.n_points, st.points_done) == (2, 7 * 3, 5 * 3)
    assert st.coverage == {"x": (5, 7), "y": (0, 3)}
    report = run_sweep(smooth(store, x=x), client=client, progress=False)
    assert report.points_computed == 2 * 3 and store_status(store).coverage == {"x": (7, 7), "y": (3, 3)}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (dict(fixed={"delay": 0.01}), "fixed.delay: store has 0.0, spec has 0.01"),
        (dict(x=np.array([-2.0, -1.0, 0.0, 1.0, 3.0])), "axes.x: store has 7 values in [-2, 3], spec has 5 values"),
        (dict(x=X0), "(the spec lacks 2 stored value(s): 2.5, 3.0;"),
        (dict(x=np.linspace(-2.0, 2.0, 9), chunks={"x": 3, "y": 2}), "execution.chunks: store has"),
        (dict(kernel_version="0"), "kernel_version: store has '0', spec has '1'"),
    ],
    ids=["other-fixed", "drop-a-value", "older-subset-spec", "chunks", "kernel-version"],
)
def test_other_differences_are_still_refused_naming_the_field(tmp_path, client, change, named):
    store = tmp_path / "s.zarr"
    x1 = np.concatenate([X0, [2.5, 3.0]])
    prepare_store(smooth(store))
    prepare_store(smooth(store, x=x1))  # an extended store
    change = dict(change)
    if change.pop("kernel_version", None):
        for path in part_stores(store):
            meta = read_root_attrs(path)["pairsweep"]
            update_root_attrs(path, {"pairsweep": {**meta, "spec": {**meta["spec"], "kernel_version": "0"}}})
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    kw = {"x": x1, **change}
    chunks = kw.pop("chunks", None)
    sweep = smooth(store, **kw)
    if chunks:
        sweep = Sweep(**{**sweep.__dict__, "chunks": chunks})
    with pytest.raises(SpecMismatchError) as info:
        run_sweep(sweep, client=client, progress=False)
    assert named in str(info.value)
    assert {p: p.read_bytes() for p in store.rglob("*") if p.is_file()} == before


def test_dry_run_says_what_an_extension_adds_and_writes_nothing(tmp_path, capsys):
    store = tmp_path / "s.zarr"
    prepare_store(smooth(store))
    spec = tmp_path / "s.toml"
    spec.write_text(f'kernel = "engine_kernels:SMOOTH"\nstore = "{store}"\n[axes]\n'
                    "x = { linspace = [-2.0, 2.0, 9] }\ny = { values = [0.0, 0.5, 1.0, 2.0] }\n"
                    "[execution]\nchunks = { x = 2, y = 2 }\n")
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    assert main(["run", str(spec), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "extends it by 21 points in 2 new parts" in out and "0 of 6 stored blocks done" in out
    assert {p: p.read_bytes() for p in store.rglob("*") if p.is_file()} == before
    # a spec lacking a stored value: exit 2, the field named, no traceback, nothing written
    spec.write_text(spec.read_text().replace("linspace = [-2.0, 2.0, 9]", "values = [-2.0, -1.0, 0.0, 1.0]"))
    assert main(["run", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "axes.x: store has 5 values in [-2, 2], spec has 4 values" in err and "lacks 1 stored value(s): 2.0" in err
    assert "Traceback" not in err
    assert {p: p.read_bytes() for p in store.rglob("*") if p.is_file()} == before


@pytest.mark.slow  # the kill test below covers this window too
def test_a_kill_between_creating_parts_and_listing_them_is_cleaned_up(tmp_path, client):
    store = tmp_path / "s.zarr"
    run_sweep(smooth(store), client=client, progress=False)
    x = np.linspace(-2.0, 2.0, 9)
    prepare_store(smooth(store, x=x, y=[0.0, 0.5, 1.0, 2.0]))
    # the state a SIGKILL leaves after the parts were renamed into place, before the list
    (store / PARTS_FILE).unlink()
    (store / PARTS_COPY).unlink()
    assert open_result(store).sizes["x"] == X0.size  # unlisted parts are not part of the store
    report = run_sweep(smooth(store, x=x, y=[0.0, 0.5, 1.0, 2.0]), client=client, progress=False)
    assert report.complete and report.points_computed == 9 * 4 - 5 * 3
    assert list_parts(store) == ["1", "2"]
    run_sweep(smooth(tmp_path / "fresh.zarr", x=x, y=[0.0, 0.5, 1.0, 2.0]), client=client, progress=False)
    assert_same_result(store, tmp_path / "fresh.zarr")


def test_failures_status_and_verify_cover_every_part(tmp_path, client):
    store = tmp_path / "s.zarr"
    x0 = np.array([-6.0, 0.0, 1.0])
    x1 = np.array([-6.0, -5.5, 0.0, 0.5, 1.0])  # FLAKY raises below x = -5: one per part
    run_sweep(smooth(store, x=x0, kernel="engine_kernels:FLAKY"), client=client, progress=False)
    run_sweep(smooth(store, x=x1, kernel="engine_kernels:FLAKY"), client=client, progress=False)
    rows = list(failures(store))
    assert sorted((r["x"], r["y"], r["part"]) for r in rows) == [
        (-6.0, 0.0, 0), (-6.0, 0.5, 0), (-6.0, 1.0, 0), (-5.5, 0.0, 1), (-5.5, 0.5, 1), (-5.5, 1.0, 1)]
    st = store_status(store)
    assert (st.failed, st.ok, st.points_done, st.n_points) == (6, 9, 15, 15)
    # the CSV export puts each part's messages on its own rows of the union grid
    assert main(["export", str(store), "-o", str(tmp_path / "all.csv")]) == 0
    import pandas as pd

    table = pd.read_csv(tmp_path / "all.csv", keep_default_na=False)
    failed = table[table["status"] == "failed"]
    assert sorted(failed["x"].unique()) == [-6.0, -5.5] and len(failed) == 6
    assert all(failed["message"].str.startswith("ValueError: cannot solve at x=")), failed["message"].tolist()
    assert (table.loc[table["status"] == "ok", "message"] == "").all()

    # corrupt one chunk of part 1: verify finds it there, quarantines it, a resume recomputes it
    part = part_path(store, "1")
    entry = json.loads((part / "_pairsweep" / "blocks" / "0.json").read_text())
    chunk = part / entry["chunks"]["f"][0]
    chunk.write_bytes(b"\x00" + chunk.read_bytes()[1:])
    report = verify_store(store, repair=False)
    assert not report.clean and report.parts["1"].bad[0].block == 0 and not report.bad
    assert "part 1:" in str(report)
    repaired = verify_store(store)
    assert repaired.parts["1"].repaired and not (part / "_pairsweep" / "blocks" / "0.json").exists()
    resumed = run_sweep(smooth(store, x=x1, kernel="engine_kernels:FLAKY"), client=client, progress=False)
    assert resumed.blocks_computed == 1 and resumed.points_computed == math.prod(entry_shape(part, 0))
    assert verify_store(store, repair=False).clean
    run_sweep(smooth(tmp_path / "fresh.zarr", x=x1, kernel="engine_kernels:FLAKY"), client=client, progress=False)
    a, b = open_result(store).load(), open_result(tmp_path / "fresh.zarr").load()
    np.testing.assert_array_equal(a["status"].values, b["status"].values)
    np.testing.assert_array_equal(a["f"].values, b["f"].values)


def entry_shape(part, block: int) -> tuple[int, ...]:
    from pairsweep.sweeps.grid import BlockGrid

    spec = read_root_attrs(part)["pairsweep"]["spec"]
    grid = BlockGrid(tuple(len(v) for v in spec["axes"].values()), tuple(spec["chunks"].values()))
    return grid.block_shape(block)


# ---------------------------------------------------------------------------------------
# SIGKILL while a store is being extended (real subprocesses)
# ---------------------------------------------------------------------------------------

KILL_DELAY = 0.3  # s: the test-only widening of each part's creation and of the listing


def _kill_spec(store, x_num: int, y_num: int) -> str:
    return (f'kernel = "engine_kernels:SMOOTH"\nstore = "{store}"\n[axes]\n'
            f"x = {{ linspace = [-3.0, 3.0, {x_num}] }}\ny = {{ linspace = [-2.0, 2.0, {y_num}] }}\n"
            "[fixed]\ndelay = 0.03125\n[execution]\nchunks = { x = 1, y = 5 }\nmax_in_flight = 4\n"
            '[cluster]\nkind = "local"\nn_workers = 2\ndashboard_address = ":0"\n')


@pytest.mark.slow
def test_sigkill_at_random_moments_during_an_extension_loses_nothing(tmp_path, subprocess_env, client):
    """SIGKILL of the process group while parts are created, while they are listed, and
    mid-run after a random number of new blocks: after each kill the store and its listed parts verify clean and
    part 0 is untouched; the resumed store equals a fresh run of the extended spec."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from pairsweep.sweeps import load_spec

    store = tmp_path / "k.zarr"
    small, big = tmp_path / "small.toml", tmp_path / "big.toml"
    small.write_text(_kill_spec(store, 7, 5))
    big.write_text(_kill_spec(store, 13, 9))
    run_sweep(load_spec(small), client=client, progress=False)
    frozen = frozen_files(store)
    parts_dir = store / "_pairsweep" / "parts"
    env = {**subprocess_env, "PAIRSWEEP_TEST_CREATION_DELAY": str(KILL_DELAY)}
    rng = np.random.default_rng(15)
    kills = {"part creation": 0, "listing": 0, "mid-run": 0}
    plan = ["part creation"] * 4 + ["listing"] * 2 + ["mid-run", "mid-run"]
    for attempt, mode in enumerate(plan):
        listed = (store / PARTS_FILE).exists()
        if listed and mode in ("part creation", "listing"):
            continue
        # aimed at the creation of part 1 and of part 2 in turn
        pattern = f".{1 + attempt % 2}.creating-*/_pairsweep/manifest.json"
        before_manifests = set(parts_dir.glob(pattern))
        proc = subprocess.Popen(
            [sys.executable, "-m", "pairsweep.sweeps.cli", "run", str(big), "--no-progress"],
            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        if mode == "part creation":
            # wait until a part is built in its hidden directory (manifest written last),
            # then kill inside the window before its rename
            while proc.poll() is None and not set(parts_dir.glob(pattern)) - before_manifests:
                assert time.monotonic() < deadline
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.95) * KILL_DELAY)
        elif mode == "listing":
            # both parts renamed into place, the list not yet written
            while proc.poll() is None and not (parts_dir / "2" / "zarr.json").exists():
                assert time.monotonic() < deadline
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.95) * KILL_DELAY)
        else:
            target = rng.integers(1, 4)
            while proc.poll() is None and time.monotonic() < deadline:
                if (store / PARTS_FILE).exists() and sum(
                        len(list((p / "_pairsweep" / "blocks").glob("*.json"))) for p in part_stores(store)[1:]
                ) >= kills["mid-run"] * 3 + target:
                    break
                time.sleep(0.02)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills[mode] += 1
        proc.wait(timeout=30)
        report = verify_store(store, repair=False)
        assert report.clean, str(report)
        assert frozen_files(store) == frozen
        assert np.all(open_result(store)["status"].sel(x=np.linspace(-3, 3, 7), y=np.linspace(-2, 2, 5)).values
                      == Status.OK)
    print("kills:", kills)
    assert kills["part creation"] + kills["listing"] >= 5 and kills["mid-run"] >= 1

    report = run_sweep(load_spec(big), client=client, progress=False)
    assert report.complete
    assert list_parts(store) == ["1", "2"] and not list(parts_dir.glob(".*"))
    fresh = tmp_path / "fresh.toml"
    fresh.write_text(_kill_spec(tmp_path / "fresh.zarr", 13, 9))
    run_sweep(load_spec(fresh), client=client, progress=False)
    assert_same_result(store, tmp_path / "fresh.zarr")


def test_a_part_shares_its_store_lock_and_is_never_listed_missing(tmp_path):
    from pairsweep.storage.errors import StoreError
    from pairsweep.storage.lock import lock_path
    from pairsweep.storage.parts import record_parts

    store = tmp_path / "s.zarr"
    # a repair of a part and a run of its store would be two writers of one set of files
    assert lock_path(part_path(store, "3")) == lock_path(store) == tmp_path / ".s.zarr.pairsweep-lock"
    assert lock_path(tmp_path / "parts" / "3") == tmp_path / "parts" / ".3.pairsweep-lock"
    store.mkdir()
    with pytest.raises(StoreError, match="parts 1 of .* are missing"):
        record_parts(store, ["1"], {})
    assert not (store / PARTS_FILE).exists()
