"""Store creation is atomic, leftovers of killed creations are cleaned, and a store that an
older pairsweep left half created is recognised and created anew, never trusted."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import zarr

from pairsweep.storage import ledger
from pairsweep.storage.errors import StoreError
from pairsweep.storage.layout import Variable, create_store
from pairsweep.sweeps import Sweep, run_sweep

X = np.linspace(-1.0, 1.0, 6)
Y = np.linspace(-1.0, 1.0, 4)


def sweep(store):
    return Sweep(kernel="engine_kernels:SMOOTH", store=store, axes={"x": X, "y": Y}, chunks={"x": 3, "y": 2})


def data_files(store):
    """Every file but pairsweep's own state and the root zarr.json (which records runs)."""
    return {p.relative_to(store).as_posix(): p.read_bytes() for p in sorted(store.rglob("*"))
            if p.is_file() and "_pairsweep" not in p.parts and p.relative_to(store).as_posix() != "zarr.json"}


def test_create_store_publishes_all_or_nothing_and_cleans_dead_leftovers(tmp_path):
    store = tmp_path / "s.zarr"
    leftover = tmp_path / ".s.zarr.creating-0123456789ab"
    (leftover / "_pairsweep").mkdir(parents=True)  # a creation killed earlier
    var = Variable("v", ("x",), (4,), (2,), "float64", np.nan)
    create_store(store, coords={"x": (np.arange(4.0), {})}, variables=[var], attrs={"a": 1})
    assert not leftover.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["s.zarr"]
    manifest = json.loads((store / "_pairsweep/manifest.json").read_text())
    assert set(manifest["files"]) == {"zarr.json", "x/zarr.json", "x/c/0", "v/zarr.json"}
    assert (store / "_pairsweep/pristine/v/zarr.json").read_bytes() == (store / "v/zarr.json").read_bytes()
    with pytest.raises(FileExistsError, match="store: .* already exists"):
        create_store(store, coords={}, variables=[var], attrs={})
    assert not list(tmp_path.glob(".s.zarr.creating-*"))  # a refused creation leaves nothing


def old_style_half_store(store, reference):
    """What a SIGKILL during creation left before creation was atomic: the root group with
    its spec attributes, no arrays."""
    attrs = json.loads((reference / "zarr.json").read_text())["attributes"]
    attrs["pairsweep"]["runs"] = []
    zarr.open_group(str(store), mode="w-", zarr_format=3, attributes=attrs)


def test_half_created_store_is_created_anew_and_gives_the_same_result(tmp_path, client, capsys):
    reference = tmp_path / "reference.zarr"
    run_sweep(sweep(reference), client=client, progress=False)
    store = tmp_path / "half.zarr"
    old_style_half_store(store, reference)
    report = run_sweep(sweep(store), client=client, progress=False)
    assert report.complete and report.blocks_computed == 4
    assert "was only half created (no x, y, k, f, moments, n_calls, status); creating it anew" in capsys.readouterr().err
    assert data_files(store) == data_files(reference)
    assert (store / "_pairsweep/manifest.json").is_file()


def test_half_created_store_holding_other_files_is_never_touched(tmp_path, client):
    reference = tmp_path / "reference.zarr"
    run_sweep(sweep(reference), client=client, progress=False)
    store = tmp_path / "half.zarr"
    old_style_half_store(store, reference)
    shutil.copytree(reference / "_pairsweep/blocks", store / "_pairsweep/blocks")  # someone's results
    with pytest.raises(StoreError, match=r"lacks the arrays .* nothing was changed. `pairsweep verify"):
        run_sweep(sweep(store), client=client, progress=False)
    assert ledger.done_blocks(store, 4).all() and not (store / "f").exists()
