"""One writer per store: a lock file next to the store, with a heartbeat.

``<parent>/.<store name>.pairsweep-lock`` is held by the one process (``pairsweep run``,
:func:`run_sweep`, ``pairsweep verify``) allowed to create, write or repair the store. It
lives *beside* the store, not inside it, so it can be taken before the store exists: two
runs started together race for the lock, not for creating the store, and the loser is
refused with who holds it (host, pid, start time).

Why this works on shared HPC filesystems (NFS, Lustre, GPFS), where ``flock`` may be a
no-op, node-local, or depend on a lock daemon:

* **Taking the lock is one ``link(2)``.** The holder writes its record (host, pid, process
  start time, token, start time) to a uniquely named file and hard-links it to the lock
  path. ``link`` either creates the name or fails with ``EEXIST``, atomically on the server;
  this is the procedure open(2) recommends for NFS lock files (``O_EXCL`` alone was broken
  before NFSv3). The record is complete before the name appears, so a reader never sees a
  half-written lock. If the reply to a successful ``link`` is lost and the retransmission
  fails with ``EEXIST``, the unique file's link count (2) still says we won; we check it.
* **Liveness is a heartbeat, judged by the server's clock.** The holder's thread touches the
  lock file every :data:`HEARTBEAT_S` seconds (``utime(NULL)``; an NFS client sends that as
  "set to server time"). A lock on another host is stale when its mtime is more than
  :data:`EXPIRY_S` older than the mtime of a probe file we create next to it *now*: both
  times come from the same server clock, so skew between the nodes' clocks does not matter.
  Both mtimes are read through an open descriptor, which makes an NFS client revalidate
  them (close-to-open consistency) instead of answering from its attribute cache. Lustre
  and GPFS take timestamps from the clients' clocks, which those sites keep synchronised
  (both require it); the 60 s expiry tolerates tens of seconds of skew.
  On the same host we need no clock at all: the lock is stale when its pid is gone, or
  belongs to a different process (start time differs: pid reuse).
* **Taking over a stale lock is serialised** by a second ``link``-created file
  (``…-lock.takeover``): the taker re-reads the lock, checks it is still the record it
  judged stale, renames it into ``<store>/_pairsweep/locks-broken/`` (kept as a record) and
  links its own. A taker killed inside this step leaves a takeover file that expires after
  :data:`EXPIRY_S` like a lock.
* **A holder that loses its lock notices**: each heartbeat re-reads the token; if another
  process took the lock (e.g. this process was suspended for longer than the expiry),
  :attr:`StoreLock.lost` is set and the engine stops submitting work.

Limits: a holder frozen for more than :data:`EXPIRY_S` while its host is otherwise alive can
be taken over from another host; results stay correct (blocks are deterministic and whole
chunks), only work is duplicated until its next heartbeat notices.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import StoreError, StoreLockedError

__all__ = ["EXPIRY_S", "HEARTBEAT_S", "StoreLock", "lock_path", "read_holder"]

#: Seconds between two heartbeats of the holder.
HEARTBEAT_S = 10.0
#: A lock (or takeover file) whose heartbeat is older than this many seconds, by the
#: filesystem server's clock, is stale when its holder is on another host.
EXPIRY_S = 60.0


def lock_path(store: str | Path) -> Path:
    """Where the lock of ``store`` lives: a hidden file beside it.

    A part of an extended store (``STORE/_pairsweep/parts/N``, see :mod:`.parts`) has no
    lock of its own: it is written by runs of ``STORE``, so it shares ``STORE``'s lock (a
    repair of the part and a run of the store are two writers of the same files).
    """
    store = Path(store).absolute()
    if store.parent.name == "parts" and store.parent.parent.name == "_pairsweep":
        store = store.parent.parent.parent
    return store.parent / f".{store.name}.pairsweep-lock"


def _proc_start(pid: int) -> str | None:
    """Start time of ``pid`` in clock ticks since boot (Linux), to tell pid reuse apart."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # the command name (field 2) may hold spaces and parentheses; fields after the
            # last ')' are fixed: starttime is field 22, i.e. index 19 after it
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    current = _proc_start(pid)
    return start is None or current is None or current == start


def _link_exclusive(path: Path, record: dict[str, Any]) -> bool:
    """Create ``path`` holding ``record`` atomically; False if it exists."""
    unique = path.with_name(f"{path.name}.{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    with open(unique, "w") as f:
        json.dump(record, f)
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(unique, path)
        return True
    except FileExistsError:
        # a lost reply to a successful link over NFS shows up as EEXIST: trust the count
        return os.stat(unique).st_nlink == 2
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS):
            raise
        # a filesystem without hard links: O_EXCL (atomic on NFSv3+ and the parallel
        # filesystems); the record is written after the name appears, so a reader may see
        # it empty for an instant and retries
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            json.dump(record, f)
            f.flush()
            os.fsync(f.fileno())
        return True
    finally:
        os.unlink(unique)


def read_holder(store: str | Path) -> dict[str, Any] | None:
    """The record of the process holding ``store``'s lock, or None when nobody holds it.

    A record that cannot be parsed is returned as ``{"unreadable": True}``.
    """
    try:
        text = lock_path(store).read_text()
    except FileNotFoundError:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {"unreadable": True}


def _fresh_mtime(path: Path) -> float:
    # stat through an open descriptor: opening makes an NFS client revalidate the file's
    # attributes (close-to-open consistency), where a bare stat may answer from an
    # attribute cache up to `acregmax` (60 s by default) old
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.fstat(fd).st_mtime
    finally:
        os.close(fd)


