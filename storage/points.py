"""Zarr layout of an adaptive result: points along one ``point`` dimension.

Where a grid store has one dimension per axis, an adaptive store has one dimension,
``point``, and every parameter a learner chose (plus the learner-grid axes) is a coordinate
along it: ``eta(point)``, ``g(point)``. Outputs are ``Tc_K(point, ...)``; ``status(point)``
is as in grid stores.

The guarantees of :mod:`.layout` hold unchanged:

* **Capacity is preallocated.** The client creates every array at its full length, the
  point budget rounded up to whole blocks, once, before any task runs (atomically, through
  :func:`.layout.create_store`). Nothing grows afterwards, so no metadata is written while
  workers write chunks.
* **Block b is chunk b along point**, of every per-point array, the parameter coordinates
  included: a worker writes whole chunks only, and the parameter values it wrote are
  checksummed in its ledger entry with the outputs (``pairsweep verify`` checks them).
* **Done means ledger entry.** A block without an entry holds no result. Slots of unwritten
  blocks read as NaN with ``status = not computed``.
* **A slot's points are chosen once.** Before block b's task is submitted, the client
  records its points in ``_pairsweep/claims/<b>.json`` (:func:`write_claim`; atomic, under
  the store's lock). A later run resubmits a claimed block that has no ledger entry with
  the *same* points, and gives new points only to unclaimed blocks. This matters because a
  task of a killed or interrupted run can still be running (a batch job, a notebook's
  client) and land after the next run started: it then writes the very points the next
  run computes, byte for byte, as a grid block does, and never overwrites another run's
  points.

Opens with ``xarray.open_zarr``: the parameter arrays carry ``_ARRAY_DIMENSIONS``-style
dimension names and every output lists them in its CF ``coordinates`` attribute, so they
come back as coordinates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from . import ledger
from .errors import StoreError
from .layout import STATE_DIR, Variable
from .ledger import _atomic_write_text

__all__ = ["POINT", "is_points_store", "point_variables", "read_claims", "read_done_points", "write_claim"]

#: The one dimension of an adaptive store.
POINT = "point"


def is_points_store(attrs: Mapping[str, Any]) -> bool:
    """Whether a store's ``pairsweep`` root attributes describe an adaptive store."""
    return "adaptive" in attrs.get("spec", {})


def point_variables(
    capacity: int,
    block: int,
    parameters: Mapping[str, Mapping[str, Any]],
    outputs: Sequence[Variable],
) -> list[Variable]:
    """The per-point arrays: one float64 coordinate per parameter (``parameters`` maps its
    name to its attributes), then ``outputs`` (whose ``dims``/``shape``/``chunks`` give only
    their extra dimensions; ``point`` is put in front), each listing the parameters as CF
    coordinates."""
    coords_attr = " ".join(parameters)
    variables = [
        Variable(name=name, dims=(POINT,), shape=(capacity,), chunks=(block,), dtype="float64",
                 fill_value=float("nan"), attrs=dict(attrs))
        for name, attrs in parameters.items()
    ]
    for v in outputs:
        variables.append(Variable(
            name=v.name, dims=(POINT, *v.dims), shape=(capacity, *v.shape), chunks=(block, *v.chunks),
            dtype=v.dtype, fill_value=v.fill_value, attrs={**v.attrs, "coordinates": coords_attr},
        ))
    return variables


def read_done_points(
    store: str | Path, names: Sequence[str], n_blocks: int, block: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The done-mask over blocks and, for every point of a done block, the arrays ``names``
    (flat along ``point``; extra dimensions kept). One read per array: adaptive stores are
    small (at most :data:`pairsweep.sweeps.adaptive_spec.MAX_POINTS` points)."""
    done = ledger.done_blocks(store, n_blocks)
    root = zarr.open_group(str(store), mode="r", use_consolidated=False)
    mask = np.repeat(done, block)
    out = {}
    for name in names:
        values = np.asarray(root[name][...])
        out[name] = values[mask[: len(values)]]
    return done, out


_CLAIMS = f"{STATE_DIR}/claims"


def write_claim(store: str | Path, block_id: int, points: Mapping[str, Sequence[float]]) -> None:
    """Record the points of block ``block_id`` before its task is submitted (client only,
    lock held). A block's points are chosen once: claiming a claimed block is an error."""
    path = Path(store) / _CLAIMS / f"{block_id}.json"
    if path.exists():
        raise StoreError(f"store: block {block_id} of {store} already has its points ({path}); not overwritten")
    # floats as JSON numbers round-trip exactly (repr), so a resubmission is bit-identical
    _atomic_write_text(path, json.dumps({k: [float(v) for v in vs] for k, vs in points.items()}))


def read_claims(store: str | Path) -> dict[int, dict[str, list[float]]]:
    """Every claimed block's points, by block id (see :func:`write_claim`)."""
    directory = Path(store) / _CLAIMS
    if not directory.is_dir():
        return {}
    claims = {}
    for path in directory.glob("*.json"):
        if path.stem.isdigit():
            try:
                claims[int(path.stem)] = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise StoreError(f"store: the points recorded for block {path.stem} are damaged ({path}: {exc})") from None
    return claims
