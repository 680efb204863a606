"""What a run tells its user while it works: a progress bar or plain lines, and a log file.

* On a terminal: a tqdm bar (points, rate, ETA; blocks, ok, not converged, failed).
* Anywhere else (``nohup``, a SLURM job's output file, a pipe): plain lines every
  ``interval`` seconds and at the end, never tqdm's ``\\r`` frames.
* Always: ``STORE/_pairsweep/logs/<run id>.log``, one timestamped line per event (start,
  dashboard, each block, block errors, warnings of dask and distributed, the final report),
  appended and flushed line by line, so a killed run keeps everything up to its last line.

Warnings that distributed logs in this process go through the bar (``tqdm.write``), not
across it, and into the log file. Its "Sizeof calculation ... failed" warning (distributed
estimating the size of a result it cannot measure, harmless: it assumes 1 MB) goes to the log
file only; on workers it is silenced by :class:`QuietSizeof`, since worker processes of a local
cluster share the terminal.
"""

from __future__ import annotations

import io
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Self

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["QuietSizeof", "RunProgress", "choose_mode", "run_log_path"]

#: Loggers whose records are shown through the bar and kept in the run's log file.
_LOGGERS = ("distributed", "dask", "pairsweep")
_SIZEOF = "distributed.sizeof"
LOG_DIR = "logs"


def run_log_path(store: str | Path, run_id: str) -> Path:
    """``STORE/_pairsweep/logs/<run_id>.log``."""
    from pairsweep.storage.layout import STATE_DIR

    return Path(store) / STATE_DIR / LOG_DIR / f"{run_id}.log"


def choose_mode(progress: bool | str, stream: IO[str]) -> str:
    """``"bar"`` on a terminal, ``"lines"`` elsewhere, ``"off"`` when progress is False."""
    if progress is False or progress == "off":
        return "off"
    if progress in ("bar", "lines"):
        return str(progress)
    isatty = getattr(stream, "isatty", None)
    return "bar" if isatty is not None and isatty() else "lines"


class QuietSizeof(WorkerPlugin):
    """Worker plugin: raise ``distributed.sizeof`` to ERROR on every worker, present and future."""

    name = "pairsweep-quiet-sizeof"

    def setup(self, worker: Any) -> None:
        logging.getLogger(_SIZEOF).setLevel(logging.ERROR)


