"""The list of an extended store's parts survives damage and kills: ``parts.json`` carries a
checksum and has a copy; either one intact is enough to open, resume, extend and verify the
store, and ``pairsweep verify`` rewrites the damaged one (real stores, real LocalCluster,
real subprocesses for the kill)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from pairsweep.kernels import Status
from pairsweep.storage.errors import StoreError
from pairsweep.storage.parts import PARTS_COPY, PARTS_FILE, list_parts, parts_files
from pairsweep.storage.verify import verify_store
from pairsweep.sweeps import Sweep, open_result, prepare_store, run_sweep
from pairsweep.sweeps.cli import main

X0, Y0 = np.linspace(-2.0, 2.0, 5), [0.0, 0.5, 1.0]
X1, Y1 = np.linspace(-2.0, 2.0, 9), [0.0, 0.5, 1.0, 2.0]  # extends part 0 by two parts
X2 = np.linspace(-2.0, 2.0, 17)  # a third part
NEW_POINTS = X1.size * len(Y1) - X0.size * len(Y0)


def smooth(store: Path, x=X0, y=Y0) -> Sweep:
    return Sweep(kernel="engine_kernels:SMOOTH", store=store, axes={"x": x, "y": y}, chunks={"x": 2, "y": 2})


@pytest.fixture(scope="module")
def extended(tmp_path_factory, client) -> Path:
    """Part 0 computed, then extended (parts 1 and 2 listed, nothing computed in them)."""
    store = tmp_path_factory.mktemp("parts") / "s.zarr"
    run_sweep(smooth(store), client=client, progress=False)
    prepare_store(smooth(store, X1, Y1))
    assert list_parts(store) == ["1", "2"]
    assert (store / PARTS_FILE).read_bytes() == (store / PARTS_COPY).read_bytes()
    return store


@pytest.fixture
def store(extended, tmp_path) -> Path:
    copy = tmp_path / "s.zarr"
    shutil.copytree(extended, copy)
    return copy


def all_files(store: Path) -> dict[str, bytes]:
    return {p.relative_to(store).as_posix(): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()}


# kinds of damage, each applied to one file; the last two still parse as JSON


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xffnot json at all\n")


def _still_parses(path: Path, text: str) -> None:
    assert text != path.read_text()
    json.loads(text)
    path.write_text(text)


def part_digit(path: Path) -> None:
    """The last listed part 2 becomes 3 (believed, the store would not open)."""
    text = path.read_text()
    _still_parses(path, re.sub(r'"(\d+)"(\s*\])', lambda m: f'"{int(m[1]) + 1}"{m[2]}', text, count=1))


def spec_digit(path: Path) -> None:
    """A digit in the recorded spec changes (believed, its provenance would silently lie)."""
    text = path.read_text()
    i = next(k for k in range(text.index('"spec"'), len(text)) if text[k].isdigit())
    digit = "8" if text[i] == "9" else str(int(text[i]) + 1)  # never a leading zero
    _still_parses(path, text[:i] + digit + text[i + 1 :])


DAMAGE: list[Callable[[Path], None]] = [truncated, garbage, part_digit, spec_digit]


def parts_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "parts.json" in str(w.message)]


def assert_full_union(store: Path, spec: dict) -> None:
    """open_result shows part 0 computed and both new parts, over the union grid."""
    ds = open_result(store)
    assert ds.sizes["x"] == X1.size and ds.sizes["y"] == len(Y1)
    assert ds.attrs["pairsweep_parts"]["parts"] == ["0", "1", "2"]
    assert ds.attrs["pairsweep_parts"]["extended_by"] == spec
    status = ds["status"].load()
    assert (status.sel(x=X0, y=Y0).values == Status.OK).all()
    assert int((status.values == Status.OK).sum()) == X0.size * len(Y0)


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
@pytest.mark.parametrize("damaged", [PARTS_FILE, PARTS_COPY])
def test_one_damaged_file_is_detected_and_the_other_used_then_repaired(store, damaged, damage, capsys):
    original = (store / PARTS_FILE).read_bytes()
    spec = json.loads(original)["spec"]
    damage(store / damaged)
    before = all_files(store)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert_full_union(store, spec)
    # reading from the copy is said (once per read); a damaged copy is verify's business
    assert bool(parts_warnings(caught)) == (damaged == PARTS_FILE)
    assert all("pairsweep verify" in w for w in parts_warnings(caught))

    report = verify_store(store, repair=False)
    assert not report.clean and report.parts.keys() == {"1", "2"}
    assert len(report.metadata_problems) == 1 and report.metadata_problems[0].startswith(damaged)
    assert all_files(store) == before  # check only: nothing changed

    assert main(["verify", str(store)]) == 1  # repairs by default
    out = capsys.readouterr().out
    assert f"metadata: {damaged}" in out and "1 metadata files restored" in out
    assert (store / PARTS_FILE).read_bytes() == original == (store / PARTS_COPY).read_bytes()
    again = verify_store(store, repair=False)
    assert again.clean and not again.metadata_problems and not again.notes, str(again)


@pytest.mark.parametrize("damaged", [PARTS_FILE, PARTS_COPY])
def test_resume_and_a_further_extension_work_with_one_file_damaged(store, damaged, client):
    spec = json.loads((store / PARTS_FILE).read_text())["spec"]
    spec_digit(store / damaged)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the warning is tested above
        report = run_sweep(smooth(store, X1, Y1), client=client, progress=False)
        assert report.complete and report.points_computed == NEW_POINTS
        ds = open_result(store)
        assert ds.attrs["pairsweep_parts"]["extended_by"] == spec
        assert (ds["status"].values == Status.OK).all()
        # an extension writes both files anew
        report = run_sweep(smooth(store, X2, Y1), client=client, progress=False)
    assert report.complete and report.points_computed == (X2.size - X1.size) * len(Y1)
    state = parts_files(store)
    assert (state.primary, state.copy, state.record["parts"]) == (None, None, ["1", "2", "3"])
    assert (store / PARTS_FILE).read_bytes() == (store / PARTS_COPY).read_bytes()
    assert verify_store(store, repair=False).clean


def test_both_damaged_is_a_clear_error_naming_both_and_nothing_is_touched(store, capsys):
    part_digit(store / PARTS_FILE)
    truncated(store / PARTS_COPY)
    before = all_files(store)
    names = rf"{re.escape(str(store / PARTS_FILE))} does not match its checksum and its copy " \
            rf"{re.escape(str(store / PARTS_COPY))} cannot be parsed; nothing was changed"
    with pytest.raises(StoreError, match=names):
        open_result(store)
    with pytest.raises(StoreError, match=names):
        prepare_store(smooth(store, X1, Y1))
    with pytest.raises(StoreError, match=names):
        verify_store(store)
    assert main(["verify", str(store)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "Restore either file from a backup" in err
    assert all_files(store) == before
    # the way back without a backup: the list the message spells out, written by hand
    by_hand = re.search(r"or write (\{.*\}) \(the part directories", err)[1]
    assert json.loads(by_hand) == {"format": 1, "parts": ["1", "2"]}
    (store / PARTS_FILE).write_text(by_hand)
    ds = open_result(store)
    assert ds.sizes["x"] == X1.size and ds.attrs["pairsweep_parts"]["extended_by"] is None
    # a repairing verify gives it a checksum and rewrites the damaged copy from it
    report = verify_store(store)
    assert report.metadata_repaired == [PARTS_COPY] and any("rewritten with both" in n for n in report.notes)
    state = parts_files(store)
    assert (state.primary, state.copy, state.legacy, state.record["parts"]) == (None, None, False, ["1", "2"])
    assert verify_store(store, repair=False).clean


def write_old_format(store: Path, parts: list[str], spec: dict) -> None:
    """parts.json exactly as pairsweep wrote it before the checksum and the copy."""
    (store / PARTS_FILE).write_text(json.dumps({"format": 1, "parts": parts, "spec": spec}, indent=1))


def test_a_store_written_before_the_checksum_opens_verifies_and_extends(store, client):
    spec = json.loads((store / PARTS_FILE).read_text())["spec"]
    write_old_format(store, ["1", "2"], spec)
    (store / PARTS_COPY).unlink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert_full_union(store, spec)
    assert not parts_warnings(caught)
    before = all_files(store)
    report = verify_store(store, repair=False)
    assert report.clean and any("written before pairsweep kept a checksum" in n for n in report.notes)
    assert all_files(store) == before

    report = run_sweep(smooth(store, X2, Y1), client=client, progress=False)
    assert report.complete and report.points_computed == X2.size * len(Y1) - X0.size * len(Y0)
    state = parts_files(store)
    assert (state.primary, state.copy, state.legacy, state.record["parts"]) == (None, None, False, ["1", "2", "3"])

    # an older pairsweep extending a store that has a copy: its unsealed list is the newest
    write_old_format(store, ["1", "2", "3"], spec)
    (store / PARTS_COPY).write_text((store / PARTS_COPY).read_text().replace('"3"', '"2"'))
    assert list_parts(store) == ["1", "2", "3"]
    # and damage to an unsealed list with no intact copy is refused, as before
    truncated(store / PARTS_FILE)
    garbage(store / PARTS_COPY)
    with pytest.raises(StoreError, match="cannot be parsed and its copy .* cannot be parsed"):
        list_parts(store)


# ---------------------------------------------------------------------------------------
# SIGKILL between writing parts.json and its copy (a real subprocess)
# ---------------------------------------------------------------------------------------

_EXTEND = """
import sys
import numpy as np
from pairsweep.sweeps import Sweep, prepare_store
prepare_store(Sweep(kernel="engine_kernels:SMOOTH", store=sys.argv[1],
                    axes={"x": np.linspace(-2.0, 2.0, int(sys.argv[2])), "y": [0.0, 0.5, 1.0, 2.0]},
                    chunks={"x": 2, "y": 2}))
