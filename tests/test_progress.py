"""Run hygiene: progress as a bar or plain lines, counts that add up, a log file per run,
distributed's log records kept off the bar, -q/-v, --version."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import textwrap

import pytest

from pairsweep.sweeps import Sweep, run_sweep
from pairsweep.sweeps.cli import main
from pairsweep.sweeps.progress import RunProgress, choose_mode


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _summary(block, points, ok, nc, failed):
    return {"block": block, "points": points, "ok": ok, "not_converged": nc, "failed": failed, "seconds": 0.1}


def test_mode_is_a_bar_on_a_terminal_and_lines_elsewhere():
    assert choose_mode(True, _Terminal()) == "bar"
    assert choose_mode(True, io.StringIO()) == "lines"
    assert choose_mode(False, _Terminal()) == "off"


def test_plain_lines_carry_every_count_and_no_carriage_returns(tmp_path):
    out = io.StringIO()
    log = tmp_path / "logs" / "r.log"
    with RunProgress(total_points=30, points_done=10, n_blocks=3, blocks_done=1, mode="lines",
                     log_path=log, stream=out, interval=0.0) as p:
        p.block_done(_summary(1, 10, 7, 2, 1))
        p.block_error(2, "KilledWorker: boom")
        p.close("final report")  # as the engine does; leaving the with block closes nothing twice
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[0].startswith("pairsweep: 20/30 points (66.7 %), blocks 2/3, ok 7, not converged 2, failed 1")
    assert "block errors 1" in lines[-1]
    logged = log.read_text()
    assert "block 1 done: 10 points, ok 7, not converged 2, failed 1" in logged
    assert "block 2 could not run: KilledWorker: boom" in logged and logged.rstrip().endswith("final report")


def test_bar_shows_current_counts_and_log_records_go_above_it_and_to_the_file(tmp_path):
    out = _Terminal()
    log = tmp_path / "r.log"
    with RunProgress(total_points=20, points_done=0, n_blocks=2, blocks_done=0, mode="bar",
                     log_path=log, stream=out) as p:
        p.block_done(_summary(0, 10, 9, 1, 0))
        logging.getLogger("distributed.worker").warning("Worker tcp://x is leaving")
        logging.getLogger("distributed.sizeof").warning("Sizeof calculation for object of type 'X' failed.")
    frames = out.getvalue()
    # the frame drawn by update() already has the new counts (no lag of one block)
    assert "10/20" in frames and "blocks 1/2, ok 9, not converged 1, failed 0" in frames
    assert "\nWorker tcp://x is leaving\n" in frames.replace("\r", "\n")  # its own line, not inside a frame
    assert "Sizeof" not in frames
    logged = log.read_text()
    assert "WARNING distributed.worker: Worker tcp://x is leaving" in logged and "Sizeof calculation" in logged
    # logging is restored afterwards
    assert not any(type(h).__module__.endswith("progress") for h in logging.getLogger("distributed").handlers)


def test_run_writes_a_log_per_run_and_counts_failures_apart_from_unconverged(tmp_path, client, capsys):
    path = tmp_path / "r.zarr"
    sweep = Sweep(kernel="engine_kernels:FLAKY", store=path, axes={"x": [-6.0, 0.0, 1.0], "y": [0.0, 6.0]},
                  chunks={"x": 1, "y": 2})
    report = run_sweep(sweep, client=client)  # stderr is not a terminal under capsys: plain lines
    err = capsys.readouterr().err
    assert (report.ok, report.not_converged, report.failed) == (2, 2, 2)
    assert "\r" not in err and "pairsweep: dashboard at http" in err
    assert "pairsweep: 6/6 points (100.0 %), blocks 3/3, ok 2, not converged 2, failed 2" in err
    logs = list((path / "_pairsweep" / "logs").glob("*.log"))
    assert len(logs) == 1
    text = logs[0].read_text()
    assert text.count(" done: ") == 3 and "ok 2, not converged 2, failed 2" in text and "complete" in text
    run_sweep(sweep, client=client, progress=False, verbosity=-1)  # already done: nothing to run
    assert capsys.readouterr().err == ""


def test_version_and_exclusive_verbosity(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.startswith("pairsweep 0.")
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "x.toml", "-q", "-v"])
    assert exit_info.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_run_into_a_pipe_prints_lines_and_quiet_prints_nothing(tmp_path, subprocess_env):
    spec = tmp_path / "s.toml"
    spec.write_text(textwrap.dedent(f"""
        kernel = "engine_kernels:SMOOTH"
        store = "{tmp_path / 's.zarr'}"
        [axes]
        x = {{ linspace = [0, 1, 6] }}
        [execution]
        chunks = {{ x = 2 }}
        """))
    cmd = [sys.executable, "-m", "pairsweep.sweeps.cli", "run", str(spec), "--workers", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr and "dashboard at http" in proc.stderr
    assert "pairsweep: 6/6 points (100.0 %), blocks 3/3, ok 6" in proc.stderr
    (tmp_path / "s.zarr").rename(tmp_path / "first.zarr")
    proc = subprocess.run(cmd + ["-q"], capture_output=True, text=True, env=subprocess_env, timeout=300, check=False)
    assert proc.returncode == 0 and "complete" in proc.stdout
    assert "pairsweep:" not in proc.stderr and "dashboard" not in proc.stderr
