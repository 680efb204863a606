"""Bad specs are rejected before anything runs, with the field named and the allowed range."""

import textwrap

import numpy as np
import pytest

from pairsweep.sweeps import Axis, ClusterSpec, SpecError, Sweep, load_spec, resolve
from pairsweep.sweeps.spec import MAX_AUTO_BLOCK_POINTS, _auto_chunks


def sweep(**kw):
    base = dict(kernel="engine_kernels:SMOOTH", store="unused.zarr", axes={"x": [0.0, 1.0], "y": [0.0]})
    return Sweep(**{**base, **kw})


def write(tmp_path, text):
    path = tmp_path / "spec.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_toml_round_trip(tmp_path):
    path = write(tmp_path, """
        kernel = "engine_kernels:SMOOTH"
        store = "out.zarr"
        [axes]
        x = { linspace = [0.0, 1.0, 5] }
        y = { logspace = [0.01, 1.0, 3] }
        [fixed]
        delay = 0.0
        [execution]
        chunks = { x = 2 }
        [cluster]
        kind = "local"
        n_workers = 1
        """)
    rs = resolve(load_spec(path))
    assert rs.shape == (5, 3)
    assert rs.chunks[0] == 2
    np.testing.assert_allclose(rs.axes[1].values, [0.01, 0.1, 1.0])
    assert rs.sweep.cluster == ClusterSpec("local", {"n_workers": 1})


@pytest.mark.parametrize(
    ("changes", "field", "allowed"),
    [
        (dict(kernel="no_such_kernel"), "kernel", "available"),
        (dict(axes={"z": [1.0]}), "axes.z", "parameters: x, y, delay"),
        (dict(axes={"x": [0.0, 11.0]}), "axes.x", "[-10, 10]"),
        (dict(axes={"x": []}), "axes.x", "at least one value"),
        (dict(axes={"x": [1.0, 1.0]}), "axes.x", "distinct"),
        (dict(axes={"x": ["a"]}), "axes.x", "numeric"),
        (dict(fixed={"delay": -1.0}), "fixed.delay", "[0, 5]"),
        (dict(fixed={"x": 1.0}), "fixed.x", "either swept or fixed"),
        (dict(fixed={"nope": 1.0}), "fixed.nope", "parameters"),
        (dict(chunks={"x": 0}), "execution.chunks.x", "integer >= 1"),
        (dict(chunks={"q": 2}), "execution.chunks.q", "not an axis"),
        (dict(max_in_flight=0), "execution.max_in_flight", "integer >= 1"),
    ],
)
def test_bad_python_specs_name_the_field(changes, field, allowed):
    with pytest.raises(SpecError) as info:
        resolve(sweep(**changes))
    message = str(info.value)
    assert message.startswith(field + ":"), message
    assert allowed in message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('kernel = "engine_kernels:SMOOTH"\nstore = "s"\nbogus = 1\n[axes]\nx = { values = [1.0] }', "bogus"),
        ('kernel = "engine_kernels:SMOOTH"\nstore = "s"\n[axes]\nx = { values = [1.0], step = 2 }', "axes.x"),
        ('kernel = "engine_kernels:SMOOTH"\nstore = "s"\n[axes]\nx = { linspace = [0.0, 1.0] }', "axes.x.linspace"),
        ('kernel = "engine_kernels:SMOOTH"\nstore = "s"\n[axes]\nx = { linspace = [0.0, 1.0, 0] }', "axes.x.linspace"),
        ('kernel = "engine_kernels:SMOOTH"\nstore = "s"\n[axes]\nx = { logspace = [0.0, 1.0, 3] }', "axes.x"),
        ('kernel = "engine_kernels:SMOOTH"\nstore = "s"\n[axes]\nx = { values = [1.0] }\n[execution]\nfoo = 1', "execution.foo"),
        ('kernel = "engine_kernels:SMOOTH"\n[axes]\nx = { values = [1.0] }', "store"),
        ('kernel = "engine_kernels:SMOOTH"\nstore = "s"\n[axes]', "axes"),
    ],
)
def test_bad_toml_specs_name_the_field(tmp_path, body, field):
    with pytest.raises(SpecError) as info:
        resolve(load_spec(write(tmp_path, body)))
    assert str(info.value).startswith(field + ":"), str(info.value)


def test_kernel_defaults_fill_unset_parameters():
    rs = resolve(sweep())
    assert rs.fixed == {"delay": 0.0}


def test_spec_hash_tracks_results_not_paths_or_clusters():
    a = resolve(sweep())
    assert resolve(sweep(store="elsewhere.zarr", cluster=ClusterSpec("local", {"n_workers": 1}))).spec_hash == a.spec_hash
    assert resolve(sweep(fixed={"delay": 0.1})).spec_hash != a.spec_hash
    assert resolve(sweep(axes={"x": [0.0, 1.0000001], "y": [0.0]})).spec_hash != a.spec_hash


def test_axis_helpers_and_mapping_form_agree():
    from_axes = resolve(sweep(axes=[Axis.linspace("x", 0, 1, 3), Axis("y", (0.0,))]))
    from_mapping = resolve(sweep(axes={"x": np.linspace(0, 1, 3), "y": [0.0]}))
    assert from_axes.spec_hash == from_mapping.spec_hash


def test_auto_chunks_target_a_few_seconds_and_tile_trailing_axes_first():
    # 1 ms/point → 5000-point blocks; the trailing axis (200) is taken whole.
    assert _auto_chunks((1000, 200), 1e-3) == (25, 200)
    # microsecond kernels are capped so a block's chunks stay small
    assert np.prod(_auto_chunks((10_000, 10_000), 1e-6)) <= MAX_AUTO_BLOCK_POINTS
    # minute-per-point kernels get one point per block
    assert _auto_chunks((10, 10), 60.0) == (1, 1)
    # a small grid is still spread over at least ~16 blocks
    assert np.prod(_auto_chunks((8, 8), 1e-6)) <= 4
