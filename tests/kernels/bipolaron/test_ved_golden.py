"""The VED solver reproduces, bit for bit, what it computed before its numba code was rebuilt.

The recorded values (``ved_golden.json``, see :mod:`ved_golden`) come from commit e82fa4e.
Stores made with kernel version "0.2.0" resume with the current code, so a resumed sweep
must not mix two sets of numbers: equality here is ``==`` on every float, never approx.
"""

from __future__ import annotations

import json

import pytest

from ved_golden import GOLDEN, basis_fingerprint, point_outputs, same

# all 19 cases together take ~3 s once compiled (up to ~20 s on a loaded 2-core machine)
_DATA = json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("i", range(len(_DATA["points"])))
def test_solve_point_reproduces_the_recorded_outputs_exactly(i: int) -> None:
    rec = _DATA["points"][i]
    out = point_outputs(rec["kw"])
    assert set(out) == set(rec["out"])
    differ = {k: (rec["out"][k], out[k]) for k in out if not same(out[k], rec["out"][k])}
    assert not differ, differ


@pytest.mark.parametrize("i", range(len(_DATA["bases"])))
def test_grown_basis_and_hamiltonian_are_bit_identical(i: int) -> None:
    rec = _DATA["bases"][i]
    got = basis_fingerprint(rec["problem"], rec["settings"])
    # sizes and energies first: they say where a difference starts
    assert got["sizes"] == rec["fingerprint"]["sizes"]
    assert got["energies"] == rec["fingerprint"]["energies"]
    assert got == rec["fingerprint"]
