"""Recorded outputs of the VED solver, to prove a rewrite of its numba code changes no bit.

``ved_golden.json`` holds, for each point of :data:`POINTS`, every output of
:func:`~pairsweep.kernels.bipolaron.ved.solve_point` (floats as their exact ``repr``), and for
each problem of :data:`BASES` a SHA-256 fingerprint of the grown basis and its CSR
Hamiltonian (keys, row pointers, columns, value codes, diagonal) with the energy series. They
were recorded from the kernel as of commit e82fa4e (before the numba code was rebuilt into
named structures); the kernel version "0.2.0" promises that stores made then keep resuming,
so the values must never change without a version bump.

Points cover bond-Peierls and Holstein in d = 1, 2, 3, U = 0 and 8, both antiadiabatic
models, V > 0, the cloud / separation / phonon caps and both growth modes; ``max_steps``
sets basis sizes from tens to tens of thousands of states. Each takes well under a second
once compiled. Re-record (only with a version bump) by running this file:
``.venv/bin/python tests/kernels/bipolaron/ved_golden.py``.

The last bits of a VED result depend on how many threads the BLAS uses (``np.vdot`` and
``np.linalg.norm`` of long Lanczos vectors are split across threads). Sweeps compute in Dask
workers, whose nanny sets ``OPENBLAS_NUM_THREADS`` (``OMP``, ``MKL``) to 1
(``distributed.nanny.pre-spawn-environ``), so the values are recorded, and checked, in a
subprocess with that environment (:func:`worker_env`): a test run with another BLAS thread
count, or on a machine with more cores, then checks what a worker computes. They also
depend on the BLAS build and the CPU's instruction set (OpenBLAS picks its kernels at run
time), so the file keeps :func:`platform_signature`; elsewhere the floats are compared to
1e-9 relative instead of bit for bit. The values at e82fa4e and after the rebuild are
identical with one BLAS thread as with two (checked by running both commits' code).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

GOLDEN = Path(__file__).with_name("ved_golden.json")


def worker_env() -> dict[str, str]:
    """The thread settings distributed's nanny exports to every worker it starts (its
    ``distributed.nanny.pre-spawn-environ``), read from distributed itself."""
    import dask
    import distributed  # noqa: F401 - registers distributed's configuration defaults

    environ = dask.config.get("distributed.nanny.pre-spawn-environ")
    return {k: str(v) for k, v in environ.items() if k.endswith("_NUM_THREADS")}


_SMALL = dict(max_memory_gb=0.05)

#: solve_point keyword sets (max_seconds stays 0: a wall-clock budget is not reproducible)
POINTS: list[dict[str, Any]] = [
    dict(model="bond_peierls", d=1, lam=0.6, t_over_omega=1.0, U_over_t=0.0, max_steps=8),
    dict(model="bond_peierls", d=1, lam=0.6, t_over_omega=1.0, U_over_t=8.0, max_steps=14),
    dict(model="holstein", d=1, lam=1.2, t_over_omega=0.5, U_over_t=0.0, max_steps=10),
    dict(model="holstein", d=1, lam=0.8, t_over_omega=0.25, U_over_t=8.0, max_steps=16),
    dict(model="bond_peierls", d=2, lam=0.8, t_over_omega=0.5, U_over_t=8.0, max_steps=6),
    dict(model="bond_peierls", d=2, lam=1.2, t_over_omega=0.25, U_over_t=0.0, max_steps=7),
    dict(model="holstein", d=2, lam=0.9, t_over_omega=0.5, U_over_t=0.0, max_steps=5),
    dict(model="holstein", d=2, lam=0.9, t_over_omega=0.5, U_over_t=8.0, max_steps=5),
    dict(model="bond_peierls", d=3, lam=0.5, t_over_omega=1.0, U_over_t=8.0, max_steps=4),
    dict(model="holstein", d=3, lam=0.5, t_over_omega=1.0, U_over_t=0.0, max_steps=4),
    dict(model="bond_peierls_antiadiabatic", d=2, lam=0.5, t_over_omega=0.5, U_over_t=2.0,
         V_over_t=1.0, max_steps=8),
    dict(model="holstein_antiadiabatic", d=1, lam=0.5, t_over_omega=1.0, U_over_t=1.0),
    dict(model="bond_peierls", d=1, lam=1.0, t_over_omega=0.5, U_over_t=8.0, V_over_t=0.5,
         growth="generations", max_phonons=6, max_cloud=3, max_separation=4, max_steps=12),
    dict(model="holstein", d=2, lam=0.7, t_over_omega=1.0, U_over_t=8.0, V_over_t=1.0,
         growth="generations", max_cloud=2, max_steps=6),
    dict(model="bond_peierls", d=2, lam=0.6, t_over_omega=1.0, U_over_t=8.0,
         coupling="g_over_omega", max_steps=5),
]
for _kw in POINTS:
    _kw.update(_SMALL)

#: grow() problems whose basis and matrix are fingerprinted (Problem keywords, Settings
#: keywords)
BASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (dict(model="bond_peierls", d=2, two_electrons=True, omega=2.0, coupling=1.6, U=8.0),
     dict(max_states=60_000, max_steps=9, energy_tol=0.0)),
    (dict(model="holstein", d=2, two_electrons=True, omega=1.0, coupling=1.4, U=0.0, V=0.5,
          lcloud=3),
     dict(max_states=60_000, max_steps=8, energy_tol=0.0, growth="generations")),
    (dict(model="bond_peierls", d=3, two_electrons=False, omega=1.0, coupling=1.0),
     dict(max_states=60_000, max_steps=6, energy_tol=0.0)),
    (dict(model="bond_peierls_antiadiabatic", d=1, two_electrons=True, omega=1.0,
          coupling=0.7, U=-1.0, rmax=10),
     dict(max_states=60_000, max_steps=12, energy_tol=0.0)),
]


def _plain(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    return str(v)


def point_outputs(kw: dict[str, Any]) -> dict[str, Any]:
    """Every output of one point as JSON-able plain values (status as its int)."""
    from pairsweep.kernels.bipolaron.ved import solve_point

    out = solve_point(**kw)
    res = {k: _plain(v) for k, v in out.items() if k != "status"}
    res["status"] = int(out["status"])
    return res


def basis_fingerprint(prob_kw: dict[str, Any], st_kw: dict[str, Any]) -> dict[str, Any]:
    """SHA-256 of the grown basis and its CSR arrays, and the energy series, of one grow()."""
    from pairsweep.kernels.bipolaron import MODELS
    from pairsweep.kernels.bipolaron._ved_basis import Problem
    from pairsweep.kernels.bipolaron._ved_growth import Settings, grow

    prob = Problem(**{**prob_kw, "model": MODELS[prob_kw["model"]]})
    ser = grow(prob, Settings(**st_kw))
    b = ser.basis
    n, nnz = b.nstates, b.nnz
    h = hashlib.sha256()
    for arr in (b.keys[:n], b.indptr[:b.rows_done + 1], b.cols[:nnz], b.codes[:nnz],
                b.diag[:b.rows_done], b.vals):
        h.update(np.ascontiguousarray(arr).tobytes())
    return {"nstates": int(n), "nnz": int(nnz), "sha256": h.hexdigest(),
            "sizes": [int(s) for s in ser.sizes], "energies": [float(e) for e in ser.energies],
            "r2": [float(x) for x in ser.r2], "nph": [float(x) for x in ser.nph]}


def same(a: Any, b: Any, rtol: float = 0.0) -> bool:
    """Equality (within ``rtol`` for floats when given), NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return a == b or (rtol > 0 and abs(a - b) <= rtol * max(abs(a), abs(b)))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, rtol) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def platform_signature() -> dict[str, str]:
    """What decides the last bits besides the code: CPU architecture and instruction set,
    BLAS build."""
    import numpy as np

    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        flags = set()
    isa = next((f for f in ("avx512f", "avx2", "avx") if f in flags), "unknown")
    return {"machine": platform.machine(), "isa": isa, "blas": f"{blas.get('name')} {blas.get('version')}"}


def compute_all() -> dict[str, Any]:
    return {"points": [{"kw": kw, "out": point_outputs(kw)} for kw in POINTS],
            "bases": [{"problem": p, "settings": s, "fingerprint": basis_fingerprint(p, s)}
                      for p, s in BASES],
            "recorded_on": platform_signature()}


def compute_as_a_worker() -> dict[str, Any]:
    """:func:`compute_all` in a subprocess with the workers' BLAS environment."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "values.json"
        subprocess.run([sys.executable, __file__, "--compute", str(out)], check=True,
                       env={**os.environ, **worker_env()})
        return json.loads(out.read_text())


def record() -> None:
    GOLDEN.write_text(json.dumps(compute_as_a_worker(), indent=1) + "\n")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--compute"]:
        Path(sys.argv[2]).write_text(json.dumps(compute_all()))
    else:
        record()
