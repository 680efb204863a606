"""What one Dask task does: evaluate a kernel on a block of points and store the block.

:func:`evaluate_block` is the engine's side of the kernel contract (see
``pairsweep.kernels._api``): it calls ``solve_block`` or loops ``solve_point``, checks the
shapes, turns exceptions and unexpected NaNs into per-point ``FAILED`` statuses with a
message, and never lets one bad point take down its block or the sweep.

:func:`compute_block` runs on a worker. It receives only small arguments (store path, block
id, spec hash); everything else comes from the store's attributes, read once per process.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from pairsweep.kernels import Kernel, Status, get_kernel, loop_points
from pairsweep.kernels._loop import MESSAGE_LIMIT
from pairsweep.storage import ledger
from pairsweep.storage.axes import axis_values
from pairsweep.storage.checksum import sealed
from pairsweep.storage.layout import open_arrays, read_root_attrs, sync_block, write_block

from .grid import BlockGrid, block_parameters

__all__ = ["BlockResult", "compute_block", "evaluate_block"]


@dataclass
class BlockResult:
    """Kernel outputs for the points of one block, flat in C order."""

    outputs: dict[str, np.ndarray]
    status: np.ndarray
    messages: dict[int, str]


def _from_block_call(
    kernel: Kernel, raw: Mapping[str, Any], n: int, extra_sizes: Mapping[str, int]
) -> BlockResult:
    outputs = {}
    for o in kernel.outputs:
        if o.name not in raw:
            raise ValueError(f"solve_block returned no output {o.name!r}")
        value = np.asarray(raw[o.name], dtype=o.dtype)
        expected = (n, *(extra_sizes[d] for d in o.dims))
        if value.shape != expected:
            raise ValueError(f"output {o.name!r} has shape {value.shape}, declared {expected}")
        outputs[o.name] = value
    status = np.asarray(raw["status"]).astype(np.uint8)
    if status.shape != (n,):
        raise ValueError(f"status has shape {status.shape}, expected ({n},)")
    messages = {int(k): str(v)[:MESSAGE_LIMIT] for k, v in dict(raw.get("messages") or {}).items()}
    return BlockResult(outputs, status, messages)


def evaluate_block(
    kernel: Kernel, params: Mapping[str, np.ndarray], extra_sizes: Mapping[str, int]
) -> BlockResult:
    """Evaluate ``kernel`` at the ``n`` points given as flat arrays in ``params``.

    A vectorized ``solve_block`` that raises is retried point by point, so only the points
    that really fail are marked ``FAILED``. A point reported ``OK`` with a NaN in an output
    not declared ``allow_nan`` becomes ``FAILED``: a silent NaN is not a result.
    """
    n = len(next(iter(params.values())))
    if kernel.solve_block is not None:
        try:
            result = _from_block_call(kernel, kernel.solve_block(params), n, extra_sizes)
        except Exception:  # noqa: BLE001 - isolate the failing points below
            result = _from_block_call(kernel, loop_points(kernel, params, extra_sizes), n, extra_sizes)
    else:
        result = _from_block_call(kernel, loop_points(kernel, params, extra_sizes), n, extra_sizes)

    unknown = ~np.isin(result.status, [Status.OK, Status.NOT_CONVERGED, Status.FAILED])
    for i in np.flatnonzero(unknown):
        result.messages[int(i)] = f"kernel returned unknown status code {int(result.status[i])}"
    result.status[unknown] = Status.FAILED

    ok = result.status == Status.OK
    for o in kernel.outputs:
        if o.allow_nan or np.dtype(o.dtype).kind not in "fc":
            continue
        values = result.outputs[o.name].reshape(n, -1)
        nan_at = ok & np.isnan(values).any(axis=1)
        for i in np.flatnonzero(nan_at):
            result.messages.setdefault(int(i), f"kernel returned NaN for {o.name!r} at an 'ok' point")
        result.status[nan_at] = Status.FAILED
        ok &= ~nan_at
    return result


# ---------------------------------------------------------------------------------------
# The task
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _StoreContext:
    kernel: Kernel
    grid: BlockGrid
    names: tuple[str, ...]
    coords: tuple[np.ndarray, ...]
    fixed: dict[str, Any]
    extra_sizes: dict[str, int]


def store_kernel(store: str, spec_hash: str) -> tuple[dict[str, Any], Kernel]:
    """The store's ``pairsweep`` attributes and its kernel, checked against the task: a task
    for another spec, or a worker with another version of the kernel, must not write."""
    attrs = read_root_attrs(store)["pairsweep"]
    if attrs["spec_hash"] != spec_hash:
        raise RuntimeError(f"store {store} holds spec {attrs['spec_hash']}, task expects {spec_hash}")
    spec = attrs["spec"]
    kernel = get_kernel(spec["kernel"])
    if kernel.version != spec["kernel_version"]:
        raise RuntimeError(
            f"worker has kernel {kernel.name} version {kernel.version}, store needs {spec['kernel_version']}"
        )
    return attrs, kernel


@lru_cache(maxsize=8)
def _context(store: str, spec_hash: str) -> _StoreContext:
    """Everything a worker needs about a store, read from its attributes once per process."""
    attrs, kernel = store_kernel(store, spec_hash)
    spec = attrs["spec"]
    names = tuple(spec["axes"])
    coords = tuple(axis_values(store, spec, name) for name in names)
    shape = tuple(len(c) for c in coords)
    chunks = tuple(spec["chunks"][n] for n in names)
    return _StoreContext(
        kernel=kernel,
        grid=BlockGrid(shape, chunks),
        names=names,
        coords=coords,
        fixed=dict(spec["fixed"]),
        extra_sizes={k: int(v) for k, v in attrs["extra_sizes"].items()},
    )


def compute_block(store: str, block_id: int, spec_hash: str, run_id: str, durable: bool = True) -> dict[str, Any]:
    """Compute block ``block_id`` of ``store``, write it, record it in the ledger.

    Returns a small summary for the client (never the data).
    """
    started = time.perf_counter()
    ctx = _context(store, spec_hash)
    slices = ctx.grid.block_slices(block_id)
    block_shape = tuple(s.stop - s.start for s in slices)
    params = block_parameters(ctx.names, ctx.coords, slices)
    n = len(next(iter(params.values())))
    for name, value in ctx.fixed.items():
        params[name] = np.full(n, value)
    result = evaluate_block(ctx.kernel, params, ctx.extra_sizes)
    kernel_seconds = time.perf_counter() - started

    data = {name: values.reshape(block_shape + values.shape[1:]) for name, values in result.outputs.items()}
    data["status"] = result.status.reshape(block_shape)
    arrays = open_arrays(store, tuple(data), spec_hash)
    write_block(arrays, slices, data)
    chunks = sync_block(store, arrays, ctx.grid.block_index(block_id), fsync=durable)

    counts = np.bincount(result.status, minlength=3)
    # Failure messages are keyed by the point's flat index in the whole grid, so the
    # failures table can name the parameters without reading the data.
    local = np.unravel_index(np.fromiter(result.messages, dtype=np.int64), block_shape)
    flat = np.ravel_multi_index(
        tuple(idx + s.start for idx, s in zip(local, slices, strict=True)), ctx.grid.shape
    )
    summary = {
        "block": block_id,
        "points": n,
        "ok": int(counts[Status.OK]),
        "not_converged": int(counts[Status.NOT_CONVERGED]),
        "failed": int(counts[Status.FAILED]),
        "kernel_seconds": round(kernel_seconds, 6),
        "seconds": round(time.perf_counter() - started, 6),
        "run": run_id,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }
    entry = {**summary, "messages": {str(int(f)): m for f, m in zip(flat, result.messages.values(), strict=True)}}
    # checksums of the chunk files, and a seal over the entry itself: `pairsweep verify`
    entry = sealed({**entry, "chunks": chunks})
    ledger.write_entry(store, block_id, entry)
    return summary
