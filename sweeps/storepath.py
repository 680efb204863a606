"""Can the store be created (or written) where the spec says? Decided before any task.

Without this check a store whose parent is a file, or a directory without write permission,
surfaced as a ``FileExistsError``/``PermissionError`` traceback from deep inside zarr.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import SpecError

__all__ = ["check_store_path"]


def _probe(directory: Path) -> str | None:
    """Why nothing can be created in ``directory``, or None when something can.

    A real create-and-remove, not ``os.access``: root passes every ``access`` check, and
    read-only mounts, ACLs and quotas only show up when one tries.
    """
    try:
        made = tempfile.mkdtemp(prefix=".pairsweep-probe-", dir=directory)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    os.rmdir(made)
    return None


def check_store_path(store: str | Path) -> None:
    """Raise :class:`SpecError` naming ``store`` when the store cannot be created or written.

    An existing path must be a directory we can write in; otherwise the nearest existing
    ancestor must be a directory we can write in (the missing ones are created later).
    Nothing is left behind.
    """
    store = Path(store)
    if store.exists() or store.is_symlink():
        if not store.is_dir():
            raise SpecError(f"store: {store} exists and is not a directory; choose another path")
        # Probe inside pairsweep's own state directory when there is one, so that the
        # data part of the store never sees even a transient foreign entry.
        state = store / "_pairsweep"
        why = _probe(state if state.is_dir() else store)
        if why:
            raise SpecError(f"store: cannot write in {store} ({why})")
        return
    ancestor = store.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise SpecError(f"store: cannot create {store}: {ancestor} is a file, not a directory")
    why = _probe(ancestor)
    if why:
        raise SpecError(f"store: cannot create {store}: cannot write in {ancestor} ({why})")
