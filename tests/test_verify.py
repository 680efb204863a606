"""The corruption corpus: each kind of damage is found by ``verify``, repaired by resume, and
the repaired store is bit-identical to one that was never damaged."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from pairsweep.storage import ledger
from pairsweep.storage.errors import StoreError
from pairsweep.storage.verify import verify_store
from pairsweep.sweeps import Sweep, run_sweep
from pairsweep.sweeps.cli import main

# FLAKY raises at x < -5: blocks 0 and 1 (x = -8, -6) are all failed, so their f and
# moments chunks equal the fill value (NaN) and zarr writes no file for them.
X = np.linspace(-8.0, 8.0, 9)
Y = np.linspace(-2.0, 2.0, 4)
CHUNKS = {"x": 2, "y": 2}  # 5 x 2 = 10 blocks; block b covers x block b // 2, y block b % 2


def sweep(store: Path) -> Sweep:
    return Sweep(kernel="engine_kernels:FLAKY", store=store, axes={"x": X, "y": Y}, chunks=CHUNKS)


def data_files(store: Path) -> dict[str, bytes]:
    """Every file outside pairsweep's own state, except the root zarr.json (which records
    each run's times by design; compared without them by ``root_without_runs``)."""
    out = {}
    for path in sorted(store.rglob("*")):
        rel = path.relative_to(store).as_posix()
        if path.is_file() and not rel.startswith("_pairsweep") and rel != "zarr.json":
            out[rel] = path.read_bytes()
    return out


def root_without_runs(store: Path) -> dict:
    root = json.loads((store / "zarr.json").read_text())
    root["attributes"]["pairsweep"].pop("runs")
    return root


@pytest.fixture(scope="module")
def reference(tmp_path_factory, client) -> Path:
    store = tmp_path_factory.mktemp("verify") / "reference.zarr"
    report = run_sweep(sweep(store), client=client, progress=False)
    assert report.complete and report.failed == (np.abs(X) > 5).sum() * Y.size
    return store