"""


def kill_between_the_writes(store: Path, x_num: int, env: dict[str, str]) -> None:
    """Extend ``store`` in a subprocess and SIGKILL it as soon as the first of parts.json and
    its copy is rewritten: inside the (widened) window before the second one is."""
    files = [store / PARTS_FILE, store / PARTS_COPY]

    def contents() -> list[bytes | None]:
        return [f.read_bytes() if f.exists() else None for f in files]

    before = contents()
    proc = subprocess.Popen([sys.executable, "-c", _EXTEND, str(store), str(x_num)],
                            env={**env, "PAIRSWEEP_TEST_PARTS_COPY_DELAY": "60"}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while contents() == before:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert proc.poll() is None  # still inside the window: the second file is not written yet
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def test_sigkill_between_the_two_writes_loses_no_listed_part(tmp_path, subprocess_env, client):
    store = tmp_path / "k.zarr"
    run_sweep(smooth(store), client=client, progress=False)

    # the first extension: killed before the copy exists
    kill_between_the_writes(store, X1.size, subprocess_env)
    state = parts_files(store)
    assert (state.primary, state.copy, state.copy_lags) == (None, "missing", True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert_full_union(store, state.record["spec"])
    assert not parts_warnings(caught)
    report = verify_store(store, repair=False)
    assert report.clean and any(f"{PARTS_COPY} is missing (an extension was stopped" in n for n in report.notes)
    # the next run (under the lock) completes the listing, then computes the new points
    report = run_sweep(smooth(store, X1, Y1), client=client, progress=False)
    assert report.complete and report.points_computed == NEW_POINTS
    assert (store / PARTS_COPY).read_bytes() == (store / PARTS_FILE).read_bytes()

    # a further extension: killed while the copy still lists the two parts before it
    kill_between_the_writes(store, X2.size, subprocess_env)
    state = parts_files(store)
    assert (state.primary, state.copy, state.record["parts"]) == (None, "out of date", ["1", "2", "3"])
    assert list_parts(store) == ["1", "2", "3"]
    report = verify_store(store)  # brings the copy up to date: not damage, so still clean
    assert report.clean and any("is out of date" in n and "brought up to date" in n for n in report.notes)
    assert (store / PARTS_COPY).read_bytes() == (store / PARTS_FILE).read_bytes()
    report = run_sweep(smooth(store, X2, Y1), client=client, progress=False)
    assert report.complete and report.points_computed == (X2.size - X1.size) * len(Y1)
    ds = open_result(store)
    assert ds.sizes["x"] == X2.size and (ds["status"].values == Status.OK).all()
