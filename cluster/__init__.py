"""Cluster creation: local, an existing scheduler, or SLURM/PBS through dask-jobqueue."""

from .factory import KINDS, ClusterError, connect, job_script, validate

__all__ = ["KINDS", "ClusterError", "connect", "job_script", "validate"]
