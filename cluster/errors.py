"""Errors of the cluster layer, importable without distributed (the CLI catches them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .batch import JobState

__all__ = ["ClusterError", "WorkerStartError"]


class ClusterError(ValueError):
    """A cluster option that cannot work; the message names ``cluster.<field>``."""


class WorkerStartError(ClusterError):
    """No worker job of a batch cluster could start; the message gives the batch
    system's reason. ``states`` holds the last known state of each job."""

    def __init__(self, message: str, states: Mapping[str, JobState] | None = None):
        super().__init__(message)
        self.states = dict(states or {})
