"""The ``[cluster]`` section of a spec: every option, the kinds of cluster it applies to,
and its type and range, declared once (see :mod:`.fields`).

This is the type check, made before anything starts, from TOML and Python alike. What
needs more than one option or the machine (dask-jobqueue's configuration, a walltime's
parse, values that would break a job script, ``processes`` dividing ``cores``) is
checked afterwards by :func:`pairsweep.cluster.validate`, the cluster package's own
check; ``tests/test_fields.py`` fails when the two disagree on which options a kind takes.
Imports nothing of Dask, so reading a spec stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import SpecError
from .fields import AnyOf, Choice, Field, Integer, Memory, Number, Section, Table, Text, TextList, join

__all__ = ["CLUSTER_KINDS", "KIND", "check_cluster", "cluster_section"]

#: Kinds of cluster (``pairsweep.cluster.KINDS``, written out so that reading a spec does
#: not import Dask).
CLUSTER_KINDS = ("local", "address", "slurm", "pbs")
KIND = Field("kind", Choice(CLUSTER_KINDS), doc="where the sweep runs")

_LOCAL = ("local",)
_BATCH = ("slurm", "pbs")

_DIRECTORY = Text("a non-empty string (a directory)")

# (field, kinds it applies to). Option names and meanings are dask's and dask-jobqueue's,
# except where the comment says pairsweep's.
_OPTIONS: list[tuple[Field, tuple[str, ...]]] = [
    (Field("n_workers", Integer(min=1), doc="worker processes"), _LOCAL),
    (Field("threads_per_worker", Integer(min=1)), _LOCAL),
    (Field("memory_limit", Memory(auto=True), doc="per worker"), _LOCAL),
    (Field("dashboard_address", Text('a non-empty string such as "127.0.0.1:8787"')), _LOCAL + _BATCH),
    (Field("address", Text("a scheduler address such as 'tcp://host:8786'")), ("address",)),
    # worker jobs
    (Field("queue", Text()), _BATCH),
    (Field("account", Text()), _BATCH),
    (Field("walltime", AnyOf((Text(), Integer(min=1)), 'a walltime such as "01:00:00", or minutes')), _BATCH),
    (Field("cores", Integer(min=1), doc="per job"), _BATCH),
    (Field("memory", Memory(), doc="per job"), _BATCH),
    (Field("processes", Integer(min=1), doc="worker processes per job"), _BATCH),
    (Field("interface", Text()), _BATCH),
    (Field("job_script_prologue", TextList()), _BATCH),
    (Field("job_extra_directives", TextList()), _BATCH),
    (Field("job_directives_skip", TextList()), _BATCH),
    (Field("local_directory", _DIRECTORY), _BATCH),
    (Field("log_directory", _DIRECTORY), _BATCH),
    (Field("python", Text()), _BATCH),
    (Field("shebang", Text()), _BATCH),
    (Field("worker_extra_args", TextList()), _BATCH),
    (Field("death_timeout", Integer(min=0), doc="seconds"), _BATCH),
    (Field("scheduler_options", Table()), _BATCH),
    # pairsweep's: scaling, walltime safety, start-up checks, the job name
    (Field("jobs", Integer(min=1), doc="a fixed number of jobs"), _BATCH),
    (Field("minimum_jobs", Integer(min=0)), _BATCH),
    (Field("maximum_jobs", Integer(min=1)), _BATCH),
    (Field("lifetime_margin", Integer(min=0), doc="seconds"), _BATCH),
    (Field("start_timeout", Number(min=0, what="seconds", note="0: wait forever")), _BATCH),
    (Field("job_name", Text()), _BATCH),
    (Field("name", Text()), _BATCH),
    (Field("partition", Text()), ("slurm",)),
    (Field("job_cpu", Integer(min=1)), ("slurm",)),
    (Field("job_mem", Memory()), ("slurm",)),
    (Field("resource_spec", Text()), ("pbs",)),
]

_KINDS_OF = {f.name: kinds for f, kinds in _OPTIONS}


def cluster_section(kind: str) -> Section:
    """The options a cluster of ``kind`` takes (``kind`` itself not included)."""
    return Section("cluster", [f for f, kinds in _OPTIONS if kind in kinds])


def _hint(key: str, kind: str) -> str:
    if key == "partition" and kind == "pbs":
        return " (PBS calls it queue)"
    kinds = _KINDS_OF.get(key)
    if kinds is None:
        return ""
    return f" (it is an option of {'batch' if kinds == _BATCH else ' and '.join(kinds)} clusters)"


def check_cluster(kind: Any, options: Any) -> dict[str, Any]:
    """The options of a cluster of ``kind``, type-checked; :class:`SpecError` naming
    ``cluster.<option>`` otherwise (an option of another kind of cluster says which)."""
    kind = KIND.type.check(kind, "cluster.kind")
    if not isinstance(options, Mapping):
        raise SpecError(f"cluster: options must be a mapping, got {options!r}")
    section = cluster_section(kind)
    for key in options:
        if not isinstance(key, str):
            raise SpecError(f"cluster: option names must be strings, got {key!r}")
        if key not in section.fields:
            raise SpecError(f"{join('cluster', key)}: not an option of a {kind} cluster{_hint(key, kind)}; "
                            f"allowed: {', '.join(sorted(section.fields))}")
    return section.check(options)
