"""Shared fixtures: one real LocalCluster for the engine tests (starting one costs seconds)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# One BLAS/OpenMP thread per process, as on Dask workers (distributed's nanny sets the same):
# on a 2-core machine threaded BLAS in the kernel tests oversubscribes the cores ~6x.
# Must happen before numpy is first imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402

TESTS_DIR = Path(__file__).parent
# engine_kernels.py is referenced as "engine_kernels:NAME"; workers spawned by the
# LocalCluster inherit sys.path, subprocesses get it through PYTHONPATH.
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))


@pytest.fixture(scope="session")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as c:
            yield c


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
    return env
