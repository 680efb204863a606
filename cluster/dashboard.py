"""Where the Dask dashboard listens, and how to reach it from another machine.

The scheduler's dashboard can drive the cluster, so it listens on localhost unless the
spec says otherwise (``cluster.dashboard_address``); :func:`tunnel_hint` prints the SSH
tunnel that opens it from the user's own machine.
"""

from __future__ import annotations

import re
import socket
from typing import TYPE_CHECKING

from . import _compat

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["DEFAULT_DASHBOARD", "dashboard_link", "tunnel_hint"]

#: Where the scheduler's dashboard listens unless ``cluster.dashboard_address`` says otherwise:
#: localhost only. On a shared login node every user could otherwise open (and drive) it.
DEFAULT_DASHBOARD = "127.0.0.1:8787"


def dashboard_link(client: Client) -> str | None:
    """The dashboard's address as it really listens.

    distributed builds ``dashboard_link`` from the scheduler's contact address, which for a
    batch cluster is the login node's network address even when the dashboard listens on
    localhost only; a link that does not open is worse than none.
    """
    link = client.dashboard_link
    scheduler = getattr(getattr(client, "cluster", None), "scheduler", None)
    bound = _compat.dashboard_sockets(scheduler)
    if bound is None:  # a remote scheduler: its own link is all we know
        return link
    if bound and all(addr[0] in ("127.0.0.1", "::1") for addr in bound):
        return f"http://127.0.0.1:{bound[0][1]}/status"
    return link


def tunnel_hint(link: str) -> str | None:
    """How to open a dashboard that listens on localhost from another machine (an SSH
    tunnel), or None when the link is not on localhost."""
    match = re.match(r"https?://(127\.0\.0\.1|localhost|\[::1\]):(\d+)(/\S*)?$", link)
    if not match:
        return None
    port, path = match[2], match[3] or "/status"
    host = socket.getfqdn()
    return (f"the dashboard listens on localhost only; from your own machine: "
            f"ssh -N -L {port}:127.0.0.1:{port} {host}  then open http://localhost:{port}{path}")
