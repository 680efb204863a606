"""The block runner step by step, on the shared real LocalCluster and real stores: the
window it keeps in flight, the future -> block map it answers from, the report it
accumulates and the run record it leaves."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np

from pairsweep.storage import ledger
from pairsweep.storage.layout import read_root_attrs
from pairsweep.sweeps import Sweep, prepare_store
from pairsweep.sweeps.runner import BlockRunner, SweepReport


def _prepared(tmp_path, **kw):
    sweep = Sweep(kernel="engine_kernels:SMOOTH", store=tmp_path / "r.zarr",
                  axes={"x": np.linspace(-1.0, 1.0, 8), "y": [0.0, 0.5]}, chunks={"x": 1, "y": 2}, **kw)
    return prepare_store(sweep)


def test_runner_keeps_the_window_full_and_answers_block_ids_from_its_map(tmp_path, client):
    rs = _prepared(tmp_path, max_in_flight=3)
    done = np.zeros(8, dtype=bool)
    done[[1, 6]] = True  # a resume: these two are never submitted
    runner = BlockRunner(rs, client, done)
    runner.record_start()
    runner.start()
    assert sorted(runner.pending.values()) == [0, 2, 3]  # the first window, in grid order

    handled, windows = [], []
    for future in runner.completed:
        expected = runner.pending[future]
        block_id = runner.handle(future)
        assert block_id == expected and block_id not in runner.pending.values()
        handled.append(block_id)
        runner.submit(1)
        windows.append(len(runner.pending))
    runner.finish(interrupted=False)

    assert sorted(handled) == [0, 2, 3, 4, 5, 7] and runner.pending == {}
    assert max(windows) == 3 and windows[-1] == 0
    # the id each future was mapped to is the block its task computed (the ledger says so)
    entries = {e["block"]: e for e in ledger.iter_entries(rs.store)}
    assert sorted(entries) == sorted(handled)
    report = runner.report
    assert (report.blocks_computed, report.points_computed, report.ok) == (6, 12, 12)
    # the caller's mask is trusted: 2 given as done + 6 computed is the whole grid
    assert report.blocks_already_done == 2 and report.complete
    run = read_root_attrs(rs.store)["pairsweep"]["runs"][-1]
    assert run["run"] == runner.run_id and run["blocks_computed"] == 6 and run["complete"] is True
    assert "finished" in run and "interrupted" not in run


def test_run_submits_everything_and_records_a_complete_run(tmp_path, client):
    rs = _prepared(tmp_path, max_in_flight=2)
    report = BlockRunner(rs, client, np.zeros(8, dtype=bool)).run()
    assert report.complete and report.blocks_computed == 8 and report.block_errors == {}
    assert int(ledger.done_blocks(rs.store, 8).sum()) == 8
    runs = read_root_attrs(rs.store)["pairsweep"]["runs"]
    assert len(runs) == 1 and runs[0]["complete"] is True
    assert sorted(ledger.read_run_log(rs.store)[runs[0]["run"]]) == list(range(8))


def test_task_errors_are_kept_under_the_blocks_that_raised_them(tmp_path, client):
    # a task that expects another spec than the store holds raises before computing anything
    rs = replace(_prepared(tmp_path), stored_hash="0" * 16)
    done = np.ones(8, dtype=bool)
    done[[2, 5]] = False
    report = BlockRunner(rs, client, done).run()
    assert sorted(report.block_errors) == [2, 5] and report.blocks_computed == 0
    assert all(m.startswith("RuntimeError: store ") and "task expects 0000" in m for m in report.block_errors.values())
    assert int(ledger.done_blocks(rs.store, 8).sum()) == 0  # nothing was written


def test_report_accumulates_summaries_and_errors():
    report = SweepReport(store=None, spec_hash="h", n_points=10, n_blocks=4, blocks_already_done=1)
    report.add_block({"points": 3, "ok": 2, "not_converged": 1, "failed": 0})
    report.add_block({"points": 4, "ok": 1, "not_converged": 0, "failed": 3})
    message = report.add_error(3, ValueError("disk full"))
    assert message == "ValueError: disk full" and report.block_errors == {3: message}
    assert (report.blocks_computed, report.points_computed) == (2, 7)
    assert (report.ok, report.not_converged, report.failed) == (3, 1, 3)
    assert not report.complete
    report.add_block({"points": 3, "ok": 3, "not_converged": 0, "failed": 0})
    assert report.complete
    text = str(report)
    assert "block 3: ValueError: disk full" in text and "ok 6, not converged 1, failed 3" in text
    json.dumps(report.block_errors)  # plain data: the CLI and the run record can hold it
