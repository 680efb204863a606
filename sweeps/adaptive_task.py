"""What one Dask task of an adaptive sweep does: evaluate the points the client chose for
block ``b``, write chunk ``b`` of every per-point array (parameters included), fsync, and
enter the block in the ledger, as :func:`pairsweep.sweeps.execute.compute_block` does for a
grid block. Kept apart from the learners: a worker never imports python-adaptive (nor the
scipy.stats it pulls in, 1.4 s per worker process).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from pairsweep.kernels import Kernel, Status
from pairsweep.storage import ledger
from pairsweep.storage.checksum import sealed
from pairsweep.storage.layout import open_arrays, sync_block, write_block
from pairsweep.storage.points import POINT

from .execute import evaluate_block, store_kernel

__all__ = ["compute_points_block"]


@dataclass(frozen=True)
class _Context:
    kernel: Kernel
    fixed: dict[str, Any]
    extra_sizes: dict[str, int]
    parameters: tuple[str, ...]
    block: int
    names: tuple[str, ...]
    output: str


@lru_cache(maxsize=8)
def _context(store: str, spec_hash: str) -> _Context:
    attrs, kernel = store_kernel(store, spec_hash)
    spec = attrs["spec"]
    a = spec["adaptive"]
    parameters = (*a["learner_axes"], *a["bounds"])
    return _Context(kernel=kernel, fixed=dict(spec["fixed"]),
                    extra_sizes={k: int(v) for k, v in attrs["extra_sizes"].items()},
                    parameters=parameters, block=int(spec["chunks"][POINT]),
                    names=(*parameters, *(o.name for o in kernel.outputs), "status"), output=a["output"])


def compute_points_block(store: str, block_id: int, spec_hash: str, run_id: str,
                         points: dict[str, list[float]], durable: bool = True) -> dict[str, Any]:
    """Evaluate the points of block ``block_id`` (``points``: parameter -> ``block_points``
    values), write chunk ``block_id`` of every per-point array, fsync, enter it in the
    ledger. Returns a small summary plus the driving output's values for the learners."""
    started = time.perf_counter()
    ctx = _context(store, spec_hash)
    params = {name: np.asarray(points[name], dtype=float) for name in ctx.parameters}
    n = ctx.block
    for name, value in ctx.fixed.items():
        params[name] = np.full(n, value)
    result = evaluate_block(ctx.kernel, params, ctx.extra_sizes)
    kernel_seconds = time.perf_counter() - started
    data: dict[str, np.ndarray] = {name: params[name] for name in ctx.parameters}
    data.update(result.outputs)
    data["status"] = result.status
    arrays = open_arrays(store, ctx.names, spec_hash)
    write_block(arrays, (slice(block_id * n, (block_id + 1) * n),), data)
    chunks = sync_block(store, arrays, (block_id,), fsync=durable)
    counts = np.bincount(result.status, minlength=3)
    summary = {
        "block": block_id, "points": n, "ok": int(counts[Status.OK]),
        "not_converged": int(counts[Status.NOT_CONVERGED]), "failed": int(counts[Status.FAILED]),
        "kernel_seconds": round(kernel_seconds, 6), "seconds": round(time.perf_counter() - started, 6),
        "run": run_id, "worker": f"{socket.gethostname()}:{os.getpid()}",
    }
    entry = {**summary, "messages": {str(block_id * n + i): m for i, m in result.messages.items()}}
    ledger.write_entry(store, block_id, sealed({**entry, "chunks": chunks}))
    # only the output that drives the learners goes back: the rest is in the store
    return {**summary, "values": result.outputs[ctx.output].tolist(), "status": result.status.tolist()}