def flip_bytes(store: Path) -> None:
    path = store / "f/c/2/1"
    data = bytearray(path.read_bytes())
    for i in (len(data) // 2, len(data) // 2 + 3):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def truncate(store: Path) -> None:
    path = store / "moments/c/3/0/0"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def delete_status(store: Path) -> None:
    (store / "status/c/4/1").unlink()


def extra_in_done_block(store: Path) -> None:
    # block 0 wrote no f chunk (all NaN = fill value); a file appearing there is foreign
    assert not (store / "f/c/0").exists()
    (store / "f/c/0").mkdir()
    shutil.copyfile(store / "f/c/2/0", store / "f/c/0/0")


def extra_outside_grid(store: Path) -> None:
    (store / "f/c/7").mkdir()
    shutil.copyfile(store / "f/c/2/0", store / "f/c/7/0")


def garbled_entry(store: Path) -> None:
    path = store / "_pairsweep/blocks/5.json"
    path.write_bytes(path.read_bytes()[:40] + b"\x00garbage")


def edited_entry(store: Path) -> None:
    # still valid JSON, only a count changed: caught by the entry's own checksum
    path = store / "_pairsweep/blocks/6.json"
    entry = json.loads(path.read_text())
    entry["ok"] -= 1
    path.write_text(json.dumps(entry))


def entry_wrong_checksum(store: Path) -> None:
    # the recorded chunk checksum is altered and the seal recomputed: the chunk no longer
    # matches what the ledger says it wrote
    from pairsweep.storage.checksum import sealed

    path = store / "_pairsweep/blocks/7.json"
    entry = json.loads(path.read_text())
    entry["chunks"]["f"][2] = "0" * 32
    path.write_text(json.dumps(sealed({k: v for k, v in entry.items() if k != "entry_blake2b"})))


def damaged_root(store: Path) -> None:
    path = store / "zarr.json"
    path.write_bytes(path.read_bytes()[:100])


def edited_root(store: Path) -> None:
    # parses, but an array's shape in the consolidated metadata is wrong
    path = store / "zarr.json"
    root = json.loads(path.read_text())
    root["consolidated_metadata"]["metadata"]["f"]["shape"] = [8, 4]
    path.write_text(json.dumps(root))


def damaged_array_metadata(store: Path) -> None:
    path = store / "status/zarr.json"
    path.write_text(path.read_text().replace('"fill_value": 255', '"fill_value": 0'))


def damaged_coordinate(store: Path) -> None:
    path = store / "x/c/0"
    data = bytearray(path.read_bytes())
    data[-2] ^= 0xFF
    path.write_bytes(bytes(data))


CORPUS: dict[str, tuple[Callable[[Path], None], set[int], str]] = {
    # name: (damage, blocks that must be reported bad, what else must be reported)
    "flipped bytes in a chunk": (flip_bytes, {5}, ""),
    "truncated chunk": (truncate, {6}, ""),
    "deleted status chunk": (delete_status, {9}, ""),
    "extra chunk in a done block": (extra_in_done_block, {0}, ""),
    "extra chunk outside the grid": (extra_outside_grid, set(), "f/c/7/0"),
    "garbled ledger entry": (garbled_entry, {5}, ""),
    "edited ledger entry": (edited_entry, {6}, ""),
    "ledger checksum does not match chunk": (entry_wrong_checksum, {7}, ""),
    "truncated root zarr.json": (damaged_root, set(), "zarr.json"),
    "edited root zarr.json": (edited_root, set(), "zarr.json"),
    "damaged array zarr.json": (damaged_array_metadata, set(), "status/zarr.json"),
    "damaged coordinate chunk": (damaged_coordinate, set(), "x/c/0"),
}


@pytest.mark.parametrize("case", list(CORPUS))
def test_damage_is_detected_then_repaired_bit_identical(case, reference, tmp_path, client):
    damage, bad_blocks, other = CORPUS[case]
    store = tmp_path / "damaged.zarr"
    shutil.copytree(reference, store)
    assert verify_store(store, repair=False).clean  # the copy itself is sound
    damage(store)

    found = verify_store(store, repair=False)
    assert not found.clean
    assert {b.block for b in found.bad} == bad_blocks
    if other:
        assert any(other in p for p in found.metadata_problems + found.extra_files), found

    repaired = verify_store(store)
    assert {b.block for b in repaired.bad} == bad_blocks
    assert ledger.done_blocks(store, 10).sum() == 10 - len(bad_blocks)
    report = run_sweep(sweep(store), client=client, progress=False)
    assert report.complete and report.blocks_computed == len(bad_blocks)

    assert data_files(store) == data_files(reference)
    assert root_without_runs(store) == root_without_runs(reference)
    assert verify_store(store, repair=False).clean
    # what was taken out is kept, not deleted
    if bad_blocks or other == "f/c/7/0":
        assert any((store / "_pairsweep/quarantine").rglob("*"))


def test_bad_block_is_reported_with_its_parameter_ranges(reference, tmp_path, capsys):
    store = tmp_path / "s.zarr"
    shutil.copytree(reference, store)
    flip_bytes(store)
    assert main(["verify", str(store), "--check-only"]) == 1
    out = capsys.readouterr().out
    # block 5: x block 2 (x = 0, 2), y block 1 (y = 0.667, 2)
    assert "BAD block 5 (x in [0, 2], y in [0.666667, 2]): f: chunk file f/c/2/1 does not match its checksum" in out
    assert "nothing changed" in out
    assert ledger.done_blocks(store, 10).all()  # check-only changed nothing

    assert main(["verify", str(store)]) == 1
    assert "1 blocks marked not done" in capsys.readouterr().out
    assert not ledger.done_blocks(store, 10)[5]
    record = json.loads(next((store / "_pairsweep/verify").glob("*.json")).read_text())
    assert list(record["bad_blocks"]) == ["5"]
    assert main(["verify", str(store)]) == 0
    assert "OK: every done block matches its checksums" in capsys.readouterr().out


def test_metadata_damaged_beyond_its_creation_copy_is_a_clear_error(reference, tmp_path, capsys):
    store = tmp_path / "s.zarr"
    shutil.copytree(reference, store)
    damaged_array_metadata(store)
    (store / "_pairsweep/pristine/status/zarr.json").write_text("{}")
    with pytest.raises(StoreError, match=r"status/zarr.json is damaged and its creation copy .* too"):
        verify_store(store)
    assert main(["verify", str(store)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pairsweep: error: store:") and "Traceback" not in err


def test_resume_of_a_store_with_unreadable_root_points_at_verify(reference, tmp_path):
    store = tmp_path / "s.zarr"
    shutil.copytree(reference, store)
    damaged_root(store)
    with pytest.raises(StoreError, match="run `pairsweep verify"):
        run_sweep(sweep(store), progress=False)


def test_root_keys_added_after_creation_are_not_damage_and_survive_a_repair(reference, tmp_path):
    store = tmp_path / "s.zarr"
    shutil.copytree(reference, store)
    root = json.loads((store / "zarr.json").read_text())
    root["attributes"]["pairsweep"]["recorded_later"] = {"by": "a newer pairsweep"}
    root["attributes"]["pairsweep"]["spec_hash"] = "0" * 16  # damage
    (store / "zarr.json").write_text(json.dumps(root))
    found = verify_store(store)
    assert found.metadata_problems == ["zarr.json (root metadata) is damaged: attributes.pairsweep.spec_hash"]
    repaired = json.loads((store / "zarr.json").read_text())["attributes"]["pairsweep"]
    assert repaired["recorded_later"] == {"by": "a newer pairsweep"}
    assert repaired["runs"] == root["attributes"]["pairsweep"]["runs"]
    assert root_without_runs(store)["attributes"]["pairsweep"]["spec_hash"] != "0" * 16
    assert verify_store(store, repair=False).clean


def test_store_written_before_checksums_is_checked_as_far_as_it_can_be(reference, tmp_path, capsys):
    store = tmp_path / "s.zarr"
    shutil.copytree(reference, store)
    shutil.rmtree(store / "_pairsweep/pristine")
    (store / "_pairsweep/manifest.json").unlink()
    for path in (store / "_pairsweep/blocks").glob("*.json"):
        entry = json.loads(path.read_text())
        path.write_text(json.dumps({k: v for k, v in entry.items() if k not in ("chunks", "entry_blake2b")}))
    report = verify_store(store, repair=False)
    assert report.clean and report.blocks_checked == 10 and report.unverifiable == 10
    assert "no manifest" in report.notes[0]


def test_status_names_a_damaged_ledger_entry_instead_of_a_traceback(reference, tmp_path, capsys):
    store = tmp_path / "s.zarr"
    shutil.copytree(reference, store)
    garbled_entry(store)
    assert main(["status", str(store)]) == 2
    err = capsys.readouterr().err
    assert "blocks/5.json is damaged; run `pairsweep verify" in err and "Traceback" not in err


def test_repair_is_refused_while_a_run_holds_the_store(reference, tmp_path, capsys):
    from pairsweep.storage.lock import StoreLock

    store = tmp_path / "s.zarr"
    shutil.copytree(reference, store)
    flip_bytes(store)
    with StoreLock.acquire(store):
        assert main(["verify", str(store)]) == 2
        assert "is held by pid" in capsys.readouterr().err
        assert main(["verify", str(store), "--check-only"]) == 1  # reading needs no lock
    assert ledger.done_blocks(store, 10).all()
