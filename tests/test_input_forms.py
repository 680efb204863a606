"""Canonical spec values, resuming stores written before them, the resume diff, --dry-run
against an existing store, very large grids, the dashboard's address, and Ctrl-C."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from itertools import islice

import numpy as np
import pytest
import zarr

from pairsweep.storage import ledger, store_status
from pairsweep.storage.layout import read_root_attrs, update_root_attrs
from pairsweep.sweeps import SpecMismatchError, Sweep, open_result, prepare_store, resolve, run_sweep
from pairsweep.sweeps.cli import main
from pairsweep.sweeps.grid import BlockGrid

X = [0.0, 0.5, 1.0, 1.5]


def smooth(store, **kw):
    base = dict(kernel="engine_kernels:SMOOTH", store=store, axes={"x": X, "y": [0.0, 1.0]}, chunks={"x": 1, "y": 2})
    return Sweep(**{**base, **kw})


def test_int_and_float_spell_the_same_spec():
    a = resolve(Sweep(kernel="spinor_bec_couplings", store="s", axes={"g_F": [1, 2]}, fixed={"mass_ratio": 1}))
    b = resolve(Sweep(kernel="spinor_bec_couplings", store="s", axes={"g_F": [1.0, 2.0]}, fixed={"mass_ratio": 1.0}))
    c = resolve(Sweep(kernel="spinor_bec_couplings", store="s", axes={"g_F": np.array([1, 2], np.int64)},
                      fixed={"mass_ratio": np.float32(1.0)}))
    assert a.spec_hash == b.spec_hash == c.spec_hash
    assert a.fixed["mass_ratio"] == 1.0 and isinstance(a.fixed["mass_ratio"], float)
    assert isinstance(c.axes[0].values[0], float)
    # an integer parameter keeps integers: 12.0 and 12 are one spec, stored as 12
    k = resolve(Sweep(kernel="multigap_lifshitz", store="s", axes={"eta": [1.0]}, fixed={"kz_order": 12.0}))
    assert k.fixed["kz_order"] == 12 and isinstance(k.fixed["kz_order"], int)


def test_numpy_scalars_are_accepted_and_stored(tmp_path, client):
    sweep = smooth(tmp_path / "n.zarr", chunks={"x": np.int64(2), "y": np.int32(2)}, fixed={"delay": np.float32(0.0)},
                   max_in_flight=np.int64(2))
    report = run_sweep(sweep, client=client, progress=False)
    assert report.complete and report.failed == 0
    spec = read_root_attrs(tmp_path / "n.zarr")["pairsweep"]["spec"]
    assert spec["chunks"] == {"x": 2, "y": 2} and spec["fixed"]["delay"] == 0.0


def _old_hash(canonical):
    # the hash as every earlier version computed it
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def test_resume_with_1_instead_of_1_0_and_a_store_written_before_canonical_forms(tmp_path, client):
    store = tmp_path / "r.zarr"
    run_sweep(smooth(store, fixed={"delay": 0.0}), client=client, progress=False)
    reference = open_result(store).load()
    # Rewrite the store as the old code wrote it for `delay = 0` and `x = [0, 0.5, 1, 1.5]` typed
    # as the user typed them: int values in the spec, hash over that spelling.
    meta = read_root_attrs(store)["pairsweep"]
    old_spec = {**meta["spec"], "fixed": {**meta["spec"]["fixed"], "delay": 0},
                "axes": {**meta["spec"]["axes"], "y": [0, 1]}}
    update_root_attrs(store, {"pairsweep": {**meta, "spec": old_spec, "spec_hash": _old_hash(old_spec)}})
    for block in (1, 2, 3):
        (store / "_pairsweep" / "blocks" / f"{block}.json").unlink()
    # resumed with the other spelling: accepted, and every missing block computes
    report = run_sweep(smooth(store, fixed={"delay": 0}, axes={"x": X, "y": [0.0, 1.0]}), client=client, progress=False)
    assert report.blocks_computed == 3 and not report.block_errors and report.complete
    assert report.spec_hash == _old_hash(old_spec)
    resumed = open_result(store).load()
    np.testing.assert_array_equal(resumed["f"].values, reference["f"].values)


def test_resume_diff_shows_the_values_that_differ(tmp_path):
    store = tmp_path / "d.zarr"
    prepare_store(smooth(store))
    with pytest.raises(SpecMismatchError) as info:
        prepare_store(smooth(store, axes={"x": [0.0, 0.5, 1.0000001, 1.5], "y": [0.0, 1.0]}))
    assert "axes.x: store has 4 values in [0, 1.5], spec has 4 values in [0, 1.5]: [2] store 1.0, spec 1.0000001" \
        in str(info.value)
    # a long axis (summarised in the attributes) is compared through its coordinate array
    long_x = np.linspace(-1, 1, 3000)
    prepare_store(smooth(tmp_path / "long.zarr", axes={"x": long_x, "y": [0.0]}, chunks=None))
    moved = long_x.copy()
    moved[1234] += 1e-9
    with pytest.raises(SpecMismatchError) as info:
        prepare_store(smooth(tmp_path / "long.zarr", axes={"x": moved, "y": [0.0]}, chunks=None))
    assert f"[1234] store {float(long_x[1234])!r}, spec {float(moved[1234])!r}" in str(info.value)


def test_dry_run_checks_an_existing_store(tmp_path, capsys, client):
    store = tmp_path / "e.zarr"
    run_sweep(smooth(store), client=client, progress=False)
    (store / "_pairsweep" / "blocks" / "0.json").unlink()
    spec = tmp_path / "s.toml"
    body = ('kernel = "engine_kernels:SMOOTH"\nstore = "{}"\n[axes]\nx = {{ values = [0, 0.5, 1, 1.5] }}\n'
            "y = {{ values = {} }}\n[execution]\nchunks = {{ x = 1, y = 2 }}\n")
    spec.write_text(body.format(store, "[0.0, 1.0]"))
    assert main(["run", str(spec), "--dry-run"]) == 0
    assert "store exists and matches this spec: 3 of 4 blocks done" in capsys.readouterr().out
    spec.write_text(body.format(store, "[0.0, 2.0]"))
    assert main(["run", str(spec), "--dry-run"]) == 2
    assert "axes.y: store has 2 values in [0, 1], spec has 2 values in [0, 2]: [1] store 1.0, spec 2.0" \
        in capsys.readouterr().err


def test_a_10_12_point_grid_is_accepted_without_copying_axis_values(tmp_path):
    store = tmp_path / "huge.zarr"
    x = np.linspace(-1.0, 1.0, 10**6)
    rs = prepare_store(Sweep(kernel="engine_kernels:SMOOTH", store=store, axes={"x": x, "y": x}))
    assert rs.n_points == 10**12
    assert (store / "zarr.json").stat().st_size < 20_000  # was 66 MB with every value copied
    assert read_root_attrs(store)["pairsweep"]["spec"]["axes"]["y"]["size"] == 10**6
    np.testing.assert_array_equal(zarr.open_group(str(store), mode="r")["x"][...], x)
    status = store_status(store)
    assert status.n_points == 10**12 and status.blocks_done == 0 and status.coverage["x"] == (0, 10**6)
    grid = BlockGrid(rs.shape, rs.chunks)
    done = ledger.done_blocks(store, grid.n_blocks)
    done[:3] = True
    tracemalloc.start()
    first = list(islice(grid.iter_blocks(skip=done), 5))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert first == [3, 4, 5, 6, 7]
    assert peak < 2**21, peak  # a slice of the mask, not 8 bytes per pending block (120 MB here)


def test_local_dashboard_listens_on_localhost_only(capsys):
    from pairsweep.cluster import connect, tunnel_hint

    with connect("local", {"n_workers": 1, "dashboard_address": "127.0.0.1:0"}) as client:
        server = client.cluster.scheduler.http_server
        hosts = {sock.getsockname()[0] for sock in server._sockets.values()}
        link = client.dashboard_link
    assert hosts == {"127.0.0.1"}
    assert link.startswith("http://127.0.0.1:")
    port = link.split(":")[2].split("/")[0]
    assert f"ssh -N -L {port}:127.0.0.1:{port} " in tunnel_hint(link)
    assert tunnel_hint("http://10.0.0.5:8787/status") is None


def test_batch_scheduler_dashboard_defaults_to_localhost():
    """A real dask-jobqueue SLURMCluster (its scheduler runs here; no job is submitted)."""
    from pairsweep.cluster import dashboard_link
    from pairsweep.cluster.factory import _jobqueue_cluster
    from distributed import Client

    # (8787 itself may be taken by another run on this machine; distributed then picks a port)
    for options in ({}, {"dashboard_address": "127.0.0.1:0"}):
        cluster = _jobqueue_cluster("slurm", {"cores": 1, "memory": "1GiB", "job_name": "j", **options})
        try:
            bound = {sock.getsockname() for sock in cluster.scheduler.http_server._sockets.values()}
            assert {host for host, _ in bound} == {"127.0.0.1"}
            port = next(iter(bound))[1]
            with Client(cluster) as client:
                # distributed's own link names the login node's address; ours the real one
                assert dashboard_link(client) == f"http://127.0.0.1:{port}/status"
        finally:
            cluster.close()


def test_job_script_keeps_the_prologue_as_shell_and_values_on_their_lines(capsys, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(textwrap.dedent(f"""
        kernel = "engine_kernels:SMOOTH"
        store = "{tmp_path / 'j.zarr'}"
        [axes]
        x = {{ values = [0.0] }}
        [cluster]
        kind = "slurm"
        cores = 1
        memory = "1GiB"
        partition = "short"
        account = "grp42"
        job_script_prologue = ["export A=$HOME; module load python"]
        """))
    assert main(["run", str(spec), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "#SBATCH -p short\n" in out and "#SBATCH -A grp42\n" in out
    assert "\nexport A=$HOME; module load python\n" in out


@pytest.mark.slow
def test_ctrl_c_keeps_blocks_exits_130_and_records_the_run(tmp_path, subprocess_env, capsys):
    store = tmp_path / "c.zarr"
    spec = tmp_path / "c.toml"
    spec.write_text(textwrap.dedent(f"""
        kernel = "engine_kernels:SMOOTH"
        store = "{store}"
        [axes]
        x = {{ linspace = [-3.0, 3.0, 40] }}
        y = {{ values = [0.0, 1.0] }}
        [fixed]
        delay = 0.1
        [execution]
        chunks = {{ x = 1, y = 2 }}
        max_in_flight = 2
        [cluster]
        n_workers = 2
        dashboard_address = "127.0.0.1:0"
        """))
    cmd = [sys.executable, "-m", "pairsweep.sweeps.cli", "run", str(spec), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((store / "_pairsweep" / "blocks").glob("*.json"))) < 4:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    kept = int(err.split("interrupted: ")[1].split(" of ")[0])
    assert f"interrupted: {kept} of 40 blocks kept; run the same command to resume" in err
    assert 4 <= kept < 40
    assert len(list((store / "_pairsweep" / "blocks").glob("*.json"))) >= kept
    last = read_root_attrs(store)["pairsweep"]["runs"][-1]
    assert "interrupted" in last and "finished" not in last and last["complete"] is False
    assert main(["status", str(store)]) == 0
    shown = capsys.readouterr().out
    assert f"interrupted {last['interrupted']} (Ctrl-C; {kept} blocks kept)" in shown and "finished" not in shown
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert (open_result(store)["status"].values == 0).all()