class _NotSizeof(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(_SIZEOF)


class _Console(logging.Handler):
    """Writes log records above the bar (tqdm.write) or as plain lines."""

    def __init__(self, progress: RunProgress) -> None:
        super().__init__(logging.WARNING)
        self.progress = progress
        self.addFilter(_NotSizeof())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            # -q keeps errors: it promises "nothing but errors", not silence
            level = -1 if record.levelno >= logging.ERROR else 0
            self.progress.say(self.format(record), level=level)
        except Exception:  # noqa: BLE001 - logging must never break the run
            self.handleError(record)


class _File(logging.Handler):
    def __init__(self, progress: RunProgress) -> None:
        super().__init__(logging.INFO)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.progress.log(f"{record.levelname} {record.name}: {record.getMessage()}")
        except Exception:  # noqa: BLE001
            self.handleError(record)


def _columns(stream: IO[str]) -> int | None:
    """The terminal's width, or 120 where it reports 0 (``script``, some CI terminals): tqdm
    would otherwise draw an empty bar."""
    import os

    try:
        return os.get_terminal_size(stream.fileno()).columns or 120
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def _fmt_seconds(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class RunProgress:
    """Counts of one run and their display. Use as a context manager around the run.

    Parameters
    ----------
    total_points, points_done
        Grid size and points already done before this run (a resume).
    n_blocks, blocks_done
        The same in blocks.
    mode
        ``"bar"``, ``"lines"`` or ``"off"`` (see :func:`choose_mode`).
    verbosity
        -1: nothing but errors on the terminal; 0: normal; 1: also a line per block and
        distributed's INFO messages.
    log_path
        The run's log file (created with its directory); None keeps no file.
    interval
        Seconds between plain progress lines.
    """

    def __init__(
        self,
        *,
        total_points: int,
        points_done: int,
        n_blocks: int,
        blocks_done: int,
        mode: str = "off",
        verbosity: int = 0,
        log_path: Path | None = None,
        stream: IO[str] | None = None,
        interval: float = 30.0,
    ) -> None:
        self.total_points, self.points_done = total_points, points_done
        self.n_blocks, self.blocks_done = n_blocks, blocks_done
        self.ok = self.not_converged = self.failed = self.block_errors = 0
        self.points_this_run = 0
        self.mode = mode if verbosity >= 0 else "off"
        self.verbosity = verbosity
        self.stream = stream or sys.stderr
        self.interval = interval
        self.started = time.monotonic()
        self._last_line = self.started
        self._bar: Any = None
        self._log: IO[str] | None = None
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            # line-buffered: each line reaches the file; closed in close(), not a with block
            self._log = open(log_path, "a", buffering=1)  # noqa: SIM115
        self._handlers: list[logging.Handler] = []
        self._saved: list[tuple[logging.Logger, list[logging.Handler], bool, int]] = []

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> Self:
        if self.mode == "bar":
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total_points, initial=self.points_done, unit="pt", file=self.stream,
                             smoothing=0.05, ncols=_columns(self.stream))
            self._bar.set_postfix_str(self._counts(), refresh=True)
        console, to_file = _Console(self), _File(self)
        if self.verbosity > 0:
            console.setLevel(logging.INFO)
        for name in _LOGGERS:
            logger = logging.getLogger(name)
            # Replace the terminal handlers (distributed installs its own StreamHandler) for
            # the run, so nothing writes across the bar; put them back afterwards.
            self._saved.append((logger, list(logger.handlers), logger.propagate, logger.level))
            logger.handlers = [h for h in logger.handlers if not isinstance(h, logging.StreamHandler)
                               or isinstance(h, logging.FileHandler)]
            logger.addHandler(console)
            logger.addHandler(to_file)
            logger.propagate = False
            if logger.level == logging.NOTSET or logger.level > logging.INFO:
                logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, final: str | None = None) -> None:
        """Restore logging, close the bar (or print the last line), and write ``final`` to the log."""
        for logger, handlers, propagate, level in self._saved:
            logger.handlers, logger.propagate = handlers, propagate
            logger.setLevel(level)
        self._saved = []
        if self._bar is not None:
            self._bar.set_postfix_str(self._counts(), refresh=False)
            self._bar.close()
            self._bar = None
        elif self.mode == "lines" and self.points_this_run:
            self._line()
            self.mode = "closed"
        if final and self._log is not None:
            for line in final.splitlines():
                self.log(line)
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- output ---------------------------------------------------------------------------
    def log(self, message: str) -> None:
        """One line in the run's log file."""
        if self._log is not None and not self._log.closed:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            self._log.write(f"{stamp} {message}\n")

    def say(self, message: str, *, level: int = 0) -> None:
        """A line on the terminal (above the bar), unless quieter than ``level``."""
        if self.verbosity < level:
            return
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
        else:
            print(message, file=self.stream, flush=True)

    def info(self, message: str) -> None:
        """Terminal (unless quiet) and log file."""
        self.log(message)
        self.say(message)

    def _counts(self) -> str:
        parts = [f"blocks {self.blocks_done}/{self.n_blocks}", f"ok {self.ok}",
                 f"not converged {self.not_converged}", f"failed {self.failed}"]
        if self.block_errors:
            parts.append(f"block errors {self.block_errors}")
        return ", ".join(parts)

    def _line(self) -> None:
        elapsed = time.monotonic() - self.started
        rate = self.points_this_run / elapsed if elapsed > 0 else 0.0
        left = self.total_points - self.points_done
        eta = _fmt_seconds(left / rate) if rate > 0 else "?"
        pct = 100.0 * self.points_done / self.total_points if self.total_points else 100.0
        line = (f"pairsweep: {self.points_done}/{self.total_points} points ({pct:.1f} %), {self._counts()}, "
                f"{rate:.3g} pt/s, elapsed {_fmt_seconds(elapsed)}, ETA {eta}")
        print(line, file=self.stream, flush=True)

    # -- events ---------------------------------------------------------------------------
    def block_done(self, summary: dict[str, Any]) -> None:
        """A block's summary (points, ok, not_converged, failed) arrived."""
        self.blocks_done += 1
        self.points_done += summary["points"]
        self.points_this_run += summary["points"]
        self.ok += summary["ok"]
        self.not_converged += summary["not_converged"]
        self.failed += summary["failed"]
        self.log(f"block {summary.get('block')} done: {summary['points']} points, ok {summary['ok']}, "
                 f"not converged {summary['not_converged']}, failed {summary['failed']}, "
                 f"{summary.get('seconds', 0):.3g} s on {summary.get('worker', '?')}")
        self.say(f"pairsweep: block {summary.get('block')} done ({summary['points']} points)", level=1)
        self._refresh(summary["points"])

    def block_error(self, block_id: int, message: str) -> None:
        """A block's task could not run (it stays not-done; the next run retries it)."""
        self.block_errors += 1
        self.log(f"block {block_id} could not run: {message}")
        self._refresh(0)

    def _refresh(self, points: int) -> None:
        if self._bar is not None:
            # counts first, then update: update() redraws, so the bar never shows stale counts
            self._bar.set_postfix_str(self._counts(), refresh=False)
            self._bar.update(points) if points else self._bar.refresh()
        elif self.mode == "lines" and time.monotonic() - self._last_line >= self.interval:
            self._last_line = time.monotonic()
            self._line()
