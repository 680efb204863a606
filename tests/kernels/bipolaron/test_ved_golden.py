"""The VED solver reproduces, bit for bit, what it computed before its numba code was rebuilt.

The recorded values (``ved_golden.json``, see :mod:`ved_golden`) come from commit e82fa4e,
computed as a Dask worker computes them (single-threaded BLAS). Stores made with kernel
version "0.2.0" resume with the current code, so a resumed sweep must not mix two sets of
numbers: equality here is ``==`` on every float, never approx, on the platform the values
were recorded on (CPU instruction set and BLAS build, which pick the floating-point kernels);
elsewhere, 1e-9 relative.
"""

from __future__ import annotations

import json

import pytest

from ved_golden import GOLDEN, compute_as_a_worker, platform_signature, same

_DATA = json.loads(GOLDEN.read_text())
# bit for bit where the recording was made; elsewhere the BLAS's own kernels round differently
_RTOL = 0.0 if _DATA["recorded_on"] == platform_signature() else 1e-9


@pytest.fixture(scope="module")
def computed() -> dict:
    # all 19 cases in one subprocess with the workers' BLAS environment: ~5 s once compiled
    return compute_as_a_worker()


@pytest.mark.parametrize("i", range(len(_DATA["points"])))
def test_solve_point_reproduces_the_recorded_outputs_exactly(i: int, computed: dict) -> None:
    rec, out = _DATA["points"][i], computed["points"][i]["out"]
    assert set(out) == set(rec["out"])
    differ = {k: (rec["out"][k], out[k]) for k in out if not same(out[k], rec["out"][k], _RTOL)}
    assert not differ, differ


@pytest.mark.parametrize("i", range(len(_DATA["bases"])))
def test_grown_basis_and_hamiltonian_are_bit_identical(i: int, computed: dict) -> None:
    rec, got = _DATA["bases"][i]["fingerprint"], computed["bases"][i]["fingerprint"]
    # sizes and energies first: they say where a difference starts
    assert got["sizes"] == rec["sizes"]
    assert same(got["energies"], rec["energies"], _RTOL)
    if _RTOL == 0.0:
        assert got == rec
    else:  # the basis itself is discrete; only its energy series may round differently
        assert (got["nstates"], got["nnz"], got["sha256"]) == (rec["nstates"], rec["nnz"], rec["sha256"])
        assert same(got["r2"], rec["r2"], _RTOL) and same(got["nph"], rec["nph"], _RTOL)