def _server_age(path: Path) -> float | None:
    """Seconds since ``path`` was last touched, by the clock of the filesystem holding it."""
    try:
        mtime = _fresh_mtime(path)
    except FileNotFoundError:
        return None
    probe = path.with_name(f"{path.name}.probe.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    probe.touch()
    try:
        now = _fresh_mtime(probe)
    finally:
        probe.unlink()
    return now - mtime


def _describe(holder: dict[str, Any]) -> str:
    if holder.get("unreadable"):
        return "an unreadable lock record"
    return (f"pid {holder.get('pid')} on {holder.get('host')} ({holder.get('purpose', 'run')}, "
            f"started {holder.get('started')})")


def _stale_reason(path: Path, holder: dict[str, Any]) -> str | None:
    """Why the lock at ``path`` is stale, or None if its holder may be alive."""
    if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
        if not _pid_alive(holder["pid"], holder.get("pid_start")):
            return "its process is gone"
        return None
    age = _server_age(path)
    if age is not None and age > EXPIRY_S:
        return f"no heartbeat for {age:.0f} s (expiry {EXPIRY_S:.0f} s)"
    return None


@dataclass
class StoreLock:
    """The lock of one store, held by this process. Use :meth:`acquire`; release with
    :meth:`release` or as a context manager."""

    store: Path
    path: Path
    record: dict[str, Any]
    takeover_message: str | None = None
    lost: bool = False
    _stop: threading.Event | None = None
    _thread: threading.Thread | None = None

    @classmethod
    def acquire(cls, store: str | Path, *, purpose: str = "run") -> StoreLock:
        """Take the lock of ``store`` (which need not exist yet), or raise
        :class:`StoreLockedError` naming the live holder. A stale lock is taken over, and
        :attr:`takeover_message` says whose it was and why it was stale."""
        store = Path(store).absolute()
        path = lock_path(store)
        if not path.parent.is_dir():
            raise FileNotFoundError(f"store: parent directory {path.parent} does not exist")
        record = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "pid_start": _proc_start(os.getpid()),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "token": uuid.uuid4().hex,
            "purpose": purpose,
            "argv": " ".join(sys.argv)[:200],
        }
        message = None
        for _ in range(20):
            try:
                linked = _link_exclusive(path, record)
            except OSError as exc:
                # a read-only or full parent: say so, naming the store, not a traceback
                raise StoreError(f"store: cannot take the lock {path} ({exc.strerror or exc}); "
                                 f"the store's parent directory must be writable") from None
            if linked:
                lock = cls(store=store, path=path, record=record, takeover_message=message)
                lock._start_heartbeat()
                return lock
            holder = read_holder(store)
            if holder is None:
                continue  # released between our link and our read: try again
            reason = _stale_reason(path, holder)
            if reason is None:
                if holder.get("unreadable"):
                    # only a lock written by something else; judge it by its heartbeat
                    time.sleep(0.05)
                    continue
                raise StoreLockedError(
                    f"store: {store} is held by {_describe(holder)}; another run is writing it. "
                    f"Wait for it to finish or stop it (lock file {path})"
                )
            if cls._take_over(store, path, holder):
                message = f"took over the lock of {store} from {_describe(holder)}: {reason}"
            else:
                time.sleep(0.1)
        raise StoreLockedError(f"store: could not take the lock {path} (it keeps changing hands)")

    @staticmethod
    def _take_over(store: Path, path: Path, holder: dict[str, Any]) -> bool:
        """Move the stale lock ``holder`` aside, serialised with other takers."""
        guard = path.with_name(path.name + ".takeover")
        if not _link_exclusive(guard, {"host": socket.gethostname(), "pid": os.getpid()}):
            age = _server_age(guard)
            if age is not None and age > EXPIRY_S:
                guard.unlink(missing_ok=True)  # a taker died inside this step
            return False
        try:
            current = read_holder(store)
            if current != holder:
                return False  # somebody else took it over meanwhile: look again
            broken = store / "_pairsweep" / "locks-broken"
            if store.is_dir():
                broken.mkdir(parents=True, exist_ok=True)
                os.replace(path, broken / f"{holder.get('token', uuid.uuid4().hex)}.json")
            else:
                path.unlink()
            return True
        finally:
            guard.unlink(missing_ok=True)

    def _start_heartbeat(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="pairsweep-lock-heartbeat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        assert self._stop is not None
        while not self._stop.wait(HEARTBEAT_S):
            self.refresh()

    def refresh(self) -> None:
        """Touch the lock (heartbeat) and check it is still ours."""
        holder = read_holder(self.store)
        if holder is None or holder.get("token") != self.record["token"]:
            self.lost = True
            return
        try:
            os.utime(self.path)
        except OSError:
            pass  # a transient error on a shared filesystem; the next beat retries

    def release(self) -> None:
        """Stop the heartbeat and remove the lock, if it is still ours."""
        if self._stop is not None:
            self._stop.set()
        holder = read_holder(self.store)
        if holder is not None and holder.get("token") == self.record["token"]:
            try:
                self.path.unlink()
            except OSError as exc:  # pragma: no cover - nothing to do but say it
                if exc.errno != errno.ENOENT:
                    print(f"pairsweep: could not remove lock {self.path}: {exc}", file=sys.stderr)

    def __enter__(self) -> StoreLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
