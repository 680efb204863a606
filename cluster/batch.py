"""Asking the batch system about worker jobs: states, pending reasons, a jobs table.

Plain subprocess calls to ``squeue`` (SLURM) and ``qstat`` (PBS) on the submit host; every
function degrades to "unknown" rather than raising when the command is missing or slow, so
a flaky batch system never breaks a sweep, only its diagnostics.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["JobState", "hopeless_reason", "job_states", "jobs_table", "submit_error_summary"]

_TIMEOUT = 20.0

#: SLURM job states after which a job will never run (again).
SLURM_ENDED = frozenset({
    "BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL",
    "OUT_OF_MEMORY", "PREEMPTED", "REVOKED", "SPECIAL_EXIT", "TIMEOUT",
})

# Pending reasons (squeue %r) that no amount of waiting resolves: the request exceeds what
# the partition, QOS or association allows, or the job is held. Transient reasons
# (Priority, Resources, ReqNodeNotAvail during maintenance, BeginTime, ...) are not here.
_SLURM_HOPELESS = re.compile(
    r"^(BadConstraints|PartitionConfig|PartitionNodeLimit|PartitionTimeLimit|InvalidAccount|"
    r"InvalidQOS|AccountNotAllowed|QOSNotAllowed|JobHeldUser|JobHeldAdmin|"
    r"DependencyNeverSatisfied|MaxMemPerLimit|(QOS|Assoc)\w*PerJob\w*)\b"
)
# PBS Pro puts "Can Never Run: <why>" in the job's comment.
_PBS_HOPELESS = re.compile(r"never run", re.IGNORECASE)


@dataclass(frozen=True)
class JobState:
    """One batch job as the scheduler reports it: ``state`` in SLURM's words (PBS single
    letters are translated), ``reason`` the pending reason or PBS comment."""

    job_id: str
    state: str
    reason: str = ""

    @property
    def ended(self) -> bool:
        return self.state in SLURM_ENDED

    def __str__(self) -> str:
        return f"{self.job_id} {self.state}" + (f" ({self.reason})" if self.reason and self.reason != "None" else "")


def _run(cmd: Sequence[str]) -> subprocess.CompletedProcess[str] | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        return subprocess.run(list(cmd), capture_output=True, text=True, timeout=_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def parse_squeue(text: str) -> dict[str, JobState]:
    """Parse ``squeue -h -o '%i|%T|%r'`` output."""
    states = {}
    for line in text.splitlines():
        parts = line.strip().split("|", 2)
        if len(parts) == 3 and parts[0]:
            states[parts[0]] = JobState(parts[0], parts[1], parts[2])
    return states


_PBS_STATES = {"Q": "PENDING", "H": "PENDING", "W": "PENDING", "T": "PENDING", "R": "RUNNING",
               "B": "RUNNING", "E": "COMPLETING", "F": "COMPLETED", "X": "COMPLETED"}


def parse_qstat_full(text: str) -> dict[str, JobState]:
    """Parse ``qstat -f`` output (``Job Id:`` blocks with ``key = value`` lines)."""
    states: dict[str, JobState] = {}
    job_id, fields = None, {}

    def flush() -> None:
        if job_id:
            letter = fields.get("job_state", "?")
            reason = fields.get("comment", "")
            state = _PBS_STATES.get(letter, letter)
            if letter == "H" and not reason:
                reason = "held"
            states[job_id] = JobState(job_id, state, reason)

    for line in text.splitlines():
        if line.startswith("Job Id:"):
            flush()
            job_id, fields = line.split(":", 1)[1].strip(), {}
        elif " = " in line:
            key, _, value = line.strip().partition(" = ")
            fields[key] = value
    flush()
    return states


def job_states(kind: str, job_ids: Iterable[str]) -> dict[str, JobState] | None:
    """States of the given jobs; jobs the scheduler no longer knows are missing from the
    result. ``None`` when the batch system cannot be asked."""
    ids = [str(j) for j in job_ids if j]
    if not ids:
        return {}
    if kind == "slurm":
        # -t all: include jobs that already ended (kept by slurmctld for MinJobAge).
        proc = _run(["squeue", "-h", "-t", "all", "-j", ",".join(ids), "-o", "%i|%T|%r"])
        if proc is None:
            return None
        if proc.returncode != 0:
            # squeue fails outright when every id has been purged from slurmctld's memory.
            return {} if "Invalid job id" in proc.stderr else None
        return parse_squeue(proc.stdout)
    if kind == "pbs":
        # No -x: PBS Pro reads it as "include finished jobs", Torque as "XML output". A
        # finished job then simply leaves the listing, which the caller treats as ended.
        proc = _run(["qstat", "-f", *ids])
        if proc is None:
            return None
        return parse_qstat_full(proc.stdout)
    return None


def hopeless_reason(kind: str, state: JobState) -> bool:
    """True when a pending job can never start as submitted."""
    if state.state != "PENDING":
        return False
    pattern = _SLURM_HOPELESS if kind == "slurm" else _PBS_HOPELESS
    return bool(pattern.search(state.reason))


def submit_error_summary(error: BaseException | str) -> str:
    """The batch system's own words from a failed ``sbatch``/``qsub`` (dask-jobqueue wraps
    them in a RuntimeError with the whole command output)."""
    text = str(error)
    if "stderr:" in text:
        lines = [ln.strip() for ln in text.split("stderr:", 1)[1].splitlines() if ln.strip()]
        if lines:
            return "; ".join(lines)
    return " ".join(text.split())


def jobs_table(info: Mapping[str, Any] | None) -> str:
    """The batch system's view of a run's worker jobs, for ``pairsweep status``.

    ``info`` is what :func:`pairsweep.cluster.cluster_info` recorded for the run. Returns
    ``""`` for clusters without batch jobs (local, address) or when none is recorded; a
    one-line explanation when the batch system cannot be asked.
    """
    if not info or info.get("kind") not in ("slurm", "pbs"):
        return ""
    kind = info["kind"]
    name = info.get("job_name")
    if kind == "slurm":
        if not name:
            return ""
        cmd = ["squeue", "--name", str(name), "-o", "%.12i %.10P %.24j %.9T %.10M %.10l %.5C %.8m %R"]
    else:
        ids = [str(j) for j in info.get("job_ids", [])]
        if not ids:
            return ""
        cmd = ["qstat", *ids]
    proc = _run(cmd)
    if proc is None:
        return f"  worker jobs ({name}): {cmd[0]} is not available on this host"
    if proc.returncode != 0:
        return f"  worker jobs ({name}): {cmd[0]} failed: {' '.join(proc.stderr.split())}"
    lines = proc.stdout.rstrip("\n").splitlines()
    if len(lines) <= 1:
        return f"  worker jobs ({name}): none in the queue"
    return "\n".join([f"  worker jobs ({name}):"] + [f"    {line}" for line in lines])
