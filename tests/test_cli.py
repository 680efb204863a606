"""The command line, run as a user runs it (a real subprocess for `run`)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pairsweep.sweeps import Sweep, run_sweep
from pairsweep.sweeps.cli import main

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.toml"

X = [0.0, 0.5, 1.0, 1.5]
Y = [-1.0, 0.0, 1.0]


@pytest.fixture
def store(tmp_path, client):
    path = tmp_path / "r.zarr"
    run_sweep(Sweep(kernel="engine_kernels:FLAKY", store=path, axes={"x": X, "y": Y}, chunks={"x": 2, "y": 3}),
              client=client, progress=False)
    return path


def test_kernels_lists_parameters_units_and_ranges(capsys):
    assert main(["kernels", "spinor_bec_couplings"]) == 0
    out = capsys.readouterr().out
    assert "delta_g" in out and "number in [1e-05, 2]" in out and "lambda_numeric" in out


def test_kernels_name_shows_the_kernels_documentation(capsys):
    assert main(["kernels", "bipolaron_qmc"]) == 0
    out = capsys.readouterr().out
    assert "mass_bp_err" in out and "Twisted boundary conditions" in out
    assert main(["kernels"]) == 0
    assert "Twisted boundary conditions" not in capsys.readouterr().out


def test_status_reports_done_and_coverage(store, capsys):
    assert main(["status", str(store), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["points_done"] == 12 and status["blocks_done"] == 2 and status["n_blocks"] == 2
    assert status["coverage"] == {"x": [4, 4], "y": [3, 3]}


def test_slice_prints_and_exports(store, tmp_path, capsys):
    assert main(["slice", str(store), "moments", "--sel", "k=2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split("\t") == ["x", "y=-1.0", "y=0.0", "y=1.0"]
    assert [float(v) for v in lines[-1].split("\t")] == [1.5, 2.25, 2.25, 2.25]
    out = tmp_path / "slice.csv"
    assert main(["slice", str(store), "f", "-o", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 1 + len(X) * len(Y)


def test_slice_needs_a_2d_selection(store, capsys):
    assert main(["slice", str(store), "moments"]) == 2
    assert "fix all but two with --sel" in capsys.readouterr().err


def test_failures_table_lists_messages(tmp_path, client, capsys):
    path = tmp_path / "f.zarr"
    run_sweep(Sweep(kernel="engine_kernels:FLAKY", store=path, axes={"x": [-6.0, 0.0], "y": [0.0]}),
              client=client, progress=False)
    assert main(["failures", str(path)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "x,y,block,message" and rows[1].startswith("-6.0,0.0,0,ValueError")


@pytest.mark.slow  # a Python process: seconds on 2 cores; test_bad_input keeps a quick subprocess case
def test_run_rejects_a_bad_spec_before_starting_anything(tmp_path, subprocess_env):
    spec = tmp_path / "bad.toml"
    spec.write_text(textwrap.dedent(f"""
        kernel = "spinor_bec_couplings"
        store = "{tmp_path / 'never.zarr'}"
        [axes]
        delta_g = {{ logspace = [1e-7, 1e-3, 5] }}
        """))
    proc = subprocess.run([sys.executable, "-m", "pairsweep.sweeps.cli", "run", str(spec)],
                          capture_output=True, text=True, env=subprocess_env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("pairsweep: error: axes.delta_g: delta_g = 1e-07")
    assert "allowed: number in [1e-05, 2]" in proc.stderr
    assert not (tmp_path / "never.zarr").exists()


def test_run_dry_run_validates_only(tmp_path, capsys):
    spec = tmp_path / "ok.toml"
    spec.write_text(f'kernel = "spinor_bec_couplings"\nstore = "{tmp_path / "x.zarr"}"\n'
                    "[axes]\ndelta_g = { logspace = [1e-4, 1e-2, 10] }\ng_F = { values = [1.0, 2.0] }\n")
    assert main(["run", str(spec), "--dry-run"]) == 0
    assert "spec OK: kernel spinor_bec_couplings" in capsys.readouterr().out
    assert not (tmp_path / "x.zarr").exists()


@pytest.mark.slow
def test_demo_spec_runs_end_to_end_and_matches_the_kernel(tmp_path, subprocess_env):
    """The README's demo, through the real console entry point and a fresh LocalCluster."""
    from pairsweep.kernels import get_kernel
    from pairsweep.sweeps import load_spec, open_result

    store = tmp_path / "demo.zarr"
    proc = subprocess.run(
        [sys.executable, "-m", "pairsweep.sweeps.cli", "run", str(DEMO), "--store", str(store),
         "--no-progress", "--workers", "2"],
        capture_output=True, text=True, env=subprocess_env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    ds = open_result(store).load()
    assert int((ds["status"] == 0).sum()) == ds["status"].size
    spec = load_spec(DEMO)
    kernel = get_kernel(spec.kernel)
    # a direct call of the kernel at a few grid points reproduces the stored numbers exactly
    for i, j in [(0, 0), (17, 3), (40, 7)]:
        point = {**kernel.defaults(), **spec.fixed,
                 "delta_g": float(ds.delta_g[i]), "g_F": float(ds.g_F[j])}
        direct = kernel.solve_block({k: np.array([v]) for k, v in point.items()})
        np.testing.assert_array_equal(ds["lambda_numeric"].values[i, j], direct["lambda_numeric"][0])
        np.testing.assert_array_equal(ds["c_s"].values[i, j], direct["c_s"][0])
