"""Storage: the Zarr layout of a result, the completion ledger, and loading results."""

from . import ledger
from .errors import StoreError, StoreLockedError
from .lock import StoreLock
from .results import StoreStatus, failures, open_result, store_status
from .verify import VerifyReport, verify_store

__all__ = [
    "StoreError",
    "StoreLock",
    "StoreLockedError",
    "StoreStatus",
    "VerifyReport",
    "failures",
    "ledger",
    "open_result",
    "store_status",
    "verify_store",
]
