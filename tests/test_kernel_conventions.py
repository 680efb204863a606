"""The conventions of kernels/_api.py hold for every registered kernel, and changing a unit
string never stops an existing store from resuming."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from pairsweep.kernels import Parameter, registry
from pairsweep.kernels.multigap_lifshitz.kernel import DEFAULTS, PARAMETERS, point_model, solve_point
from pairsweep.sweeps import Sweep, resolve
from pairsweep.sweeps.engine import check_store, prepare_store

KERNELS = registry.available_kernels()


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_units_follow_one_convention(name: str) -> None:
    kernel = KERNELS[name]
    wrong = []
    for item in (*kernel.parameters, *kernel.outputs):
        if not item.unit:
            wrong.append(f"{item.name}: empty unit (a pure number is '1')")
        elif "_over_" in item.name and item.unit != "1":
            wrong.append(f"{item.name}: a ratio X_over_Y has unit '1', not {item.unit!r}")
    for p in kernel.parameters:
        if p.choices is not None and p.unit != "1":
            wrong.append(f"{p.name}: a choice has unit '1', not {p.unit!r}")
    for o in kernel.outputs:
        if o.dtype == "bool" and o.unit != "1":
            wrong.append(f"{o.name}: a flag has unit '1', not {o.unit!r}")
    assert not wrong, wrong
    assert kernel.version and kernel.version.replace(".", "").isdigit()


def test_a_store_made_with_old_unit_strings_still_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # spinor_bec's choice parameters had unit "" before the convention; a store made then
    # must resume under the new strings. Creating the store computes nothing.
    current = KERNELS["spinor_bec"]
    old = dataclasses.replace(current, parameters=tuple(
        dataclasses.replace(p, unit="") if p.choices is not None else p for p in current.parameters))
    sweep = Sweep(kernel="spinor_bec", store=str(tmp_path / "old.zarr"),
                  axes={"interaction": ["retarded", "static"], "delta_g": [1e-3, 1e-2]}, fixed={"g_F": 2.0})
    with monkeypatch.context() as patch:
        patch.setitem(registry._registry(), "spinor_bec", old)
        made = prepare_store(sweep)
    attrs = json.loads((tmp_path / "old.zarr" / "interaction" / "zarr.json").read_text())["attributes"]
    assert attrs["units"] == ""  # the store keeps what it was made with
    assert registry.get_kernel("spinor_bec").parameter_map["interaction"].unit == "1"
    resumed, exists = check_store(sweep)  # raises SpecMismatchError if anything differed
    assert exists and resumed.stored_hash == made.spec_hash
    assert resolve(sweep).spec_hash == made.spec_hash  # units are not part of the hash


def test_parameter_distinct_keeps_first_appearance_and_falls_back_to_the_default() -> None:
    p = Parameter("x", "1", "a test parameter", default=7)
    assert p.distinct({"x": np.array([3, 1, 3, 2, 1])}) == [3, 1, 2]
    assert p.distinct({"x": np.array(5)}) == [5]
    assert p.distinct({}) == [7]


def test_multigap_defaults_have_one_source_and_misspelt_keywords_are_refused() -> None:
    assert DEFAULTS == {p.name: p.default for p in PARAMETERS}
    assert DEFAULTS["L_nm"] == 0.85 and DEFAULTS["case"] == "A"
    with pytest.raises(TypeError, match=r"solve_point\(\) got unexpected keyword arguments \['g_intre'\]"):
        solve_point(g_intre=0.0)
    with pytest.raises(TypeError, match=r"point_model\(\) got unexpected keyword arguments \['Lnm'\]"):
        point_model(Lnm=1.0)
