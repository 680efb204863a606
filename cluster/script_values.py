"""Values that end up in a SLURM/PBS worker job script, checked before one is rendered.

dask-jobqueue writes option values into the script verbatim: into ``#SBATCH``/``#PBS``
directive lines (partition, account, job name, walltime, memory, log directory, extra
directives, ...) and into the worker's command line (python, interface, local directory,
extra worker arguments). A newline in any of them starts a new line of shell or a new
directive, so no value may hold a control character. Values on the command line are
also kept free of shell metacharacters, which would run as shell there.

``job_script_prologue`` is the one field that is shell by design: its lines run before the
worker starts, as written (module loads, environment variables).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import ClusterError

__all__ = ["SHELL_BY_DESIGN", "check_script_values", "check_dashboard_address"]

#: Options whose lines are shell by design; not checked.
SHELL_BY_DESIGN = frozenset({"job_script_prologue"})
#: Options rendered into the worker's command line.
_COMMAND_LINE = frozenset({"python", "interface", "local_directory", "worker_extra_args"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHELL_META = re.compile(r"[;&|$`<>(){}\\'\"!*?\[\]#]")


def _check_text(field: str, text: str, command_line: bool) -> None:
    bad = _CONTROL.search(text)
    if bad:
        raise ClusterError(
            f"{field}: {text!r} holds a control character ({bad.group()!r} at position {bad.start()}); "
            "values written into the job script must be one line of printable text"
        )
    if command_line:
        bad = _SHELL_META.search(text)
        if bad:
            raise ClusterError(
                f"{field}: {text!r} holds the shell character {bad.group()!r}; this value is part of the worker's "
                "command line; put shell in job_script_prologue"
            )


def check_script_values(options: Mapping[str, Any]) -> None:
    """Raise :class:`ClusterError` naming ``cluster.<field>`` for a value unsafe in a job script."""
    for key, value in options.items():
        if key in SHELL_BY_DESIGN:
            continue
        field = f"cluster.{key}"
        command_line = key in _COMMAND_LINE
        if isinstance(value, str):
            _check_text(field, value, command_line)
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                if isinstance(item, str):
                    _check_text(f"{field}[{i}]", item, command_line)
        elif isinstance(value, Mapping):
            for sub, item in value.items():
                if isinstance(item, str):
                    _check_text(f"{field}.{sub}", item, False)


_ADDRESS = re.compile(r"(?P<host>[A-Za-z0-9.\-]*|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})")


def check_dashboard_address(field: str, value: Any) -> None:
    """``host:port`` (``127.0.0.1:8787``; port 0 picks a free one; ``:8787`` listens on every
    interface, which anyone who can reach the machine can then open)."""
    if not isinstance(value, str):
        raise ClusterError(f"{field}: expected \"host:port\" such as \"127.0.0.1:8787\", got {value!r}")
    match = _ADDRESS.fullmatch(value)
    if not match or int(match["port"]) > 65535:
        raise ClusterError(
            f"{field}: {value!r} is not host:port (e.g. \"127.0.0.1:8787\", \"127.0.0.1:0\" for any free port)"
        )
