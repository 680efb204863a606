"""Typed fields (sweeps/fields.py): every key of every spec section is declared with a type,
so an undeclared key is refused with the allowed keys listed and a declared one cannot skip
its type check."""

from __future__ import annotations

import re

import numpy as np
import pytest

from pairsweep.cluster import ClusterError
from pairsweep.cluster import validate as validate_cluster
from pairsweep.sweeps import SpecError
from pairsweep.sweeps.cluster_fields import CLUSTER_KINDS, check_cluster, cluster_section
from pairsweep.sweeps.fields import AnyOf, Field, Integer, Memory, Number, Section, Table, Text, TextList
from pairsweep.sweeps.spec import EXECUTION, SPEC, spec_from_dict


def _message(call) -> str:
    with pytest.raises(SpecError) as info:
        call()
    return str(info.value)


def test_a_section_refuses_unknown_keys_and_lists_the_allowed_ones():
    s = Section("execution", [Field("chunks", Table()), Field("max_in_flight", Integer(min=1))])
    assert _message(lambda: s.check({"threads": 2})) == \
        "execution.threads: unknown key; allowed: chunks, max_in_flight"
    top = Section("", [Field("kernel", Text(), required=True)])
    assert _message(lambda: top.check({})) == "kernel: missing (required); expected a non-empty string"
    assert _message(lambda: top.check({"kernel": None})).startswith("kernel: expected a non-empty string, got None")
    # None is "not given" for an optional field (the Python API's default)
    assert s.check({"chunks": None, "max_in_flight": 3}) == {"max_in_flight": 3}


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        (Integer(min=1), [1, np.int64(7), 10**12], [True, np.bool_(True), 0, 4.0, "4", None, np.float32(2)]),
        (Number(min=0), [0, 2.5, np.float64(1.0), np.int32(3)], [True, -1, float("nan"), float("inf"), "1"]),
        (Text(), ["a"], ["", 3, True, None, ["a"]]),
        (TextList(), ["one line", ["a", "b"], []], [3, [1], True, {"a": "b"}]),
        (Memory(), ["4GiB", "500MB", "1MiB"], ["lots", 4, True, "0B", "", "512", "1023KiB"]),
        (Memory(auto=True), ["auto", "4GiB", 0, 2**30], ["lots", True, -1, 0.5, 512]),
        (Table(values=Integer(min=1)), [{}, {"x": 2}], [4, [2], {"x": True}, {1: 2}]),
        (AnyOf((Text(), Integer(min=1)), "text or a count"), ["01:00:00", 5], [True, 1.5, 0, ""]),
    ],
)
def test_each_type_accepts_its_values_and_refuses_the_rest_naming_the_field(kind, good, bad):
    for value in good:
        kind.check(value, "where.f")
    for value in bad:
        message = _message(lambda v=value: kind.check(v, "where.f"))
        assert message.startswith(("where.f:", "where.f.")), (value, message)  # a table's entry: where.f.KEY
    assert type(Integer().check(np.int64(3), "f")) is int  # numpy integers come out plain


def _all_sections() -> list[Section]:
    return [SPEC, EXECUTION, *(cluster_section(kind) for kind in CLUSTER_KINDS)]


def test_every_declared_key_refuses_a_boolean_with_its_dotted_name():
    """No field type takes true for a number, a string, a table or a list: a key cannot be
    declared without a real check."""
    for section in _all_sections():
        for name, f in section.fields.items():
            where = f"{section.where}.{name}" if section.where else name
            message = _message(lambda f=f, where=where: f.type.check(True, where))
            assert message.startswith(f"{where}: "), message


def test_cluster_options_agree_with_the_cluster_packages_own_check():
    """The spec's table of cluster options and pairsweep.cluster.validate must take the same
    keys for each kind (the cluster package lists its allowed keys in its error)."""
    for kind in CLUSTER_KINDS:
        with pytest.raises(ClusterError) as info:
            validate_cluster(kind, {"zz_not_an_option": 1})
        listed = re.search(r"allowed: (.*)$", str(info.value)).group(1).split(", ")
        assert sorted(listed) == sorted(cluster_section(kind).fields), kind


def test_cluster_options_are_checked_for_the_kind_with_a_hint_for_other_kinds():
    assert check_cluster("local", {"n_workers": np.int64(2)}) == {"n_workers": 2}
    assert _message(lambda: check_cluster("local", {"walltime": "01:00:00"})).startswith(
        "cluster.walltime: not an option of a local cluster (it is an option of batch clusters); allowed: ")
    assert _message(lambda: check_cluster("pbs", {"job_mem": "1G"})).startswith(
        "cluster.job_mem: not an option of a pbs cluster (it is an option of slurm clusters)")
    assert _message(lambda: check_cluster("slurm", {"cores": 1, "memory": 4})) == \
        'cluster.memory: expected an amount of memory such as "4GiB" or "500MB" (at least 1 MiB), got 4'
    assert _message(lambda: check_cluster("cloud", {})).startswith("cluster.kind: expected one of local, address")
    assert _message(lambda: check_cluster("local", {1: 2, "zz": 3})).startswith("cluster: option names must be strings")


def test_toml_document_values_come_back_typed():
    sweep = spec_from_dict({
        "kernel": "engine_kernels:SMOOTH", "store": "r.zarr",
        "axes": {"x": {"values": [0.0, 1.0]}},
        "execution": {"chunks": {"x": 1}, "max_in_flight": 2},
        "cluster": {"kind": "slurm", "cores": 1, "memory": "1GiB", "walltime": 30},
    })
    assert sweep.chunks == {"x": 1} and sweep.max_in_flight == 2
    assert sweep.cluster.kind == "slurm" and dict(sweep.cluster.options) == {"cores": 1, "memory": "1GiB", "walltime": 30}
    assert _message(lambda: spec_from_dict({"kernel": "k", "store": "s", "axes": {"x": {"values": [1.0]}},
                                            "execution": {"chunks": {"x": 2}, "threads": 2}})) \
        == "execution.threads: unknown key; allowed: chunks, max_in_flight"
